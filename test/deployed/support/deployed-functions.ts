import { randomUUID } from 'node:crypto';
import type { DeployedRun } from '../services/deployed-run';
import type { DeployedFunction, DeployedSchedule, DeployedTemplate } from './deployed-template';
import { type FunctionContainer, startFunctionContainer } from './lambda-container';

/**
 * Where the Lambda runtime ships Amazon's CA bundle (RDS's certificate authorities among them);
 * the sync function's template points `NODE_EXTRA_CA_CERTS` at it, since Node.js 20 and later
 * runtimes no longer load it by themselves.
 */
export const RUNTIME_CA_BUNDLE = '/var/runtime/ca-cert.pem';

/**
 * What a function's logs must never show once its bundle has booted: a module missing at run
 * time, a configuration error, or any failed init as the runtime and the RIE report it (by the
 * error's name, its message `invalid environment: …`, and the RIE's `INIT RTDONE(status: error)`).
 */
export const INIT_FAILURES =
  /Runtime\.ImportModuleError|ERR_MODULE_NOT_FOUND|ConfigurationError|invalid environment:|\tInit Error\b|INIT RTDONE\(status: error\)/;

/**
 * Starts one function of the run's template in its container as Lambda runs it: its asset
 * directory (or `assetDir`, a copy made by a negative control), handler, memory and timeout from
 * the template, the environment given (normally `deployment.environment(logicalId)`).
 *
 * The run's Fence DB CA is mounted read-only at /var/runtime/ca-cert.pem in every container: it
 * stands for the bundle AWS's runtime ships at that path (which holds the RDS CAs that sign a
 * real Fence DB's certificate). Only a function whose environment names that file in
 * `NODE_EXTRA_CA_CERTS` trusts it, exactly as on AWS; the image itself has no such file.
 */
export function startDeployedFunction(
  run: DeployedRun,
  fn: DeployedFunction,
  environment: Record<string, string>,
  options: { assetDir?: string; name?: string } = {},
): Promise<FunctionContainer> {
  return startFunctionContainer({
    image: run.images.runtime,
    assetDir: options.assetDir ?? fn.assetDir,
    handler: fn.handler,
    environment,
    memoryMb: fn.memorySize,
    timeoutSeconds: fn.timeout,
    name: options.name ?? fn.logicalId,
    mounts: [{ source: run.fenceDbCaFile, target: RUNTIME_CA_BUNDLE }],
  });
}

/**
 * A REST API (v1) Lambda proxy event as API Gateway sends it for an IAM-authorized call (the
 * functions route by `path`; `resource` and `pathParameters` default to a greedy proxy).
 */
export function apiGatewayProxyEvent(
  httpMethod: string,
  path: string,
  options: {
    callerArn?: string;
    body?: unknown;
    resource?: string;
    pathParameters?: Record<string, string>;
  } = {},
) {
  const resource = options.resource ?? '/{proxy+}';
  return {
    resource,
    path,
    httpMethod,
    headers: { 'content-type': 'application/json' },
    multiValueHeaders: { 'content-type': ['application/json'] },
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: options.pathParameters ?? { proxy: path.slice(1) },
    stageVariables: null,
    requestContext: {
      resourcePath: resource,
      httpMethod,
      path: `/prod${path}`,
      stage: 'prod',
      requestId: `deployed-test-${randomUUID()}`,
      apiId: 'deployedapi',
      identity: {
        // What IAM authorization fills in (the admin handler refuses events without it).
        accessKey: 'deployed-test-access-key',
        caller: 'AROADEPLOYEDCALLER:session',
        userArn: options.callerArn ?? 'arn:aws:sts::123456789012:assumed-role/fence/fence',
      },
    },
    body: JSON.stringify(options.body ?? {}),
    isBase64Encoded: false,
  };
}

/** One step of a Secrets Manager rotation, as Secrets Manager invokes the rotation function. */
export function rotationEvent(secretId: string, step = 'createSecret') {
  return { SecretId: secretId, ClientRequestToken: randomUUID(), Step: step };
}

/**
 * What EventBridge sends a rule's Lambda target when the schedule fires: the target's constant
 * `Input` when the template sets one, otherwise the "Scheduled Event" (AWS Lambda developer
 * guide, "Invoking a Lambda function on a schedule": version 0, detail-type "Scheduled Event",
 * source aws.events, the rule's ARN in `resources`, an empty `detail`).
 */
export function scheduledInvocation(
  template: DeployedTemplate,
  schedule: DeployedSchedule,
  target: DeployedSchedule['targets'][number],
  ruleName: string,
  time: Date = new Date(),
): unknown {
  if (target.input !== undefined) return target.input;
  const { region, accountId, partition } = template.pseudoParameters;
  const name =
    (template.template.Resources[schedule.ruleLogicalId]?.Properties?.Name as string | undefined) ?? ruleName;
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: accountId,
    // EventBridge stamps the time to the second.
    time: `${time.toISOString().slice(0, 19)}Z`,
    region,
    resources: [`arn:${partition}:events:${region}:${accountId}:rule/${name}`],
    detail: {},
  };
}
