import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BROKER_RUNTIME } from '../../../lib/constructs/broker-function';
import { checkNodeMatchesLambda, lambdaNodeMajor } from '../../support/lambda-node';

const TOOLCHAIN = readFileSync(join(__dirname, '../../../scripts/node-toolchain.sh'), 'utf8');

/** A pin of scripts/node-toolchain.sh, as the script itself reads it. */
function pinned(name: string): string {
  const value = new RegExp(`^${name}=(\\S+)$`, 'm').exec(TOOLCHAIN)?.[1];
  if (value === undefined) throw new Error(`scripts/node-toolchain.sh pins no ${name}`);
  return value;
}

describe('Function: lambdaNodeMajor', () => {
  it('reads the major from the runtime the broker functions are given', () => {
    // Act
    const major = lambdaNodeMajor();

    // Assess
    expect(`nodejs${major}.x`).toBe(BROKER_RUNTIME.name);
    expect(lambdaNodeMajor('nodejs22.x')).toBe(22);
    expect(() => lambdaNodeMajor('python3.13')).toThrow('python3.13 is not a Node.js one');
  });
});

describe('Function: checkNodeMatchesLambda', () => {
  it('fails a CI run on another major than the Lambda runtime, naming both and the way to the right one', () => {
    // Act
    const check = () => checkNodeMatchesLambda({ running: 'v20.20.2', ci: true, runtimeName: 'nodejs24.x' });

    // Assess
    expect(check).toThrow(/tests run on Node v20\.20\.2, the Lambdas on Node 24 \(nodejs24\.x/);
    expect(check).toThrow('bash scripts/node-toolchain.sh exec npx jest');
  });

  it('warns a developer run on another major, and says nothing on the Lambda major', () => {
    // Prepare
    const warnings: string[] = [];
    const warn = (message: string) => warnings.push(message);

    // Act
    checkNodeMatchesLambda({ running: 'v22.23.5', ci: false, runtimeName: 'nodejs24.x', warn });
    checkNodeMatchesLambda({ running: 'v24.22.3', ci: true, runtimeName: 'nodejs24.x', warn });

    // Assess
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^warning: the tests run on Node v22\.23\.5, the Lambdas on Node 24/);
  });

  it('passes on the Node this run uses, which under CI is the Lambda runtime major', () => {
    // Act + Assess: this file runs after jest's global setup, which made the same check.
    expect(() =>
      checkNodeMatchesLambda({ running: process.version, ci: process.env.CI === 'true', warn: () => {} }),
    ).not.toThrow();
  });
});

describe('Script: scripts/node-toolchain.sh pins', () => {
  it('pins Node at the Lambda runtime major, and a Node 22 for the oldest supported major', () => {
    // Act
    const node24 = pinned('FBB_NODE24_VERSION');
    const node22 = pinned('FBB_NODE22_VERSION');

    // Assess
    expect(Number(node24.split('.')[0])).toBe(lambdaNodeMajor());
    expect(node22.split('.')[0]).toBe('22');
    expect(pinned('FBB_NODE24_INTEGRITY')).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
    expect(pinned('FBB_NODE22_INTEGRITY')).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
  });

  it('says in package.json engines that Node 22, the oldest pinned and tested major, is the floor', () => {
    // Act
    const pkg = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as {
      engines: { node: string };
    };

    // Assess
    expect(pkg.engines.node).toBe(`>=${pinned('FBB_NODE22_VERSION').split('.')[0]}`);
  });
});
