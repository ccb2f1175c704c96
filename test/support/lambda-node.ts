import { BROKER_RUNTIME } from '../../lib/constructs/broker-function';

/**
 * The Node.js major the broker's Lambdas run, read from the runtime every broker function is
 * given (`nodejs24.x` → 24), so moving the runtime moves what the tests must run on.
 */
export function lambdaNodeMajor(runtimeName: string = BROKER_RUNTIME.name): number {
  const match = /^nodejs(\d+)\.x$/.exec(runtimeName);
  if (match?.[1] === undefined)
    throw new Error(`the broker's Lambda runtime ${runtimeName} is not a Node.js one`);
  return Number(match[1]);
}

export interface NodeMajorCheck {
  /** `process.version` of the Node running the tests. */
  readonly running: string;
  /** Whether the run is CI's (`CI=true`), where a mismatch fails instead of warning. */
  readonly ci: boolean;
  /** @default BROKER_RUNTIME.name */
  readonly runtimeName?: string;
  /** Where a developer's run is told of a mismatch. */
  readonly warn?: (message: string) => void;
}

/**
 * Tests pass on one Node and the Lambdas run another only until the first difference between
 * them ships: under CI a run on another major than the Lambda runtime's fails; a developer who
 * runs jest directly on another Node is told how to get the right one.
 */
export function checkNodeMatchesLambda(check: NodeMajorCheck): void {
  const wanted = lambdaNodeMajor(check.runtimeName);
  const running = Number(check.running.replace(/^v/, '').split('.')[0]);
  if (running === wanted) return;
  const message =
    `the tests run on Node ${check.running}, the Lambdas on Node ${wanted} (${check.runtimeName ?? BROKER_RUNTIME.name}, ` +
    `lib/constructs/broker-function.ts): run them through npm's scripts (npm test, npm run test:unit, …) ` +
    `or \`bash scripts/node-toolchain.sh exec npx jest …\`, which install and use the project's Node ${wanted}`;
  if (check.ci) throw new Error(message);
  (check.warn ?? console.warn)(`warning: ${message}`);
}

/** The check on this process: jest.config.js's global setup, and the first step of the deployed suite's. */
export function checkRunningNode(): void {
  checkNodeMatchesLambda({ running: process.version, ci: process.env.CI === 'true' });
}

export default checkRunningNode;
