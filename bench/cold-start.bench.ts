/**
 * `npm run bench:cold`: cold start as Lambda measures it, the figure of record. Each function of
 * the synthesized stack (its bundle from the cloud assembly, the template's handler, memory and
 * environment) starts in a fresh Lambda runtime container (the RIE in front of the RIC on
 * Node.js 24, test/deployed), is invoked once, and reports the runtime's init duration
 * (`INIT REPORT(durationMs …)`). The reference is an eager three-client bundle (Secrets Manager,
 * STS, DynamoDB built at module load) started the same way in the same rounds. Rounds interleave
 * every function with the reference, so a machine that slows down mid-run slows both; figures
 * are medians and p90s of per-round ratios against the reference.
 *
 * Needs Docker (started when it is not running) and builds the runtime image the first time.
 * `FBB_COLD_ROUNDS` sets the rounds (default 11).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDocker } from '../test/deployed/services/docker';
import { ALL_FEATURES_CONTEXT, synthesizeDeployment } from '../test/deployed/support/deployed-template';
import { startFunctionContainer } from '../test/deployed/support/lambda-container';
import { buildLambdaImages } from '../test/deployed/support/lambda-images';
import { bundleAsDeployed } from './bundle-as-deployed';

interface Subject {
  name: string;
  assetDir: string;
  handler: string;
  memoryMb: number;
  timeoutSeconds: number;
  environment: Record<string, string>;
}

const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1) + 0.5))] ?? Number.NaN;
};
const round2 = (value: number) => Number(value.toFixed(2));

/** An invocation that runs init and the handler's entry without needing any service. */
const PROBE_EVENT = {
  resource: '/cold-start-probe',
  path: '/cold-start-probe',
  httpMethod: 'GET',
  headers: {},
  requestContext: { requestId: 'cold-start-probe', identity: {} },
  body: null,
};

async function main(): Promise<void> {
  const rounds = Number(process.env.FBB_COLD_ROUNDS ?? 11);
  const docker = await ensureDocker();
  const work = mkdtempSync(join(tmpdir(), 'fbb-cold-'));
  try {
    const images = await buildLambdaImages();
    const deployment = synthesizeDeployment({
      ...ALL_FEATURES_CONTEXT,
      lambdaArchitecture: 'x86_64',
    });
    // Names stand in for the deployed resources: init reads them, and calls nothing.
    const physical = (logicalId: string, attribute?: string) =>
      attribute === undefined ? `cold-${logicalId}`.toLowerCase() : `arn:aws:cold:::${logicalId}`;
    const closed = { AWS_ENDPOINT_URL: 'http://127.0.0.1:1', AWS_REGION: 'us-east-1' };
    const subjects: Subject[] = deployment.functions.map((fn) => ({
      name: fn.logicalId.replace(/[0-9A-F]{8}$/, ''),
      assetDir: fn.assetDir,
      handler: fn.handler,
      memoryMb: fn.memorySize,
      timeoutSeconds: fn.timeout,
      environment: { ...deployment.resolveEnvironment(fn.logicalId, physical), ...closed },
    }));
    const referenceDir = join(work, 'reference');
    await bundleAsDeployed(join(__dirname, 'fixtures/eager-clients.ts'), join(referenceDir, 'index.mjs'));
    const reference: Subject = {
      name: 'reference: eager Secrets Manager + STS + DynamoDB clients',
      assetDir: referenceDir,
      handler: 'index.handler',
      memoryMb: 512,
      timeoutSeconds: 10,
      environment: closed,
    };

    const coldStart = async (subject: Subject): Promise<number> => {
      const container = await startFunctionContainer({
        image: images.runtime,
        assetDir: subject.assetDir,
        handler: subject.handler,
        environment: subject.environment,
        memoryMb: subject.memoryMb,
        timeoutSeconds: subject.timeoutSeconds,
        name: 'cold-start',
      });
      try {
        await container.invoke(PROBE_EVENT);
        const init = await container.initDurationMs();
        if (init === undefined) throw new Error(`${subject.name}: no INIT REPORT in its logs`);
        return init;
      } finally {
        await container.stop();
      }
    };

    const inits = new Map<string, number[]>([[reference.name, []]]);
    const ratios = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      const referenceMs = await coldStart(reference);
      inits.get(reference.name)?.push(referenceMs);
      for (const subject of subjects) {
        const ms = await coldStart(subject);
        inits.set(subject.name, [...(inits.get(subject.name) ?? []), ms]);
        ratios.set(subject.name, [...(ratios.get(subject.name) ?? []), ms / referenceMs]);
      }
    }
    const referenceInits = inits.get(reference.name) ?? [];
    console.log(
      JSON.stringify({
        bench: 'cold-start-container',
        impl: reference.name,
        reference: true,
        runs: rounds,
        init_ms_median: round2(quantile(referenceInits, 0.5)),
        init_ms_p90: round2(quantile(referenceInits, 0.9)),
      }),
    );
    for (const subject of subjects) {
      const ms = inits.get(subject.name) ?? [];
      const ratio = ratios.get(subject.name) ?? [];
      console.log(
        JSON.stringify({
          bench: 'cold-start-container',
          impl: subject.name,
          runs: rounds,
          init_ms_median: round2(quantile(ms, 0.5)),
          init_ms_p90: round2(quantile(ms, 0.9)),
          ratio_vs_reference_median: round2(quantile(ratio, 0.5)),
          ratio_vs_reference_p90: round2(quantile(ratio, 0.9)),
        }),
      );
    }
    rmSync(deployment.outdir, { recursive: true, force: true });
  } finally {
    rmSync(work, { recursive: true, force: true });
    await docker.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
