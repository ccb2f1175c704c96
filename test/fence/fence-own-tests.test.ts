import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshFenceDb } from '../integration/support/fence-db';
import { fenceBuild, fenceEnv, runFencePython } from './fence-python';

/**
 * Fence's own tests of its /data endpoints (tests/data/), run on the patched Fence with
 * FENCE_BUCKET_BROKER_URL unset: the patch leaves Fence as it was when no broker is named (and
 * its config change, dropping `secret_ref`, is harmless to Fence's own configs).
 */
/** All of tests/data/ runs without external services (indexd, arborist, S3, Azure and Google are mocked by Fence's fixtures; only its PostgreSQL is real): nothing is left out. */
const FENCE_DATA_TESTS = ['tests/data/'];

describe("Fence's own data-endpoint tests, on the patched Fence", () => {
  it('pass', async () => {
    // Prepare: Fence's tests create their tables in a database of their own.
    const { source } = fenceBuild();
    const db = await freshFenceDb({ migrated: false });
    try {
      // Act
      const run = await runFencePython(
        ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-W', 'ignore', '-rfE', ...FENCE_DATA_TESTS],
        {
          cwd: source,
          env: fenceEnv({
            DB: db.url,
            PROMETHEUS_MULTIPROC_DIR: mkdtempSync(join(tmpdir(), 'fence-prometheus-')),
          }),
        },
      );

      // Assess (the whole output is kept for a failure's details)
      writeFileSync(join(tmpdir(), 'fence-data-tests.log'), run.stdout + run.stderr);
      const summary = run.stdout.trim().split('\n').slice(-40).join('\n');
      // The summary's last lines are in the message whenever the run did not pass.
      expect({ code: run.code, summary }).toEqual({
        code: 0,
        summary: expect.stringMatching(/^\d+ passed(, \d+ warnings?)? in /m),
      });
    } finally {
      await db.drop();
    }
  }, 1_200_000);
});
