import { Node } from 'constructs';
import { buildApp } from '../../../lib/app';
import { CONTEXT_KEYS, closestContextKey } from '../../../lib/config/context-keys';
import { IDENTITY_CONTEXT } from '../../../lib/constructs/lambda-secrets-access';
import { everythingContext } from '../../../scripts/docs-reference';
import { outdir } from '../synthesized-stack';

/** The app's own keys are plain words; CDK's carry `@`, `:` or `-`. */
const appKey = (key: string) => /^[a-z][A-Za-z0-9]*$/.test(key);

describe('Table: CONTEXT_KEYS', () => {
  afterEach(() => jest.restoreAllMocks());

  it('holds every key the app reads, and the app reads every key it holds', () => {
    // Prepare: every read of context, by the app or any construct.
    const read = new Set<string>();
    const tryGetContext = Node.prototype.tryGetContext;
    jest.spyOn(Node.prototype, 'tryGetContext').mockImplementation(function (this: Node, key: string) {
      read.add(key);
      return tryGetContext.call(this, key);
    });

    // Act: a context with every feature on (the one the environment reference is written from).
    buildApp({ outdir: outdir(), context: everythingContext() });

    // Assess
    expect([...read].filter(appKey).sort()).toEqual(Object.keys(CONTEXT_KEYS).sort());
  });

  it('declares the per-function identity keys the Vault and Google checks name', () => {
    for (const key of [...Object.values(IDENTITY_CONTEXT.vault), ...Object.values(IDENTITY_CONTEXT.gcp)]) {
      expect(Object.keys(CONTEXT_KEYS)).toContain(key);
    }
  });

  it('gives every key a default and a meaning', () => {
    for (const spec of Object.values(CONTEXT_KEYS)) {
      expect(spec.default).not.toBe('');
      expect(spec.meaning).not.toBe('');
    }
  });
});

describe('Function: buildApp with context the app does not read', () => {
  const context = {
    fenceRoleArns: 'arn:aws:iam::123456789012:role/fence-irsa',
    'aws:cdk:bundling-stacks': [],
  };

  it('refuses a mistyped key at synth, naming the key it most likely meant', () => {
    expect(() => buildApp({ outdir: outdir(), context: { ...context, rotationDay: '30' } })).toThrow(
      'context rotationDay is not a key of this app (did you mean rotationDays?)',
    );
    expect(() => buildApp({ outdir: outdir(), context: { ...context, vaultadr: 'https://v' } })).toThrow(
      /did you mean vaultAddr\?/,
    );
  });

  it('refuses an unknown key that resembles none without guessing', () => {
    expect(() => buildApp({ outdir: outdir(), context: { ...context, banana: 'yes' } })).toThrow(
      /^context banana is not a key of this app$/,
    );
    expect(closestContextKey('banana')).toBeUndefined();
  });

  it("lets CDK's own keys, feature flags and cached lookups pass", () => {
    // Act
    const { stack } = buildApp({
      outdir: outdir(),
      context: {
        ...context,
        '@aws-cdk/aws-iam:minimizePolicies': true,
        '@aws-cdk/core:newStyleStackSynthesis': true,
        'aws:cdk:enable-path-metadata': true,
        'aws-cdk:enableDiffNoFail': 'true',
        'acknowledged-issue-numbers': [12345],
        'availability-zones:account=123456789012:region=us-east-1': ['us-east-1a'],
      },
    });

    // Assess
    expect(stack.stackName).toBe('FenceBucketBroker');
  });
});
