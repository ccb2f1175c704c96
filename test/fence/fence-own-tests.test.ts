import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshFenceDb } from '../integration/support/fence-db';
import { fenceBuild, fenceEnv, runFencePython } from './fence-python';

/**
 * Fence's own tests of its /data endpoints, run on the patched Fence with FENCE_BUCKET_BROKER_URL
 * unset: the patch leaves Fence as it was when no broker is named, and its config change (dropping
 * `secret_ref`) is harmless to Fence's own configs. All of tests/data/ runs: none of it needs an
 * external service but PostgreSQL (indexd, arborist, S3, Azure and Google are mocked by Fence's
 * fixtures), so nothing is left out. 375 tests at the pinned commit: a run that collects fewer
 * fails.
 */
const FENCE_DATA_TESTS = ['tests/data/'];

describe("Fence's own data-endpoint tests, on the patched Fence", () => {
  it('all 375 of tests/data/ pass', async () => {
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

      // Assess (the whole output is kept in fence-data-tests-<pid>.log under the temporary
      // directory: one per run, so two runs at once do not write one file)
      writeFileSync(join(tmpdir(), `fence-data-tests-${process.pid}.log`), run.stdout + run.stderr);
      const summary = run.stdout.trim().split('\n').slice(-40).join('\n');
      // The summary's last lines are in the message whenever the run did not pass.
      expect({ code: run.code, summary }).toEqual({
        code: 0,
        summary: expect.stringMatching(/^375 passed in /m),
      });
    } finally {
      await db.drop();
    }
  }, 1_200_000);
});
