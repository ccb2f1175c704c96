import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BUILD_SCRIPT = join(__dirname, '../../../scripts/lambda-runtime/build-images.sh');

/** The local images of the deployed tests (see scripts/lambda-runtime/build-images.sh). */
export interface LambdaImages {
  /** The Lambda-like Node.js 24 image, tagged by a hash of its build inputs. */
  runtime: string;
  /** `busybox:latest`, which moto's Lambda backend runs to fill a function's code volume. */
  busybox: string;
}

/**
 * Builds (or finds, by tag) the images: minutes the first time, about a second once they exist.
 * Needs a running Docker daemon (`ensureDocker`) and scripts/install-deployed-services.sh.
 */
export async function buildLambdaImages(timeoutMs = 20 * 60_000): Promise<LambdaImages> {
  let stdout: string;
  try {
    ({ stdout } = await run('bash', [BUILD_SCRIPT], {
      encoding: 'utf8',
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
    }));
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new Error(
      `building the Lambda images failed (${BUILD_SCRIPT}): ${message}\n${(stderr ?? '').slice(-4000)}`,
    );
  }
  const tags = Object.fromEntries(
    stdout
      .split('\n')
      .map((line) => line.match(/^(runtime|busybox)=(\S+)$/))
      .filter((match): match is RegExpMatchArray => match !== null)
      .map((match) => [match[1], match[2]]),
  );
  if (tags.runtime === undefined || tags.busybox === undefined) {
    throw new Error(`${BUILD_SCRIPT} printed no image tags:\n${stdout}`);
  }
  return { runtime: tags.runtime, busybox: tags.busybox };
}
