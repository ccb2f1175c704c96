import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';

/** A server process the harness started; its output is kept so a failed start can be explained. */
export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** The service, whose `stop` also removes the directories it ran in (data, certificates). */
export function removingOnStop(service: ServiceProcess, ...dirs: (string | undefined)[]): ServiceProcess {
  return {
    ...service,
    stop: async () => {
      await service.stop();
      for (const dir of dirs) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const held = await hold(0);
  await held.release();
  return held.port;
}

/**
 * A port that was free a moment ago on 127.0.0.1, and the one after it too: for a server that
 * binds its port + 1 without asking (OpenBao's cluster listener in dev mode).
 */
export async function freePortAndNext(attempts = 50): Promise<number> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const first = await hold(0);
    const next = await hold(first.port + 1).catch(() => undefined);
    await Promise.all([first.release(), next?.release()]);
    if (next !== undefined) return first.port;
  }
  throw new Error(`no free pair of neighbouring ports on 127.0.0.1 in ${attempts} attempts`);
}

/** Listens on 127.0.0.1:`port` (0: any free one) until released. */
function hold(port: number): Promise<{ port: number; release(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      if (typeof address !== 'object' || address === null) {
        server.close();
        reject(new Error('no port'));
        return;
      }
      resolve({
        port: address.port,
        release: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

export function startProcess(
  name: string,
  command: string,
  args: string[],
  options: SpawnOptions = {},
): ServiceProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', (error) => keep(Buffer.from(`\n[spawn error] ${error.message}\n`)));
  return {
    name,
    child,
    output: () => log,
    stop: () => stopChild(child),
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Polls `probe` until it returns true, the process dies, or `timeoutMs` passes. */
export async function waitUntil(
  service: ServiceProcess,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (service.child.exitCode !== null) {
      throw new ServiceStartError(
        service.name,
        `exited with code ${service.child.exitCode}`,
        service.output(),
      );
    }
    if (await probe().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await service.stop();
  throw new ServiceStartError(service.name, `did not become ready within ${timeoutMs} ms`, service.output());
}

/** A test service that could not start; the message names it and how to get it. */
export class ServiceStartError extends Error {
  constructor(
    service: string,
    problem: string,
    output = '',
    hint = 'run `npm run services:install` (see docs/testing.md)',
  ) {
    super(
      `test service ${service} ${problem}. To get it: ${hint}.${output ? `\n--- ${service} output ---\n${output}` : ''}`,
    );
    this.name = 'ServiceStartError';
  }
}
