/**
 * `npm run bench`: the presign hot path, the whole handler in process, cold start and a batch of
 * 1,000, each measured next to a reference in the same run. One JSON object per line on stdout.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { PresignEnvironmentSchema } from '../functions/presign/environment';
import { createPresignHandler } from '../functions/presign/presign-handler';
import { wirePresignService } from '../functions/presign/presign-wiring';
import { FileSecretResolver } from '../functions/shared/backends/kubernetes/file-secret-resolver';
import { readEnvironment } from '../functions/shared/config/environment';
import {
  deriveMadminKey,
  MadminAlgorithm,
  type MadminAlgorithmId,
} from '../functions/shared/minio/madmin-crypto';
import { FileBucketRegistry } from '../functions/shared/registry/file-bucket-registry';
import { SigV4Presigner } from '../functions/shared/signing/sigv4-presigner';
import { PRESIGN_RUNTIME_PROVIDED_MODULES } from '../lib/constructs/presign-api';
import { bundleAsDeployed } from './bundle-as-deployed';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const credentials = {
  accessKeyId: 'AKIDBENCHMARK0001',
  secretAccessKey: 'bench/secret/key/0123456789abcdefghij',
};

function emit(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** One module load in a fresh process: wall time and CPU time, in ms. */
interface Load {
  wall: number;
  cpu: number;
}

interface Measured {
  ops: number;
  ops_per_s: number;
  p50_us: number;
  p99_us: number;
}

/**
 * Times every call of each operation. The operations take turns in short slices (20 rounds),
 * so drift in machine load falls on all of them alike and their ratio stays meaningful.
 */
async function measureTogether<K extends string>(
  operations: Record<K, (index: number) => unknown>,
  seconds = SECONDS,
): Promise<Record<K, Measured>> {
  const names = Object.keys(operations) as K[];
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<K, number[]>;
  const elapsed = Object.fromEntries(names.map((name) => [name, 0n])) as Record<K, bigint>;
  for (const name of names) for (let index = 0; index < 2000; index++) await operations[name](index);
  const rounds = 20;
  const slice = BigInt(Math.round((seconds / rounds) * 1e9));
  let index = 0;
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      const started = process.hrtime.bigint();
      let now = started;
      while (now - started < slice) {
        const before = process.hrtime.bigint();
        await operations[name](index++);
        now = process.hrtime.bigint();
        samples[name].push(Number(now - before) / 1000);
      }
      elapsed[name] += now - started;
    }
  }
  const result = {} as Record<K, Measured>;
  for (const name of names) {
    const sorted = samples[name].sort((a, b) => a - b);
    const at = (q: number) =>
      Number((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(2));
    result[name] = {
      ops: sorted.length,
      ops_per_s: Math.round(sorted.length / (Number(elapsed[name]) / 1e9)),
      p50_us: at(0.5),
      p99_us: at(0.99),
    };
  }
  return result;
}

/** The same GET, signed by `getSignedUrl` (the reference) and by the broker's presigner. */
function presignOperations() {
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9000',
    forcePathStyle: true,
    credentials,
  });
  const presigner = new SigV4Presigner();
  return {
    getSignedUrl: (index: number) =>
      getSignedUrl(s3, new GetObjectCommand({ Bucket: 'bench-bucket', Key: `dir/object-${index}.bin` }), {
        expiresIn: 3600,
      }),
    presigner: (index: number) =>
      presigner.presign(credentials, {
        method: 'GET',
        protocol: 'http:',
        host: '127.0.0.1:9000',
        path: `/bench-bucket/dir/object-${index}.bin`,
        region: 'us-east-1',
        expiresIn: 3600,
        now: new Date(),
      }),
  };
}

async function presignCore(): Promise<void> {
  const { getSignedUrl: reference, presigner } = presignOperations();
  const measured = await measureTogether({ reference, presigner });
  emit({
    bench: 'presign-core',
    impl: '@aws-sdk/s3-request-presigner getSignedUrl',
    reference: true,
    ...measured.reference,
  });
  emit({
    bench: 'presign-core',
    impl: 'SigV4Presigner',
    ...measured.presigner,
    throughput_ratio_vs_reference: Number(
      (measured.presigner.ops_per_s / measured.reference.ops_per_s).toFixed(1),
    ),
    target_ratio: 20,
  });
}

