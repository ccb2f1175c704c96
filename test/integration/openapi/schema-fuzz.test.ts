import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { docBlock } from '../support/doc-block';

const run = promisify(execFile);
const ROOT = join(__dirname, '../../..');

/** The counts of the run's summary line (`N failures, …` or `… passed`), as schemathesis writes it. */
function summary(output: string): { failures: number; generated: number } {
  const failures = /=+ (\d+) failures?\b/.exec(output);
  const generated = /(\d+) generated/.exec(output);
  return { failures: failures ? Number(failures[1]) : 0, generated: generated ? Number(generated[1]) : 0 };
}

describe('Document: the served openapi.json against the handlers (schemathesis)', () => {
  it('finds no request the document forbids that the handlers accept, nor one it allows that they refuse', async () => {
    // Act: scripts/fuzz-openapi.sh starts the local runner in a namespace of its own and fuzzes
    // every presign and admin route (deterministic, bounded: scripts/fuzz-openapi/schemathesis.toml).
    let output: string;
    let exitCode = 0;
    try {
      // The command exactly as docs/testing.md shows it.
      const command = docBlock('docs/testing.md', '### The API reference against the handlers');
      expect(command).toBe('bash scripts/fuzz-openapi.sh\n');
      const done = await run('bash', ['-c', command], {
        cwd: ROOT,
        timeout: 280_000,
        maxBuffer: 64 * 1024 * 1024,
      });
      output = `${done.stdout}\n${done.stderr}`;
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string; code?: number | string };
      output = `${failed.stdout ?? ''}\n${failed.stderr ?? ''}`;
      exitCode = typeof failed.code === 'number' ? failed.code : -1;
    }

    // Assess: the whole report on failure, so the failing requests can be replayed.
    const counts = summary(output);
    expect({ exitCode, ...counts, tail: exitCode === 0 ? '' : output.slice(-20_000) }).toEqual({
      exitCode: 0,
      failures: 0,
      generated: expect.any(Number),
      tail: '',
    });
    expect(counts.generated).toBeGreaterThan(500);
    expect(output).toContain('Operations:       12 selected / 12 total');
  }, 300_000);
});
