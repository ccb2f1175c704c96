#!/usr/bin/env node
import { startLocalRunner } from '../functions/local/local-runner';

/**
 * `npm start`: the presign API on 127.0.0.1 (see README, "Quick start", and docs/configuration.md, "Local runner settings"); its settings (`PORT`,
 * `FBB_LOCAL_HOST`, …) are read by the runner with `functions/local/environment.ts`.
 */
startLocalRunner().then(
  (runner) => {
    const where =
      runner.mode === 'files'
        ? `registry and secrets in ${process.env.FENCE_LOCAL_DIR || '.local'}/`
        : 'DynamoDB + Secrets Manager';
    console.error(`fence-bucket-broker presign API on ${runner.url} (${where}); admin API under /v1/admin/`);
    if (runner.store !== undefined) {
      const kind = runner.store.kind === 'minio' ? 'MinIO' : 'embedded S3 store (SigV4 checked)';
      console.error(`demo-bucket lives on ${runner.store.endpoint} (${kind})`);
    }
    const stop = () => void runner.close().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  },
  (error: unknown) => {
    console.error(
      `fence-bucket-broker could not start: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  },
);
