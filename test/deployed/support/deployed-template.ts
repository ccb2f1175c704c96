import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { buildApp } from '../../../lib/app';

const REPO = join(__dirname, '../../..');

/**
 * Context that deploys every function the stack can have: presign and the admin API, MinIO key
 * rotation of one secret, the scheduled drift check and the scheduled sync from Fence DB (which
 * puts the admin function in Fence DB's VPC). Account 123456789012, as the infra tests use.
 */
export const ALL_FEATURES_CONTEXT: Readonly<Record<string, string>> = {
  fenceRoleArns: 'arn:aws:iam::123456789012:role/fence-irsa',
  adminRoleArns: 'arn:aws:iam::123456789012:role/broker-admin',
  minioAdminSecretArns:
    'arn:aws:secretsmanager:us-east-1:123456789012:secret:gen3/fence/admin/minio/myminio-AbCdEf',
  rotatedMinioSecrets: 'gen3/fence/minio/dataset',
  // The IAM user-key rotation: no schedule in the template (the CLI turns rotation on per secret).
  rotatedIamUserPath: '/gen3-buckets/',
  driftSchedule: 'cron(0 3 * * ? *)',
  fenceDbSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-0123abcd-AbCdEf',
  vpcId: 'vpc-0123456789abcdef0',
  vpcSubnetIds: 'subnet-0123456789abcdef0,subnet-0fedcba9876543210',
  syncSchedule: '5',
};

/** What CloudFormation's pseudo parameters stand for in the emulated deployment. */
export interface PseudoParameters {
  readonly region: string;
  readonly accountId: string;
  readonly partition: string;
  readonly urlSuffix: string;
}

/** The physical name or attribute a deployed resource has: `Ref` (no attribute) or `Fn::GetAtt`. */
export type PhysicalResolver = (logicalId: string, attribute?: string) => string;

/** One `AWS::Lambda::Function` of the template, as the deployment would create it. */
export interface DeployedFunction {
  readonly logicalId: string;
  /** `index.handler`: the file (in `assetDir`) and the export. */
  readonly handler: string;
  readonly runtime: string;
  readonly memorySize: number;
  /** Seconds. */
  readonly timeout: number;
  readonly architectures: readonly string[];
  /** The environment as the template states it: CloudFormation intrinsics left as they are. */
  readonly environment: Readonly<Record<string, unknown>>;
  /** Absolute path of the bundle directory `cdk synth` staged (`aws:asset:path`). */
  readonly assetDir: string;
}

/** One method of the REST API: a path of `AWS::ApiGateway::Resource`s and its integration. */
export interface ApiRoute {
  /** The resource's path, e.g. `/v1/buckets/{bucket}/presign` (`/` for the root resource). */
  readonly resourcePath: string;
  /** Logical id of the `AWS::ApiGateway::Resource` (`<RestApi>.RootResourceId` for the root). */
  readonly resourceLogicalId: string;
  readonly httpMethod: string;
  /** `AWS_IAM`, `NONE`, … as the template states it. */
  readonly authorizationType: string;
  /** Logical id of the Lambda function the `AWS_PROXY` integration's `Uri` names. */
  readonly functionLogicalId: string;
}

/** An IAM policy document as the template states it (the API's resource policy). */
export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: readonly Record<string, unknown>[];
}

/** The template's one REST API. */
export interface DeployedRestApi {
  readonly logicalId: string;
  readonly stageName: string;
  /** `BinaryMediaTypes`: what API Gateway hands to the function base64-encoded. */
  readonly binaryMediaTypes: readonly string[];
  /** The resource policy, or undefined when the API has none. */
  readonly policy: PolicyDocument | undefined;
}

/** An `AWS::Events::Rule` on a schedule and the functions it invokes. */
export interface DeployedSchedule {
  readonly ruleLogicalId: string;
  readonly scheduleExpression: string;
  readonly state: string | undefined;
  readonly targets: readonly { readonly functionLogicalId: string; readonly input?: unknown }[];
}

