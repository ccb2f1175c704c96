import * as path from 'node:path';
import { Arn, ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { PresignEnvironmentSchema } from '../../functions/presign/environment';
import { PRESIGN_ROUTES } from '../../functions/presign/presign-api';
import { BrokerFunction } from './broker-function';
import type { BucketRegistryTable } from './bucket-registry-table';

export interface PresignApiProps {
  readonly registry: BucketRegistryTable;
  /** IAM principals (Fence's IRSA role) allowed to call the API; nobody else can. */
  readonly invokerPrincipalArns: string[];
  /** Secret names under this prefix are readable by the runtime role. @default 'gen3/fence/' */
  readonly secretsPrefix?: string;
  /** Role ARNs that role-mode buckets name; the runtime role may assume only these. @default none */
  readonly assumableRoleArns?: string[];
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
 * named principals. The runtime role reads secrets under the prefix and the registry, and is
 * explicitly denied every secret write.
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
    const stack = Stack.of(this);
    const prefix = props.secretsPrefix ?? 'gen3/fence/';
    this.function = new BrokerFunction(this, 'Function', {
      entry: path.join(__dirname, '../../functions/presign/handler.ts'),
      description: 'Presigns URLs for registered buckets (fence-bucket-broker)',
      environmentSchema: PresignEnvironmentSchema,
      environment: {
        REGISTRY_TABLE_NAME: props.registry.tableName,
        FENCE_SECRETS_BACKEND: 'aws_sm',
        FENCE_SECRETS_PREFIX: prefix,
      },
      runtimeProvidedModules: PRESIGN_RUNTIME_PROVIDED_MODULES,
    });
    const role = this.function.role as iam.Role;
    props.registry.grantLookup(role);
    const secretArns = stack.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${prefix}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secretArns] }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [Arn.format({ service: 'kms', resource: 'key', resourceName: '*' }, stack)],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com` } },
      }),
    );
    if (props.assumableRoleArns !== undefined && props.assumableRoleArns.length > 0) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: props.assumableRoleArns }),
      );
    }
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        effect: iam.Effect.DENY,
        actions: [
          'secretsmanager:CreateSecret',
          'secretsmanager:PutSecretValue',
          'secretsmanager:UpdateSecret',
          'secretsmanager:UpdateSecretVersionStage',
          'secretsmanager:DeleteSecret',
          'secretsmanager:TagResource',
          'secretsmanager:RotateSecret',
        ],
        resources: ['*'],
      }),
    );

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: logs.RetentionDays.ONE_YEAR });
    this.api = new apigw.RestApi(this, 'Api', {
      description: 'fence-bucket-broker presign API (IAM auth)',
      cloudWatchRole: true,
      // Bodies reach the handler as the bytes sent (base64), so it can refuse invalid UTF-8.
      binaryMediaTypes: ['*/*'],
      deployOptions: {
        stageName: 'prod',
        tracingEnabled: true,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
      },
      defaultMethodOptions: { authorizationType: apigw.AuthorizationType.IAM },
      policy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            actions: ['execute-api:Invoke'],
            principals: props.invokerPrincipalArns.map((arn) => new iam.ArnPrincipal(arn)),
            resources: ['execute-api:/*'],
          }),
        ],
      }),
    });
    const validator = this.api.addRequestValidator('BodyValidator', {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const integration = new apigw.LambdaIntegration(this.function);
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