/** The Lambda's own handler over a file registry and file secrets: no network. */
async function wholeHandler(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fbb-bench-'));
  const registry = new FileBucketRegistry(join(dir, 'registry.json'));
  await new FileSecretResolver(join(dir, 'secrets')).put('gen3/fence/minio/bench', {
    access_key_id: credentials.accessKeyId,
    secret_access_key: credentials.secretAccessKey,
  });
  await registry.create({
    bucket_name: 'bench-bucket',
    provider: 'minio',
    auth_mode: 'static',
    secrets_backend: 'k8s',
    secret_ref: 'gen3/fence/minio/bench',
    endpoint: 'http://127.0.0.1:9000',
    allowed_ops: ['download', 'upload'],
  });
  const environment = readEnvironment(PresignEnvironmentSchema, {
    REGISTRY_TABLE_NAME: 'bench',
    FENCE_SECRETS_BACKEND: 'k8s',
    FENCE_SECRETS_DIR: join(dir, 'secrets'),
  });
  const handler = createPresignHandler({
    wiring: wirePresignService(environment, { registry }),
    logger: async () => new Logger({ serviceName: 'bench' }),
    metrics: async () => new Metrics({ namespace: 'Bench', serviceName: 'bench' }),
    auditSampleRate: environment.AUDIT_SAMPLE_RATE,
    metricsIntervalMs: environment.METRICS_PUBLISH_INTERVAL_SECONDS * 1000,
  });
  const event = (index: number) =>
    ({
      httpMethod: 'POST',
      path: '/v1/buckets/bench-bucket/presign',
      body: JSON.stringify({ key: `dir/object-${index}.bin`, method: 'GET', audit: { username: 'bench' } }),
      isBase64Encoded: false,
      requestContext: { identity: { userArn: 'arn:aws:sts::123456789012:assumed-role/fence/pod' } },
    }) as unknown as APIGatewayProxyEvent;
  const context = { awsRequestId: 'bench', functionName: 'presign' } as Context;
  // Audit lines and EMF metrics are produced as in Lambda, then dropped instead of printed.
  const write = process.stdout.write.bind(process.stdout);
  let dropped = 0;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    dropped += chunk.length;
    return true;
  }) as typeof process.stdout.write;
  let single: Measured;
  let referenceOpsPerSecond: number;
  let batchMs: number;
  try {
    const measured = await measureTogether({
      reference: presignOperations().getSignedUrl,
      handler: (index) => handler(event(index), context),
    });
    single = measured.handler;
    referenceOpsPerSecond = measured.reference.ops_per_s;
    const items = Array.from({ length: 1000 }, (_, index) => ({ key: `batch/${index}`, method: 'GET' }));
    const batchEvent = {
      ...event(0),
      path: '/v1/buckets/bench-bucket/presign-batch',
      body: JSON.stringify({ items }),
    };
    const runs: number[] = [];
    for (let run = 0; run < 20; run++) {
      const started = performance.now();
      const answer = await handler(batchEvent as APIGatewayProxyEvent, context);
      runs.push(performance.now() - started);
      if (answer.statusCode !== 200) throw new Error(`batch failed: ${answer.body}`);
    }
    batchMs = runs.sort((a, b) => a - b)[10] ?? 0;
  } finally {
    process.stdout.write = write;
  }
  emit({
    bench: 'handler-in-process',
    impl: 'presign Lambda handler (audit line per request, EMF metrics, default settings, warm caches)',
    ...single,
    throughput_ratio_vs_getSignedUrl: Number((single.ops_per_s / referenceOpsPerSecond).toFixed(1)),
    target_ratio: 10,
    target_p99_us: 200,
    log_bytes_per_request: Math.round(dropped / (single.ops + 2000 + 20)),
  });
  emit({
    bench: 'batch-1000',
    impl: 'presign-batch route, whole handler',
    median_ms: Number(batchMs.toFixed(2)),
    reference_ms_1000_getSignedUrl: Number(((1000 / referenceOpsPerSecond) * 1000).toFixed(1)),
  });
}

