import * as path from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { PRESIGN_FUNCTION_TIMEOUT_SECONDS } from '../../functions/presign/budgets';
import { PresignEnvironmentSchema } from '../../functions/presign/environment';
import { PRESIGN_ROUTES } from '../../functions/presign/presign-api';
import { API_ROUTE_ACCESS, PRESIGN_RUNTIME_MATRIX } from '../iam/iam-matrix';
import { addMatrixRules } from '../iam/matrix-statement';
import { routeAccessStatements } from '../iam/route-access';
import { BrokerFunction, reservedOrNone } from './broker-function';
import type { BucketRegistryTable } from './bucket-registry-table';
import type { LambdaSecretsAccess } from './lambda-secrets-access';
import { type StoreEndpointSettings, storeEndpointEnvironment } from './store-endpoint-settings';

export interface PresignApiProps {
  readonly registry: BucketRegistryTable;
  /**
   * IAM principals (Fence's IRSA role) allowed to call the presign routes; every other principal is
   * explicitly denied by the API's resource policy.
   */
  readonly invokerPrincipalArns: string[];
  /** Secret names under this prefix are readable by the runtime role. @default 'gen3/fence/' */
  readonly secretsPrefix?: string;
  /** Secrets backends and Google identity of the function. @default aws_sm only */
  readonly secretsAccess?: LambdaSecretsAccess;
  /** Role ARNs that role-mode buckets name; the runtime role may assume only these. @default none */
  readonly assumableRoleArns?: string[];
  /** Steady-state requests per second the stage admits (all methods). @default 500 */
  readonly throttlingRateLimit?: number;
  /** Requests the stage admits in a burst above the rate. @default 1000 */
  readonly throttlingBurstLimit?: number;
  /**
   * Concurrent executions reserved for the presign function: its guaranteed share, and its cap,
   * so a flood of presigns cannot take the account's whole pool (rotation and the rest keep
   * theirs). 0: no reservation. @default 100
   */
  readonly reservedConcurrency?: number;
  /**
   * The deployment's cap on any bucket's URL lifetime (`max_expires_in`), at most 7 days.
   * @default Duration.hours(1)
   */
  readonly maxUrlLifetime?: Duration;
  /** The instruction set of the function (BrokerFunctionProps.architecture). @default arm64 */
  readonly lambdaArchitecture?: lambda.Architecture;
  /** Where the function's own calls to stores may go (SSRF). @default https to public addresses only */
  readonly storeEndpoints?: StoreEndpointSettings;
}

/**
 * SDK clients the presign function imports only off its hot path (role mode, admin calls, a
 * credential chain outside Lambda); Node.js runtimes ship them. The hot path's two reads go
 * through the bundled JSON client, so a static-mode cold start loads no SDK client at all.
 */
export const PRESIGN_RUNTIME_PROVIDED_MODULES = [
  '@aws-sdk/client-dynamodb',
  '@aws-sdk/lib-dynamodb',
  '@aws-sdk/client-secrets-manager',
  '@aws-sdk/client-sts',
  '@aws-sdk/credential-provider-node',
];

/**
 * The presign Lambda behind an IAM-authorized REST API whose resource policy admits only the
 * named principals. The runtime role is built from `PRESIGN_RUNTIME_MATRIX`: it reads secrets
 * under the prefix and the registry, and is explicitly denied every secret write and the admin
 * secrets.
 */
export class PresignApi extends Construct {
  readonly function: BrokerFunction<typeof PresignEnvironmentSchema>;
  readonly api: apigw.RestApi;

