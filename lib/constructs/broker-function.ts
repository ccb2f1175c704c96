import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type * as z from 'zod/mini';
import { readEnvironment } from '../../functions/shared/config/environment';
import { BROKER_FUNCTION_MATRIX, VPC_NETWORK_MATRIX } from '../iam/iam-matrix';
import { addMatrixRules } from '../iam/matrix-statement';

/** Every broker function's metrics go to this CloudWatch namespace, with this `service` dimension. */
export const BROKER_METRICS = { namespace: 'FenceBucketBroker', service: 'fence-bucket-broker' } as const;

/**
 * Where the Lambda runtime keeps the Amazon RDS certificate authorities, which Node.js 20 and
 * later do not load by themselves: every function that connects to Fence DB (TLS verified) gets
 * it as NODE_EXTRA_CA_CERTS.
 */
export const RDS_CA_BUNDLE = '/var/runtime/ca-cert.pem';

/** The Lambda runtime of every broker function (nodejs20.x is deprecated). */
export const BROKER_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * How every function is bundled. Exported so the cold-start benchmark builds exactly what
 * `cdk synth` deploys.
 */
export const BUNDLE_SETTINGS = {
  target: 'node22',
  minify: true,
  mainFields: ['module', 'main'],
  // CommonJS dependencies (minio, pg) still call require() inside the ESM bundle.
  banner:
    "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
} as const;

/** The environment a function's zod schema accepts: the same object types the runtime parses. */
export type FunctionEnvironment<S extends z.ZodMiniType> = z.input<S> & Record<string, string | undefined>;

export interface BrokerFunctionProps<S extends z.ZodMiniType> {
  /** Path to the function's `handler.ts`, which exports `handler`. */
  readonly entry: string;
  /**
   * The function's environment schema, shared with its runtime. It types `environment`, so a
   * variable the runtime needs cannot be left out, and checks its values at synth.
   */
  readonly environmentSchema: S;
  /** The function's environment, typed by `environmentSchema`. */
  readonly environment: FunctionEnvironment<S>;
  readonly description: string;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** @default logs.RetentionDays.ONE_YEAR (audit lines live here) */
  readonly logRetention?: logs.RetentionDays;
  /** @default RemovalPolicy.RETAIN, so audit logs outlive the stack */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Optional VPC placement (for MinIO or registries on private networks). @default no VPC */
  readonly vpc?: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
  /** @default no reserved concurrency (0 would stop the function: see `reservedOrNone`) */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Modules left out of the bundle and taken from the Lambda runtime's own AWS SDK v3 when the
   * code first imports them. For SDK clients a function needs only off its hot path: they then
   * cost no bundle size and no start-up time. @default none: everything is bundled
   */
  readonly runtimeProvidedModules?: string[];
  /**
   * Files copied into the bundle next to the handler (`/var/task/<name>`): name in the bundle →
   * path at synth. For configuration the code reads as a file, never for secrets. @default none
   */
  readonly bundledFiles?: Record<string, string>;
  /**
   * The instruction set the function runs on. Only tests change it (an x86_64 host runs the
   * deployed bundles in x86_64 Lambda containers); the bundles do not depend on it.
   * @default lambda.Architecture.ARM_64
   */
  readonly architecture?: lambda.Architecture;
}

/**
 * The base of every broker Lambda: current Node.js runtime on arm64 (by default), esbuild bundling (never
 * Docker) to a minified ESM bundle with source maps, X-Ray tracing, and an explicit log group
 * with retention. Functions differ only in entry, environment and sizing.
 */
export class BrokerFunction<S extends z.ZodMiniType> extends NodejsFunction {
  /** The schema the function's runtime reads its environment with (the generated reference lists it). */
  readonly environmentSchema: S;

  constructor(scope: Construct, id: string, props: BrokerFunctionProps<S>) {
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    // Our own role rather than AWSLambdaBasicExecutionRole: it may write to this log group only.
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id}`,
    });
    addMatrixRules(role, [BROKER_FUNCTION_MATRIX.rules.writeOwnLogs], { logGroup: logGroup.logGroupArn });
    const environment = Object.fromEntries(
      Object.entries(props.environment).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    // The runtime's own check, at synth: a value its cold start would refuse never deploys.
    try {
      readEnvironment(props.environmentSchema, environment);
    } catch (error) {
      throw new Error(`${id}: ${(error as Error).message}`, { cause: error });
    }
    const bundledFiles = Object.entries(props.bundledFiles ?? {});
    super(scope, id, {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: BROKER_RUNTIME,
      architecture: props.architecture ?? lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      role,
      loggingFormat: lambda.LoggingFormat.JSON,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: props.securityGroups,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        ...environment,
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: BROKER_METRICS.service,
        POWERTOOLS_METRICS_NAMESPACE: BROKER_METRICS.namespace,
      },
      bundling: {
        forceDockerBundling: false,
        minify: BUNDLE_SETTINGS.minify,
        sourceMap: true,
        sourcesContent: false,
        target: BUNDLE_SETTINGS.target,
        format: OutputFormat.ESM,
        mainFields: [...BUNDLE_SETTINGS.mainFields],
        // The SDK is bundled (pinned versions) except what the function only loads lazily.
        externalModules: props.runtimeProvidedModules ?? [],
        banner: BUNDLE_SETTINGS.banner,
        ...(bundledFiles.length === 0
          ? {}
          : {
              commandHooks: {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (_input: string, outputDir: string) =>
                  bundledFiles.map(
                    ([name, source]) => `cp ${shellQuoted(source)} ${shellQuoted(`${outputDir}/${name}`)}`,
                  ),
              },
            }),
      },
    });
    this.environmentSchema = props.environmentSchema;
    if (props.vpc !== undefined) {
      // Our role, so CDK adds no AWSLambdaVPCAccessExecutionRole: the ENI rules come from the matrix.
      const stack = Stack.of(this);
      addMatrixRules(role, Object.values(VPC_NETWORK_MATRIX.rules), {
        subnets: props.vpc
          .selectSubnets(props.vpcSubnets)
          .subnetIds.map((id) => stack.formatArn({ service: 'ec2', resource: 'subnet', resourceName: id })),
        securityGroups: this.connections.securityGroups.map((group) =>
          stack.formatArn({
            service: 'ec2',
            resource: 'security-group',
            resourceName: group.securityGroupId,
          }),
        ),
      });
    }
    const policy = role.node.tryFindChild('DefaultPolicy');
    if (policy !== undefined) {
      Validations.of(policy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          props.vpc === undefined
            ? 'Active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which have no resource-level permissions.'
            : 'Active tracing (xray:PutTraceSegments, xray:PutTelemetryRecords) and, in a VPC, ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets have no resource-level permissions.',
      });
      if (props.vpc !== undefined) {
        Validations.of(policy).acknowledge({
          id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/*]',
          reason:
            'Lambda names the network interfaces it creates in the function’s subnets; their ids are not known at synth. Creating one is limited to the function’s subnets and security groups.',
        });
      }
    }
  }
}

/** A word for the bundling shell, whatever characters the path holds. */
function shellQuoted(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * A reserved-concurrency setting as Lambda takes it: 0 means "no reservation" in this project's
 * props and context, while Lambda reads a reservation of 0 as "never run".
 */
export function reservedOrNone(reserved: number): number | undefined {
  return reserved === 0 ? undefined : reserved;
}
