// One-shot mode (see lambda-entrypoint.sh), for emulators that run one container per invoke
// and read its output, as moto's Lambda backend does: it takes the last line of the container's
// output as the function's answer and a non-zero exit as a function error.
//
// Starts the RIE (and through it the runtime) on free loopback ports with all of their output on
// stderr, posts the event once, stops the RIE, then prints the answer as the one line of stdout.
// The RIE drops the runtime's X-Amz-Function-Error header, so a function error is read from
// the answer: a non-2xx status, Lambda's error shape ({errorType, errorMessage}) or the RIE's
// "Task timed out" text.
import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';

const [handler, event] = process.argv.slice(2);
const timeoutSeconds = Number(process.env.AWS_LAMBDA_FUNCTION_TIMEOUT ?? '300');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function accepts(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function isFunctionError(status, body) {
  if (status < 200 || status > 299) return true;
  if (body.startsWith('Task timed out after')) return true;
  try {
    const answer = JSON.parse(body);
    return (
      answer !== null &&
      typeof answer === 'object' &&
      typeof answer.errorType === 'string' &&
      typeof answer.errorMessage === 'string'
    );
  } catch {
    return false;
  }
}

const [emulatorPort, runtimeApiPort] = [await freePort(), await freePort()];
const rie = spawn(
  '/usr/local/bin/aws-lambda-rie',
  [
    '--runtime-interface-emulator-address',
    `127.0.0.1:${emulatorPort}`,
    '--runtime-api-address',
    `127.0.0.1:${runtimeApiPort}`,
    '/var/runtime/bootstrap',
    handler,
  ],
  { stdio: ['ignore', 2, 2] },
);
let rieExit;
const exited = new Promise((resolve) => {
  rie.once('exit', (code, signal) => {
    rieExit = { code, signal };
    resolve(rieExit);
  });
});

let status = 0;
let body = '';
try {
  const startBy = Date.now() + 10_000;
  while (!(await accepts(emulatorPort))) {
    if (rieExit !== undefined) throw new Error(`the RIE exited before serving (${JSON.stringify(rieExit)})`);
    if (Date.now() > startBy) throw new Error('the RIE did not listen within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const answer = await fetch(`http://127.0.0.1:${emulatorPort}/2015-03-31/functions/function/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: event,
    signal: AbortSignal.timeout((timeoutSeconds + 10) * 1000),
  });
  status = answer.status;
  body = await answer.text();
} catch (error) {
  status = 599;
  body = JSON.stringify({ errorType: 'Runtime.OneShotError', errorMessage: String(error?.message ?? error) });
}
rie.kill('SIGTERM');
const killer = setTimeout(() => rie.kill('SIGKILL'), 2000);
await exited;
clearTimeout(killer);
process.stdout.write(`${body.replace(/\r?\n/g, ' ')}\n`);
process.exitCode = isFunctionError(status, body) ? 1 : 0;