  constructor(scope: Construct, id: string, props: PresignApiProps) {
    super(scope, id);
    if (props.invokerPrincipalArns.length === 0) {
      throw new Error(
        'PresignApi needs at least one invoker principal (Fence role ARN); pass -c fenceRoleArns=...',
      );
    }
    const prefix = props.secretsPrefix ?? 'gen3/fence/';
    this.function = new BrokerFunction(this, 'Function', {
      architecture: props.lambdaArchitecture,
      entry: path.join(__dirname, '../../functions/presign/handler.ts'),
      description: 'Presigns URLs for registered buckets (fence-bucket-broker)',
      environmentSchema: PresignEnvironmentSchema,
      environment: {
        REGISTRY_TABLE_NAME: props.registry.tableName,
        FENCE_SECRETS_BACKEND: 'aws_sm',
        ...props.secretsAccess?.environment,
        // Its own Vault role and Google service account: no other function shares them.
        ...props.secretsAccess?.identities.presign,
        GCP_REQUESTER_PAYS_PROJECT: props.secretsAccess?.gcpRequesterPaysProject,
        FENCE_SECRETS_PREFIX: prefix,
        ...storeEndpointEnvironment(props.storeEndpoints),
        MAX_URL_LIFETIME_SECONDS: String((props.maxUrlLifetime ?? Duration.hours(1)).toSeconds()),
      },
      bundledFiles: props.secretsAccess?.bundledFiles,
      runtimeProvidedModules: PRESIGN_RUNTIME_PROVIDED_MODULES,
      // The time budgets of every outbound call are held inside this (functions/presign/budgets.ts).
      timeout: Duration.seconds(PRESIGN_FUNCTION_TIMEOUT_SECONDS),
      reservedConcurrentExecutions: reservedOrNone(props.reservedConcurrency ?? 100),
    });
    const role = this.function.role as iam.Role;
    addMatrixRules(role, Object.values(PRESIGN_RUNTIME_MATRIX.rules), {
      prefix,
      registryTable: props.registry.table.tableArn,
      assumableRoles: props.assumableRoleArns ?? [],
    });

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: logs.RetentionDays.ONE_YEAR });
    this.api = new apigw.RestApi(this, 'Api', {
      description: 'fence-bucket-broker presign API (IAM auth)',
      cloudWatchRole: true,
      // Bodies reach the handler as the bytes sent (base64), so it can refuse invalid UTF-8.
      binaryMediaTypes: ['*/*'],
      deployOptions: {
        stageName: 'prod',
        tracingEnabled: true,
        // Sized for Fence: one call per presigned URL (or one per batch of up to 1,000).
        throttlingRateLimit: props.throttlingRateLimit ?? 500,
        throttlingBurstLimit: props.throttlingBurstLimit ?? 1000,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
      },
      // Fence calls from the same region (EKS); a regional endpoint also takes the strictest TLS policy.
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      defaultMethodOptions: { authorizationType: apigw.AuthorizationType.IAM },
      policy: new iam.PolicyDocument({
        statements: routeAccessStatements(API_ROUTE_ACCESS.presign.resourcePath, props.invokerPrincipalArns),
      }),
    });
    // The strictest policy API Gateway offers regional REST APIs (its "Supported security
    // policies" table): TLS 1.3 only, AES-GCM and ChaCha20-Poly1305 suites. Regional APIs default
    // to TLS_1_0. Callers need TLS 1.3: OpenSSL >= 1.1.1, which Python's ssl (requests, botocore)
    // has used for years.
    // Enhanced (SecurityPolicy_*) policies require an endpoint access mode; STRICT also refuses
    // requests whose SNI host or endpoint type does not match this API.
    const cfnApi = this.api.node.defaultChild as apigw.CfnRestApi;
    cfnApi.securityPolicy = apigw.SecurityPolicy.TLS13_1_3_2025_09;
    cfnApi.endpointAccessMode = apigw.EndpointAccessMode.STRICT;
    const validator = this.api.addRequestValidator('BodyValidator', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    // No test invocation: TestInvokeMethod skips the method's authorization, so CDK's extra
    // permission for the `test-invoke-stage` would let anyone with apigateway:POST on the API
    // reach the function. Permissions stay scoped per method and to the deployed stage (with
    // scopePermissionToMethod false, CDK's one permission covers every stage, test-invoke-stage
    // included, and ignores allowTestInvoke).
    const integration = new apigw.LambdaIntegration(this.function, { allowTestInvoke: false });
    const bucket = this.api.root.addResource('v1').addResource('buckets').addResource('{bucket}');
    for (const route of PRESIGN_ROUTES) {
      let resource: apigw.IResource = bucket;
      for (const part of route.split('/'))
        resource = resource.getResource(part) ?? resource.addResource(part);
      resource.addMethod('POST', integration, {
        requestValidator: validator,
        requestParameters: { 'method.request.path.bucket': true },
      });
    }

    Validations.of(role.node.findChild('DefaultPolicy')).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]',
      reason:
        'Secrets may use any customer key; kms:ViaService limits Decrypt to calls made through Secrets Manager.',
    });
    Validations.of(role.node.findChild('DefaultPolicy')).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${prefix}*]`,
      reason: 'GetSecretValue on the broker prefix only: bucket secrets are registered at run time.',
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason: 'IAM-authorized API whose resource policy admits only Fence; operators may add WAF in front.',
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-COG4',
      reason: 'Callers are AWS principals (Fence IRSA role) authorized by SigV4/IAM, not Cognito users.',
    });
    const cloudWatchRole = this.api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole !== undefined) {
      Validations.of(cloudWatchRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: 'API Gateway execution logging needs this AWS service-role policy on the account-level role.',
      });
    }
  }

  get url(): string {
    return this.api.url;
  }
}
