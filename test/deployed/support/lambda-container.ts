import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { freePort } from '../../integration/services/process';

const run = promisify(execFile);

export interface FunctionContainerOptions {
  /** The runtime image (`buildLambdaImages().runtime`). */
  image: string;
  /** The function's code: a synthesized asset directory, mounted read-only at /var/task. */
  assetDir: string;
  /** The function's `Handler` (e.g. `index.handler`). */
  handler: string;
  /**
   * The function's environment. Pass every AWS endpoint it may use: the container shares the
   * host's network, and a service without an endpoint is sent to a closed loopback port here
   * (AWS_ENDPOINT_URL), never to AWS.
   */
  environment: Record<string, string>;
  memoryMb: number;
  timeoutSeconds: number;
  /** Part of the container's name (for `docker ps`). */
  name?: string;
  /** How long the RIE may take to listen. @default 15 s */
  startTimeoutMs?: number;
  /** Files or directories of the host bound read-only into the container (e.g. a CA bundle). */
  mounts?: readonly { source: string; target: string }[];
}

export interface InvokeResult {
  /** The answer, parsed as JSON when it is JSON (Lambda's error shape on a function error). */
  payload: unknown;
  /**
   * Set on a function error, as Lambda's X-Amz-Function-Error header would be (`Unhandled`). The
   * RIE drops that header, so it is read from the answer: a non-2xx status, Lambda's error shape
   * ({errorType, errorMessage}) or the RIE's "Task timed out" text.
   */
  functionError?: string;
}

export interface FunctionContainer {
  /** The container's name. */
  readonly name: string;
  /** The RIE's invoke URL on 127.0.0.1. */
  readonly invokeUrl: string;
  invoke(event: unknown): Promise<InvokeResult>;
  /** The container's output so far (RIE, runtime and function logs, stdout and stderr). */
  logs(): Promise<string>;
  /**
   * The cold start as the RIE measures it, from its `INIT REPORT(durationMs: …)` line (the
   * `Init Duration` of its REPORT line is meaningless, about 0.1 ms); undefined before the first
   * invoke (the RIE starts the runtime then).
   */
  initDurationMs(): Promise<number | undefined>;
  /** Stops and removes the container. */
  stop(): Promise<void>;
}

/** No real AWS host is ever a target: a value naming one is refused. */
const AWS_HOST = /(^|[/.@])amazonaws\.com(\.cn)?([:/]|$)/i;
/** Where an AWS client without an endpoint of its own goes: a closed port, so it fails at once. */
const NOWHERE = 'http://127.0.0.1:1';

/**
 * Runs a function in a detached container of the runtime image, in server mode: the RIE on a free
 * 127.0.0.1 port (`--network host`) in front of the runtime interface client, the asset at
 * /var/task read-only, `--memory` and Lambda's memory and timeout variables, AWS_REGION and
 * dummy credentials unless given. Resolves once the RIE answers HTTP.
 */
export async function startFunctionContainer(options: FunctionContainerOptions): Promise<FunctionContainer> {
  const [emulatorPort, runtimeApiPort] = [await freePort(), await freePort()];
  const name = `fbb-fn-${(options.name ?? 'function').replace(/[^a-zA-Z0-9_.-]/g, '-')}-${randomUUID().slice(0, 8)}`;
  for (const [key, value] of Object.entries(options.environment)) {
    if (AWS_HOST.test(value))
      throw new Error(`${key} names a real AWS host (${value}): pass a local endpoint`);
  }
  const region = options.environment.AWS_REGION ?? options.environment.AWS_DEFAULT_REGION ?? 'us-east-1';
  const environment: Record<string, string> = {
    AWS_ACCESS_KEY_ID: 'fbb-deployed-test-key',
    AWS_SECRET_ACCESS_KEY: 'fbb-deployed-test-secret-key',
    AWS_ENDPOINT_URL: NOWHERE,
    AWS_LAMBDA_FUNCTION_NAME: options.name ?? 'function',
    ...options.environment,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: options.environment.AWS_DEFAULT_REGION ?? region,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(options.memoryMb),
    AWS_LAMBDA_FUNCTION_TIMEOUT: String(options.timeoutSeconds),
    FBB_RIE_PORT: String(emulatorPort),
    FBB_RUNTIME_API_PORT: String(runtimeApiPort),
  };
  // `-e NAME` takes the value from the docker client's environment: no value is on a command line.
  await docker(
    [
      'run',
      '--detach',
      '--name',
      name,
      '--network',
      'host',
      '--memory',
      `${options.memoryMb}m`,
      '--volume',
      `${options.assetDir}:/var/task:ro`,
      ...(options.mounts ?? []).flatMap((mount) => ['--volume', `${mount.source}:${mount.target}:ro`]),
      ...Object.keys(environment).flatMap((key) => ['--env', key]),
      options.image,
      options.handler,
    ],
    30_000,
    environment,
  );
  const invokeUrl = `http://127.0.0.1:${emulatorPort}/2015-03-31/functions/function/invocations`;
  const logs = async () => {
    const { stdout, stderr } = await run('docker', ['logs', name], {
      encoding: 'utf8',
      timeout: 15_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return `${stdout}${stderr}`;
  };
  const stop = async () => {
    await docker(['rm', '--force', name], 30_000).catch(() => undefined);
  };
  try {
    await waitForEmulator(name, emulatorPort, options.startTimeoutMs ?? 15_000);
  } catch (error) {
    const output = await logs().catch(() => '');
    await stop();
    throw new Error(`${(error as Error).message}\n--- ${name} output ---\n${output.slice(-4000)}`);
  }
  return {
    name,
    invokeUrl,
    logs,
    stop,
    invoke: async (event) => {
      const answer = await fetch(invokeUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(event),
        signal: AbortSignal.timeout((options.timeoutSeconds + 10) * 1000),
      });
      const body = await answer.text();
      const payload = parsed(body);
      return isFunctionError(answer.status, body, payload)
        ? { payload, functionError: 'Unhandled' }
        : { payload };
    },
    initDurationMs: async () => {
      const match = (await logs()).match(/INIT REPORT\(durationMs: ([0-9.]+)\)/);
      return match?.[1] === undefined ? undefined : Number(match[1]);
    },
  };
}

async function docker(args: string[], timeoutMs: number, env?: Record<string, string>): Promise<string> {
  try {
    const { stdout } = await run('docker', args, {
      encoding: 'utf8',
      timeout: timeoutMs,
      env: env === undefined ? process.env : { ...process.env, ...env },
    });
    return stdout;
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new Error(`docker ${args[0]} failed: ${message}\n${stderr ?? ''}`);
  }
}

/** Until the RIE answers any HTTP request, or the container stops, or `timeoutMs` passes. */
async function waitForEmulator(name: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      // not listening yet
    }
    const state = await docker(['inspect', '--format', '{{.State.Running}}', name], 10_000);
    if (state.trim() !== 'true') throw new Error(`container ${name} stopped before its RIE listened`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the RIE of ${name} did not answer on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

function parsed(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

function isFunctionError(status: number, body: string, payload: unknown): boolean {
  if (status < 200 || status > 299) return true;
  if (body.startsWith('Task timed out after')) return true;
  return (
    typeof payload === 'object' &&
    payload !== null &&
    typeof (payload as { errorType?: unknown }).errorType === 'string' &&
    typeof (payload as { errorMessage?: unknown }).errorMessage === 'string'
  );
}
