import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { PRESIGN_ROUTES } from '../../functions/presign/presign-api';
import { CONTEXT_KEYS } from '../../lib/config/context-keys';
import { API_ROUTE_ACCESS } from '../../lib/iam/iam-matrix';
import { docBlock } from '../integration/support/doc-block';
import { readmeBlock } from '../integration/support/readme';
import { evaluate, type PolicyStatement, resolveIntrinsics, wildcardMatch } from './iam/policy-evaluator';
import { synthesize } from './synthesized-stack';

/**
 * docs/deploying.md, "Fence on EKS: Helm values and IRSA": the Helm values, the IRSA trust policy
 * and the identity policy it shows must fit the stack as `cdk deploy` builds it from the page's
 * own `fenceRoleArns` (the README's deploy block is the same), and the Python client Fence imports.
 */
const PAGE = 'docs/deploying.md';
const SECTION = '## Fence on EKS';
const repo = (path: string) => readFileSync(join(__dirname, '../..', path), 'utf8');

interface HelmValues {
  fence: {
    serviceAccount: { create: boolean; name: string; annotations: Record<string, string> };
    env: { name: string; value: string }[];
  };
}
interface PolicyDocument {
  Version: string;
  Statement: (PolicyStatement & { Condition?: Record<string, Record<string, string>> })[];
}

const helm = parse(docBlock(PAGE, SECTION, 'yaml')) as HelmValues;
const trust = JSON.parse(docBlock(PAGE, SECTION, 'json', 0)) as PolicyDocument;
const identity = JSON.parse(docBlock(PAGE, SECTION, 'json', 1)) as PolicyDocument;
const roleArn = helm.fence.serviceAccount.annotations['eks.amazonaws.com/role-arn'] ?? '';
const brokerUrl = helm.fence.env.find((entry) => entry.name === 'FENCE_BUCKET_BROKER_URL')?.value ?? '';

/** The `fenceRoleArns` of the deploy commands, as `-c fenceRoleArns=…` gives them. */
function deployFenceRoleArns(): string[] {
  const deploy = docBlock(PAGE, '## Deploy', 'bash');
  const value = /-c fenceRoleArns=(\S+)/.exec(deploy)?.[1];
  if (value === undefined) throw new Error(`${PAGE}'s deploy command sets no fenceRoleArns`);
  return value.split(',');
}

