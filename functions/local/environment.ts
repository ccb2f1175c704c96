import * as z from 'zod/mini';
import { readEnvironment } from '../shared/config/environment';

const port = (fallback: number) =>
  z._default(z.coerce.number().check(z.int(), z.minimum(0), z.maximum(65_535)), fallback);

/** Where the demo bucket's store comes from. */
export const DEMO_STORE_CHOICES = ['auto', 'minio', 'embedded', 'none'] as const;

/** The runner's settings of `env`, an empty variable counting as unset (`REGISTRY_TABLE_NAME=` means files mode). */
export function readLocalRunnerEnvironment(env: NodeJS.ProcessEnv): LocalRunnerEnvironment {
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  return readEnvironment(LocalRunnerEnvironmentSchema, given);
}

/**
 * The local runner's own settings (`npm start`). The rest of its environment is the presign and
 * admin functions' own, read with their schemas: in files mode with `FENCE_SECRETS_BACKEND=k8s`
 * and `FENCE_SECRETS_DIR` fixed by the runner, in DynamoDB mode as the operator sets them.
 */
export const LocalRunnerEnvironmentSchema = z
  .object({
    PORT: port(8787).check(
      z.describe('The port of the presign and admin API on loopback (0: any free port).'),
    ),
    FBB_LOCAL_HOST: z
      ._default(z.string(), '127.0.0.1')
      .check(
        z.describe(
          'The loopback address to bind: 127.0.0.0/8, `::1` or `localhost`; anything else is refused, since the API answers without authentication. A variable of its own, not `HOST`, which shells and containers set for other reasons.',
        ),
      ),
    REGISTRY_TABLE_NAME: z.optional(z.string().check(z.minLength(3))).check(
      z.meta({
        description:
          'Set: DynamoDB mode, like the Lambda: the registry table, with secrets in the backends of `FENCE_SECRETS_BACKEND` (`aws_sm`, or `vault` with the `VAULT_*` settings); `AWS_ENDPOINT_URL` for an emulator. Unset: files mode, where the registry is a JSON file and the secrets backend is always `k8s` (files under `FENCE_LOCAL_DIR/secrets`), whatever `FENCE_SECRETS_BACKEND` says.',
        unset: 'files mode',
      }),
    ),
    FENCE_LOCAL_DIR: z
      ._default(z.string().check(z.minLength(1)), '.local')
      .check(
        z.describe(
          'Files mode: the directory of the registry (`registry.json`), the secrets (`secrets/`) and the demo store (`store/`), kept across runs.',
        ),
      ),
    FENCE_DEMO_STORE: z
      ._default(z.enum(DEMO_STORE_CHOICES), 'auto')
      .check(
        z.describe(
          "Files mode: the demo bucket's store: `auto` (MinIO when `npm run services:install` built it, else the embedded S3 store), `minio`, `embedded`, or `none` (no store).",
        ),
      ),
    FENCE_DEMO_STORE_PORT: port(9000).check(
      z.describe("Files mode: the demo store's port (0: any free port)."),
    ),
    FENCE_DEMO_ENDPOINT: z.optional(z.url()).check(
      z.meta({
        description:
          'Files mode: a store of your own for the demo bucket instead of the local one (with `FENCE_DEMO_ACCESS_KEY_ID` and `FENCE_DEMO_SECRET_ACCESS_KEY`).',
        unset: 'the local demo store',
      }),
    ),
    FENCE_DEMO_ACCESS_KEY_ID: z.optional(z.string().check(z.minLength(1))).check(
      z.meta({
        description: "Files mode: the demo bucket's access key id, written to its secret on the first start.",
        unset: 'random',
      }),
    ),
    FENCE_DEMO_SECRET_ACCESS_KEY: z.optional(z.string().check(z.minLength(1))).check(
      z.meta({
        description:
          "Files mode: the demo bucket's secret access key, written to its secret on the first start.",
        unset: 'random',
      }),
    ),
    MINIO_BINARY: z.optional(z.string().check(z.minLength(1))).check(
      z.meta({
        description: 'The MinIO server binary the demo store runs.',
        unset: '`minio` in `$GOPATH/bin`, where `npm run services:install` puts it',
      }),
    ),
  })
  .check(
    z.describe(
      "`npm start` (`bin/local.ts`) reads these itself (an empty one counts as unset); the rest of its environment is the presign and admin functions' own, read with their schemas. In files mode it fixes `FENCE_SECRETS_BACKEND=k8s` and `FENCE_SECRETS_DIR`, shortens `REGISTRY_CACHE_TTL_SECONDS` to 2 and `FENCE_SECRET_CACHE_TTL_SECONDS` to 5 (unless set), and allows `http` store endpoints on loopback (`STORE_ENDPOINT_ALLOW_HTTP=true`, `STORE_ENDPOINT_ALLOWED_NETWORKS=127.0.0.0/8,::1/128,localhost`, unless set).",
    ),
  );
export type LocalRunnerEnvironment = z.output<typeof LocalRunnerEnvironmentSchema>;
