import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startLocalRunner } from '../../../functions/local/local-runner';

describe('README: Calling from Fence', () => {
  it('runs the Python example as written (botocore SigV4 + requests) against the API', async () => {
    // Prepare: the README's snippet, pointed at a local runner instead of API Gateway.
    const readme = readFileSync(join(__dirname, '../../../README.md'), 'utf8');
    const snippet = readme.split('### Calling from Fence')[1]?.split('```python')[1]?.split('```')[0] ?? '';
    expect(snippet).toContain('SigV4Auth');
    const runner = await startLocalRunner({
      port: 0,
      env: { FENCE_LOCAL_DIR: mkdtempSync(join(tmpdir(), 'fbb-fence-')) },
    });

    try {
      // Act
      const program = `${snippet}\nBROKER = ${JSON.stringify(runner.url)}\nprint(json.dumps(presign("demo-bucket", "data/file.bam", user={"id": 42, "name": "alice"})))\n`;
      // Asynchronous: the runner answers from this same process.
      const { stdout: output } = await promisify(execFile)(process.env.PYTHON ?? 'python3', ['-c', program], {
        encoding: 'utf8',
        env: { ...process.env, AWS_DEFAULT_REGION: process.env.AWS_REGION ?? 'us-east-1' },
      });

      // Assess
      const answer = JSON.parse(output) as { url: string; method: string };
      expect(answer.method).toBe('GET');
      expect(answer.url).toContain('/demo-bucket/data/file.bam?');
      expect(answer.url).toContain('username=alice');
      expect(answer.url).toContain('user_id=42');
    } finally {
      await runner.close();
    }
  });
});