describe('docs/deploying.md: Fence on EKS (Helm values and IRSA)', () => {
  it("shows the README's deploy block, so the README's one deploy command is the one tested here", () => {
    expect(readmeBlock('## Deploy', 'bash')).toBe(docBlock(PAGE, '## Deploy', 'bash'));
  });

  it('annotates Fence’s service account with a role the deploy command names in fenceRoleArns, a context key the app reads', () => {
    // Act
    const deployed = deployFenceRoleArns();

    // Assess: the app reads every key through CONTEXT_KEYS (test/infra/config/context-keys.test.ts).
    expect(CONTEXT_KEYS.fenceRoleArns.parse(roleArn, 'fenceRoleArns')).toEqual([roleArn]);
    expect(roleArn).toMatch(/^arn:aws:iam::\d{12}:role\/[\w+=,.@/-]+$/);
    expect(deployed).toContain(roleArn);
    expect(docBlock(PAGE, SECTION, 'yaml')).not.toMatch(/secret|access_key|password/i);
  });

  it('gives the pods the broker URL under the variable the Python client reads, shaped as the PresignApiUrl output', () => {
    // Prepare
    const clientSource = repo('clients/python/src/fence_bucket_broker/client.py');
    const { template } = synthesize({ fenceRoleArns: roleArn });

    // Act
    const variable = /^BROKER_URL_ENV = "([A-Z_]+)"$/m.exec(clientSource)?.[1];
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0]?.Properties.StageName;

    // Assess
    expect(variable).toBe('FENCE_BUCKET_BROKER_URL');
    expect(docBlock('docs/fence.md', '## Calling from Fence', 'diff')).toContain(
      `os.environ.get("${variable}")`,
    );
    expect(outputs.PresignApiUrl).toBeDefined();
    expect(stage).toBe('prod');
    expect(brokerUrl).toMatch(/^https:\/\/[a-z0-9]+\.execute-api\.[a-z0-9-]+\.amazonaws\.com\/prod$/);
  });

  it('trusts exactly Fence’s service account through the cluster’s OIDC provider, for STS', () => {
    // Prepare
    const [statement, ...others] = trust.Statement;
    const federated = String((statement?.Principal as Record<string, string> | undefined)?.Federated);
    const provider = /^arn:aws:iam::(\d{12}):oidc-provider\/(.+)$/.exec(federated);

    // Act
    const conditions = statement?.Condition?.StringEquals ?? {};

    // Assess
    expect(others).toEqual([]);
    expect(trust.Version).toBe('2012-10-17');
    expect(statement?.Effect).toBe('Allow');
    expect(statement?.Action).toBe('sts:AssumeRoleWithWebIdentity');
    expect(provider).not.toBeNull();
    expect(provider?.[1]).toBe(roleArn.split(':')[4]);
    expect(Object.keys(statement?.Condition ?? {})).toEqual(['StringEquals']);
    expect(conditions).toEqual({
      [`${provider?.[2]}:sub`]: `system:serviceaccount:default:${helm.fence.serviceAccount.name}`,
      [`${provider?.[2]}:aud`]: 'sts.amazonaws.com',
    });
    expect(helm.fence.serviceAccount.create).toBe(true);
  });

  it('lets the role invoke every presign route of the broker’s API and stage, and no admin route', () => {
    // Prepare: the API and stage of the Helm URL, in the ARN form execute-api's IAM checks.
    const [, apiId, region] = /^https:\/\/([a-z0-9]+)\.execute-api\.([a-z0-9-]+)\./.exec(brokerUrl) ?? [];
    const account = roleArn.split(':')[4];
    const route = (path: string) => `arn:aws:execute-api:${region}:${account}:${apiId}/prod/POST${path}`;
    const invoke = (resource: string) =>
      evaluate(identity.Statement, { action: 'execute-api:Invoke', resource });

    // Act
    const presign = PRESIGN_ROUTES.map((name) => invoke(route(`/v1/buckets/demo-bucket/${name}`)));

    // Assess
    expect(identity.Statement).toHaveLength(1);
    expect(identity.Statement[0]?.Resource).toBe(
      `arn:aws:execute-api:${region}:${account}:${apiId}/prod/POST${API_ROUTE_ACCESS.presign.resourcePath}`,
    );
    expect(presign).toEqual(PRESIGN_ROUTES.map(() => 'Allow'));
    expect(invoke(route('/v1/admin/buckets'))).toBe('ImplicitDeny');
    expect(invoke(route('/v1/admin/buckets/demo-bucket/rotate'))).toBe('ImplicitDeny');
    expect(invoke(`arn:aws:execute-api:${region}:${account}:otherapi/prod/POST/v1/buckets/b/presign`)).toBe(
      'ImplicitDeny',
    );
  });

  it('matches the routes the stack’s resource policy admits that role to, and only those', () => {
    // Prepare: the stack deployed with the README's fenceRoleArns.
    const { template } = synthesize({ fenceRoleArns: deployFenceRoleArns().join(',') });
    const [api] = Object.values(template.findResources('AWS::ApiGateway::RestApi'));
    const policy = resolveIntrinsics(api?.Properties.Policy) as PolicyDocument;
    const identityPath = String(identity.Statement[0]?.Resource).split(':').slice(5).join(':');
    const apiPath = identityPath.slice(identityPath.indexOf('/'));
    const paths = [
      ...PRESIGN_ROUTES.map((name) => `/prod/POST/v1/buckets/demo-bucket/${name}`),
      '/prod/POST/v1/admin/buckets',
      '/prod/GET/v1/buckets/demo-bucket/presign',
    ];

    // Act: for each path, the resource policy's verdict for the role and the identity policy's.
    const verdicts = paths.map((path) => ({
      path,
      resourcePolicy: evaluate(policy.Statement, {
        action: 'execute-api:Invoke',
        resource: `execute-api:${path}`,
        principalArn: roleArn,
      }),
      identityPolicy: wildcardMatch(apiPath, path),
    }));

    // Assess: every route the identity policy allows, the resource policy allows the role too.
    for (const verdict of verdicts) {
      if (verdict.identityPolicy) expect(verdict).toEqual({ ...verdict, resourcePolicy: 'Allow' });
    }
    expect(verdicts.filter((verdict) => verdict.identityPolicy).map((verdict) => verdict.path)).toEqual(
      PRESIGN_ROUTES.map((name) => `/prod/POST/v1/buckets/demo-bucket/${name}`),
    );
  });
});
