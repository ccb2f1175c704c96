import { join } from 'node:path';
import { fenceBuild, runFencePython } from './fence-python';

const CLIENT = join(__dirname, '../../clients/python');

/**
 * Issue 21, item 3, against the real source: the adapter's methods (as installed into Fence's venv)
 * take exactly the parameters of the pinned Fence's `S3IndexedFileLocation`, read from its
 * indexd.py by ast, and the JSON the client's own checks compare with is that source's.
 */
describe("The Python adapter keeps Fence's signatures", () => {
  it("matches the pinned Fence's indexd.py, and the committed JSON is extracted from it", async () => {
    // Act
    const run = await runFencePython(
      ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-rfEs', 'tests/test_fence_signatures.py'],
      {
        cwd: CLIENT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, FENCE_SOURCE: fenceBuild().source },
      },
    );

    // Assess: every case ran (none skipped) and passed.
    const summary = run.stdout.trim().split('\n').slice(-20).join('\n');
    expect({ code: run.code, summary }).toEqual({
      code: 0,
      summary: expect.stringMatching(/^\d+ passed in /m),
    });
  }, 120_000);
});