/** An `AWS::Lambda::Permission`: who may invoke which function (source fields as in the template). */
export interface DeployedPermission {
  readonly logicalId: string;
  readonly functionLogicalId: string;
  readonly action: string;
  readonly principal: string;
  readonly sourceArn?: unknown;
  readonly sourceAccount?: unknown;
}

/** An `AWS::SecretsManager::RotationSchedule` and its rotation function. */
export interface DeployedRotationSchedule {
  readonly logicalId: string;
  /** The secret, as the template states it (often an `Fn::Join` of an ARN). */
  readonly secretId: unknown;
  readonly rotationFunctionLogicalId: string;
  readonly scheduleExpression: string | undefined;
  readonly rotateImmediatelyOnUpdate: boolean | undefined;
}

/** What a synthesized deployment consists of, read from its CloudFormation template alone. */
export interface DeployedTemplate {
  readonly stackName: string;
  /** The cloud assembly directory (a fresh temporary directory). */
  readonly outdir: string;
  readonly template: CfnTemplate;
  readonly pseudoParameters: PseudoParameters;
  readonly functions: readonly DeployedFunction[];
  /** The function of this logical id; throws when there is none. */
  function(logicalId: string): DeployedFunction;
  /**
   * A function's environment with every intrinsic and pseudo parameter resolved: `physical`
   * answers the name (`Ref`) or attribute (`Fn::GetAtt`) of the emulated deployment's resources.
   */
  resolveEnvironment(logicalId: string, physical: PhysicalResolver): Record<string, string>;
  /** Any template value with its intrinsics resolved, as `resolveEnvironment` resolves them. */
  resolve(value: unknown, physical: PhysicalResolver): unknown;
  readonly restApi: DeployedRestApi;
  readonly apiRoutes: readonly ApiRoute[];
  readonly schedules: readonly DeployedSchedule[];
  readonly permissions: readonly DeployedPermission[];
  readonly rotationSchedules: readonly DeployedRotationSchedule[];
}

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, unknown>;
}

/** The intrinsic functions `resolve` understands; any other is refused by name. */
export const SUPPORTED_INTRINSICS = ['Ref', 'Fn::GetAtt', 'Fn::Join', 'Fn::Select', 'Fn::Split'] as const;

const DEFAULT_PSEUDO_PARAMETERS: PseudoParameters = {
  region: 'us-east-1',
  accountId: '123456789012',
  partition: 'aws',
  urlSuffix: 'amazonaws.com',
};

/**
 * Synthesizes the CDK app offline, as `cdk synth` does: `cdk.json`'s context (feature flags
 * included) under `context`, asset metadata on (the CLI's default, so each function names its
 * bundle directory), every stack bundled with esbuild into a fresh temporary directory.
 */