/** Bundle size and module-load time of the presign Lambda against an eager three-client bundle. */
async function coldStart(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fbb-cold-'));
  const bundle = (entry: string, name: string, external: string[] = []) =>
    bundleAsDeployed(entry, join(dir, `${name}.mjs`), external);
  const ours = await bundle(
    join(__dirname, '../functions/presign/handler.ts'),
    'presign',
    PRESIGN_RUNTIME_PROVIDED_MODULES,
  );
  const reference = await bundle(join(__dirname, 'fixtures/eager-clients.ts'), 'eager');
  // Issue 10, item 5: what tracing the cold paths with Powertools Tracer would cost at cold start.
  const traced = await bundle(
    join(__dirname, 'fixtures/presign-with-tracer.ts'),
    'presign-traced',
    PRESIGN_RUNTIME_PROVIDED_MODULES,
  );
  // A fresh process per load: module load is what a cold start pays before the first request.
  // Each load reports its wall time and the CPU time the process spent on it (all threads). On a
  // machine other work keeps busy, wall time mostly measures waiting for a CPU; CPU time does not.
  const loadOnce = (file: string): Load => {
    const [wall = Number.NaN, cpu = Number.NaN] = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const c = process.cpuUsage(); const t = performance.now(); await import(${JSON.stringify(file)}); const u = process.cpuUsage(c); console.log(performance.now() - t, (u.user + u.system) / 1000);`,
      ],
      {
        encoding: 'utf8',
        env: {
          ...process.env,
          REGISTRY_TABLE_NAME: 'registry',
          AWS_REGION: 'us-east-1',
          AWS_LAMBDA_FUNCTION_NAME: 'bench',
        },
      },
    )
      .trim()
      .split(' ')
      .map(Number);
    return { wall, cpu };
  };
  // What the gcp_sm backend would add with Google's npm client instead of its REST surface. The
  // client reads its proto files from its package at load, so it cannot be bundled into one file:
  // it loads from node_modules, as it would from a layer.
  const loadGcpClient = (): Load => {
    const [wall = Number.NaN, cpu = Number.NaN] = execFileSync(
      process.execPath,
      [
        '-e',
        "const c = process.cpuUsage(); const t = performance.now(); const { SecretManagerServiceClient } = require('@google-cloud/secret-manager'); new SecretManagerServiceClient({ fallback: true }); const u = process.cpuUsage(c); console.log(performance.now() - t, (u.user + u.system) / 1000);",
      ],
      { encoding: 'utf8', cwd: join(__dirname, '..'), env: { ...process.env, NODE_NO_WARNINGS: '1' } },
    )
      .trim()
      .split(' ')
      .map(Number);
    return { wall, cpu };
  };
  // Each round loads every bundle once in a fresh process, in an order that reverses every
  // other round, so drift in machine load falls on all of them alike; ratios are taken within
  // a round (ours ÷ the reference next to it) and summarized over rounds.
  const runs = Number(process.env.BENCH_COLD_RUNS ?? 41);
  const loads = {
    reference: () => loadOnce(reference),
    ours: () => loadOnce(ours),
    traced: () => loadOnce(traced),
    gcpClient: loadGcpClient,
  };
  type Loaded = keyof typeof loads;
  const names = Object.keys(loads) as Loaded[];
  const times = Object.fromEntries(names.map((name) => [name, [] as Load[]])) as Record<Loaded, Load[]>;
  for (const name of names) loads[name]();
  for (let run = 0; run < runs; run++) {
    for (const name of run % 2 === 0 ? names : [...names].reverse()) times[name].push(loads[name]());
  }
  const quantile = (values: number[], q: number) =>
    [...values].sort((a, b) => a - b)[Math.round(q * (values.length - 1))] ?? Number.NaN;
  const median = (name: Loaded, clock: keyof Load = 'wall') =>
    Number(
      quantile(
        times[name].map((load) => load[clock]),
        0.5,
      ).toFixed(1),
    );
  /** Median and p90 over rounds of `name`'s time ÷ `base`'s time in the same round. */
  const ratio = (name: Loaded, base: Loaded, clock: keyof Load = 'wall') => {
    const perRound = times[name].map((load, run) => load[clock] / (times[base][run]?.[clock] ?? Number.NaN));
    return {
      median: Number(quantile(perRound, 0.5).toFixed(2)),
      p90: Number(quantile(perRound, 0.9).toFixed(2)),
    };
  };
  const oursRatio = ratio('ours', 'reference');
  const oursCpuRatio = ratio('ours', 'reference', 'cpu');
  emit({
    bench: 'cold-start',
    impl: 'eager Secrets Manager + STS + DynamoDB clients',
    reference: true,
    runs,
    bundle_kb: Math.round(statSync(reference).size / 1024),
    module_load_ms: median('reference'),
    module_load_cpu_ms: median('reference', 'cpu'),
  });
  emit({
    bench: 'cold-start',
    impl: 'presign Lambda bundle',
    runs,
    bundle_kb: Math.round(statSync(ours).size / 1024),
    module_load_ms: median('ours'),
    module_load_cpu_ms: median('ours', 'cpu'),
    load_ratio_vs_reference: oursRatio.median,
    load_ratio_vs_reference_p90: oursRatio.p90,
    cpu_ratio_vs_reference: oursCpuRatio.median,
    cpu_ratio_vs_reference_p90: oursCpuRatio.p90,
    target_bundle_kb: 600,
    target_load_ratio: 0.67,
  });
  emit({
    bench: 'cold-start',
    impl: '@google-cloud/secret-manager client (fallback: true), loaded from node_modules and built',
    module_load_ms: median('gcpClient'),
    load_ratio_vs_reference: ratio('gcpClient', 'reference').median,
    load_ratio_vs_presign_bundle: ratio('gcpClient', 'ours').median,
  });
  const tracedRatio = ratio('traced', 'reference');
  emit({
    bench: 'cold-start',
    impl: 'presign Lambda bundle + Powertools Tracer (not deployed: docs/drift.md, "Tracing")',
    bundle_kb: Math.round(statSync(traced).size / 1024),
    module_load_ms: median('traced'),
    load_ratio_vs_reference: tracedRatio.median,
    load_ratio_vs_reference_p90: tracedRatio.p90,
    cpu_ratio_vs_reference: ratio('traced', 'reference', 'cpu').median,
    load_ratio_vs_presign: ratio('traced', 'ours').median,
    target_bundle_kb: 600,
    target_load_ratio: 0.67,
  });
}

/** What one MinIO admin call pays to derive its payload key, per algorithm (issue 4). */
async function madminKeyDerivation(): Promise<void> {
  const salt = Buffer.alloc(32, 7);
  const time = async (algorithm: MadminAlgorithmId) => {
    await deriveMadminKey('bench-secret-key', salt, algorithm);
    const runs: number[] = [];
    for (let run = 0; run < 7; run++) {
      const started = performance.now();
      await deriveMadminKey('bench-secret-key', salt, algorithm);
      runs.push(performance.now() - started);
    }
    return Number((runs.sort((a, b) => a - b)[3] ?? 0).toFixed(2));
  };
  const argon2idMs = await time(MadminAlgorithm.Argon2idAesGcm);
  const pbkdf2Ms = await time(MadminAlgorithm.Pbkdf2AesGcm);
  emit({
    bench: 'madmin-key-derivation',
    impl: 'Argon2id t=1 m=64MiB p=4 (hash-wasm)',
    reference: true,
    median_ms: argon2idMs,
  });
  emit({
    bench: 'madmin-key-derivation',
    impl: 'PBKDF2-SHA256 8192 rounds (node:crypto), used for requests',
    median_ms: pbkdf2Ms,
    cost_ratio_vs_reference: Number((pbkdf2Ms / argon2idMs).toFixed(3)),
  });
}

async function main(): Promise<void> {
  const only = process.argv[2];
  if (only === 'cold') {
    await coldStart();
    return;
  }
  await presignCore();
  if (only === 'core') return;
  await wholeHandler();
  await coldStart();
  await madminKeyDerivation();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