export function synthesizeDeployment(
  context: Record<string, string>,
  pseudoParameters: Partial<PseudoParameters> = {},
): DeployedTemplate {
  const cdkJson = JSON.parse(readFileSync(join(REPO, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const outdir = mkdtempSync(join(tmpdir(), 'fbb-deployed-'));
  const { app, stack } = buildApp({
    outdir,
    context: {
      ...cdkJson.context,
      'aws:cdk:enable-asset-metadata': true,
      'aws:cdk:bundling-stacks': ['**'],
      ...context,
    },
  });
  const assembly = app.synth();
  const template = assembly.getStackByName(stack.stackName).template as CfnTemplate;
  return readDeployedTemplate(template, outdir, stack.stackName, {
    ...DEFAULT_PSEUDO_PARAMETERS,
    ...pseudoParameters,
  });
}

/** Reads a synthesized template (and the assembly directory its asset paths are relative to). */
export function readDeployedTemplate(
  template: CfnTemplate,
  outdir: string,
  stackName: string,
  pseudoParameters: PseudoParameters = DEFAULT_PSEUDO_PARAMETERS,
): DeployedTemplate {
  const resources = template.Resources;
  const ofType = (type: string) =>
    Object.entries(resources).filter(([, resource]) => resource.Type === type) as [string, CfnResource][];
  const functions = ofType('AWS::Lambda::Function').map(([logicalId, resource]) =>
    deployedFunction(logicalId, resource, outdir),
  );
  const functionIds = new Set(functions.map((fn) => fn.logicalId));
  const functionOf = (value: unknown, where: string): string => {
    const id = functionLogicalId(value);
    if (id === undefined || !functionIds.has(id)) {
      throw new Error(`${where}: ${JSON.stringify(value)} names no Lambda function of the template`);
    }
    return id;
  };
  const resolveValue = (value: unknown, physical: PhysicalResolver): unknown =>
    resolveIntrinsics(value, physical, pseudoParameters, resources);
  const { restApi, apiRoutes } = readRestApi(resources, functionOf);
  return {
    stackName,
    outdir,
    template,
    pseudoParameters,
    functions,
    function(logicalId) {
      const found = functions.find((fn) => fn.logicalId === logicalId);
      if (found === undefined) throw new Error(`the template has no Lambda function ${logicalId}`);
      return found;
    },
    resolveEnvironment(logicalId, physical) {
      const { environment } = this.function(logicalId);
      return Object.fromEntries(
        Object.entries(environment).map(([name, value]) => {
          const resolved = resolveValue(value, physical);
          if (typeof resolved !== 'string') {
            throw new Error(`${logicalId}: ${name} resolves to ${JSON.stringify(resolved)}, not a string`);
          }
          return [name, resolved];
        }),
      );
    },
    resolve: resolveValue,
    restApi,
    apiRoutes,
    schedules: ofType('AWS::Events::Rule')
      .filter(([, rule]) => rule.Properties?.ScheduleExpression !== undefined)
      .map(([ruleLogicalId, rule]) => ({
        ruleLogicalId,
        scheduleExpression: String(rule.Properties?.ScheduleExpression),
        state: rule.Properties?.State as string | undefined,
        targets: ((rule.Properties?.Targets ?? []) as Record<string, unknown>[]).map((target) => ({
          functionLogicalId: functionOf(target.Arn, `${ruleLogicalId} target ${String(target.Id)}`),
          ...(target.Input === undefined ? {} : { input: JSON.parse(String(target.Input)) as unknown }),
        })),
      })),
    permissions: ofType('AWS::Lambda::Permission').map(([logicalId, permission]) => {
      const properties = permission.Properties ?? {};
      return {
        logicalId,
        functionLogicalId: functionOf(properties.FunctionName, logicalId),
        action: String(properties.Action),
        principal: String(properties.Principal),
        ...(properties.SourceArn === undefined ? {} : { sourceArn: properties.SourceArn }),
        ...(properties.SourceAccount === undefined ? {} : { sourceAccount: properties.SourceAccount }),
      };
    }),
    rotationSchedules: ofType('AWS::SecretsManager::RotationSchedule').map(([logicalId, schedule]) => {
      const properties = schedule.Properties ?? {};
      const rules = (properties.RotationRules ?? {}) as Record<string, unknown>;
      return {
        logicalId,
        secretId: properties.SecretId,
        rotationFunctionLogicalId: functionOf(properties.RotationLambdaARN, logicalId),
        scheduleExpression:
          rules.ScheduleExpression === undefined
            ? rules.AutomaticallyAfterDays === undefined
              ? undefined
              : `rate(${String(rules.AutomaticallyAfterDays)} days)`
            : String(rules.ScheduleExpression),
        rotateImmediatelyOnUpdate: properties.RotateImmediatelyOnUpdate as boolean | undefined,
      };
    }),
  };
}

function deployedFunction(logicalId: string, resource: CfnResource, outdir: string): DeployedFunction {
  const properties = resource.Properties ?? {};
  const assetPath = resource.Metadata?.['aws:asset:path'];
  if (typeof assetPath !== 'string') {
    throw new Error(
      `${logicalId} has no aws:asset:path metadata: synthesize with aws:cdk:enable-asset-metadata (as the CLI does)`,
    );
  }
  const assetDir = isAbsolute(assetPath) ? assetPath : resolve(outdir, assetPath);
  const handler = String(properties.Handler);
  const bundle = join(assetDir, `${handler.slice(0, handler.lastIndexOf('.'))}.mjs`);
  if (!existsSync(bundle)) throw new Error(`${logicalId}: no bundle at ${bundle} (was bundling skipped?)`);
  const environment = (properties.Environment as { Variables?: Record<string, unknown> } | undefined)
    ?.Variables;
  return {
    logicalId,
    handler,
    runtime: String(properties.Runtime),
    memorySize: Number(properties.MemorySize ?? 128),
    timeout: Number(properties.Timeout ?? 3),
    architectures: (properties.Architectures as string[] | undefined) ?? ['x86_64'],
    environment: environment ?? {},
    assetDir,
  };
}

/**
 * The logical id of the function a value names: `Fn::GetAtt [fn, Arn]`, `Ref fn`, or an
 * `Fn::Join` (an integration `Uri`) with exactly one of those among its parts.
 */
function functionLogicalId(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const record = value as Record<string, unknown>;
  const getAtt = record['Fn::GetAtt'];
  if (Array.isArray(getAtt) && getAtt[1] === 'Arn') return String(getAtt[0]);
  if (typeof record.Ref === 'string' && !record.Ref.startsWith('AWS::')) return record.Ref;
  const join = record['Fn::Join'];
  if (Array.isArray(join) && Array.isArray(join[1])) {
    const named = (join[1] as unknown[]).flatMap((part) => {
      const id = functionLogicalId(part);
      return id === undefined ? [] : [id];
    });
    return named.length === 1 ? named[0] : undefined;
  }
  return undefined;
}

function readRestApi(
  resources: Record<string, CfnResource>,
  functionOf: (value: unknown, where: string) => string,
): { restApi: DeployedRestApi; apiRoutes: ApiRoute[] } {
  const apis = Object.entries(resources).filter(
    ([, resource]) => resource.Type === 'AWS::ApiGateway::RestApi',
  );
  const [api, ...others] = apis;
  if (api === undefined || others.length > 0) {
    throw new Error(`expected one AWS::ApiGateway::RestApi, the template has ${apis.length}`);
  }
  const [apiId, apiResource] = api;
  const refersToApi = (value: unknown) => (value as { Ref?: unknown } | undefined)?.Ref === apiId;
  const rootId = `${apiId}.RootResourceId`;
  const isRoot = (value: unknown) => {
    const getAtt = (value as { 'Fn::GetAtt'?: unknown[] } | undefined)?.['Fn::GetAtt'];
    return Array.isArray(getAtt) && getAtt[0] === apiId && getAtt[1] === 'RootResourceId';
  };
  const paths = new Map<string, string>([[rootId, '/']]);
  const resourceIdOf = (value: unknown, where: string): string => {
    if (isRoot(value)) return rootId;
    const ref = (value as { Ref?: unknown } | undefined)?.Ref;
    if (typeof ref !== 'string' || resources[ref]?.Type !== 'AWS::ApiGateway::Resource') {
      throw new Error(
        `${where}: ${JSON.stringify(value)} is neither the API's root nor one of its resources`,
      );
    }
    return ref;
  };
  const pathOf = (logicalId: string, seen: string[] = []): string => {
    const known = paths.get(logicalId);
    if (known !== undefined) return known;
    if (seen.includes(logicalId)) throw new Error(`API resources form a loop: ${seen.join(' → ')}`);
    const properties = resources[logicalId]?.Properties ?? {};
    if (!refersToApi(properties.RestApiId)) throw new Error(`${logicalId} belongs to another REST API`);
    const part = String(properties.PathPart);
    if (!/^([^{}/]+|\{[A-Za-z0-9._-]+\+?\})$/.test(part)) {
      throw new Error(`${logicalId}: path part ${JSON.stringify(part)} is not one API Gateway accepts`);
    }
    const parent = pathOf(resourceIdOf(properties.ParentId, logicalId), [...seen, logicalId]);
    const path = `${parent === '/' ? '' : parent}/${part}`;
    paths.set(logicalId, path);
    return path;
  };
  const apiRoutes = Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::ApiGateway::Method')
    .map(([logicalId, method]): ApiRoute => {
      const properties = method.Properties ?? {};
      if (!refersToApi(properties.RestApiId)) throw new Error(`${logicalId} belongs to another REST API`);
      const integration = (properties.Integration ?? {}) as Record<string, unknown>;
      if (integration.Type !== 'AWS_PROXY') {
        throw new Error(
          `${logicalId}: integration type ${String(integration.Type)} is not emulated (only AWS_PROXY, Lambda proxy)`,
        );
      }
      const resourceLogicalId = resourceIdOf(properties.ResourceId, logicalId);
      return {
        resourcePath: pathOf(resourceLogicalId),
        resourceLogicalId,
        httpMethod: String(properties.HttpMethod),
        authorizationType: String(properties.AuthorizationType ?? 'NONE'),
        functionLogicalId: functionOf(integration.Uri, `${logicalId} integration Uri`),
      };
    });
  const stages = Object.entries(resources).filter(
    ([, resource]) =>
      resource.Type === 'AWS::ApiGateway::Stage' && refersToApi(resource.Properties?.RestApiId),
  );
  if (stages.length !== 1)
    throw new Error(`expected one stage of ${apiId}, the template has ${stages.length}`);
  const properties = apiResource.Properties ?? {};
  return {
    restApi: {
      logicalId: apiId,
      stageName: String(stages[0]?.[1].Properties?.StageName),
      binaryMediaTypes: (properties.BinaryMediaTypes as string[] | undefined) ?? [],
      policy: properties.Policy as PolicyDocument | undefined,
    },
    apiRoutes,
  };
}

/** Resolves CloudFormation intrinsics in `value`; refuses, by name, any it does not support. */
function resolveIntrinsics(
  value: unknown,
  physical: PhysicalResolver,
  pseudo: PseudoParameters,
  resources: Record<string, CfnResource>,
): unknown {
  const again = (inner: unknown) => resolveIntrinsics(inner, physical, pseudo, resources);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(again);
  const entries = Object.entries(value as Record<string, unknown>);
  const [key, argument] = entries[0] ?? [];
  const intrinsic = entries.length === 1 && key !== undefined && (key === 'Ref' || key.startsWith('Fn::'));
  if (!intrinsic) return Object.fromEntries(entries.map(([name, inner]) => [name, again(inner)]));
  switch (key) {
    case 'Ref': {
      const name = String(argument);
      const pseudoValues: Record<string, string> = {
        'AWS::Region': pseudo.region,
        'AWS::AccountId': pseudo.accountId,
        'AWS::Partition': pseudo.partition,
        'AWS::URLSuffix': pseudo.urlSuffix,
      };
      if (name.startsWith('AWS::')) {
        const known = pseudoValues[name];
        if (known === undefined) throw new Error(`pseudo parameter ${name} is not supported`);
        return known;
      }
      if (resources[name] === undefined)
        throw new Error(`Ref to ${name}, which the template does not define`);
      return physical(name);
    }
    case 'Fn::GetAtt': {
      const [logicalId, attribute] = (
        typeof argument === 'string' ? argument.split('.', 2) : (argument as unknown[])
      ) as [string, unknown];
      if (resources[logicalId] === undefined) {
        throw new Error(`Fn::GetAtt of ${logicalId}, which the template does not define`);
      }
      return physical(logicalId, String(again(attribute)));
    }
    case 'Fn::Join': {
      const [separator, parts] = argument as [string, unknown];
      const list = again(parts);
      if (!Array.isArray(list)) throw new Error(`Fn::Join of ${JSON.stringify(parts)}, not a list`);
      return list.map(String).join(separator);
    }
    case 'Fn::Select': {
      const [index, list] = argument as [unknown, unknown];
      const items = again(list);
      const position = Number(again(index));
      if (!Array.isArray(items) || !Number.isInteger(position) || position < 0 || position >= items.length) {
        throw new Error(`Fn::Select ${String(position)} of ${JSON.stringify(items)}: out of range`);
      }
      return items[position];
    }
    case 'Fn::Split': {
      const [separator, text] = argument as [string, unknown];
      return String(again(text)).split(separator);
    }
    default:
      throw new Error(
        `intrinsic ${key} is not supported (only ${SUPPORTED_INTRINSICS.join(', ')} and the pseudo parameters AWS::Region, AWS::AccountId, AWS::Partition, AWS::URLSuffix)`,
      );
  }
}
