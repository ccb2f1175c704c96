import * as path from 'node:path';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { IamRotationEnvironmentSchema } from '../../functions/rotate-iam-user-key/environment';
import { IAM_KEY_ROTATION_MATRIX } from '../iam/iam-matrix';
import { addMatrixRules, matrixStatement } from '../iam/matrix-statement';
import { BrokerFunction, reservedOrNone } from './broker-function';
import type { BucketRegistryTable } from './bucket-registry-table';
import { type StoreEndpointSettings, storeEndpointEnvironment } from './store-endpoint-settings';

export interface IamKeyRotationProps {
  /**
   * The IAM path of the users whose access keys are rotated, e.g. `/gen3-buckets/`: the role may
   * manage the keys of `user<path>*` and of no other user. Starts and ends with `/`; not `/` alone.
   */
  readonly rotatedUserPath: string;
  /** Secrets under this name prefix (and tagged for IAM rotation) may be rotated. @default 'gen3/fence/' */
  readonly secretsPrefix?: string;
  /**
   * Concurrent executions reserved for the function, so a flood of presigns cannot starve it (and
   * it cannot burst into IAM's request quota). 0: no reservation. @default 5
   */
  readonly reservedConcurrency?: number;
  /**
   * The registry: the rotation reads (Scan, read-only) the buckets whose `secret_ref` is the
   * secret, for the bucket testSecret proves the key on and their longest `max_expires_in`.
   * @default none: `defaultMaxUrlLifetime` only, and the secret's own `aws_bucket`
   */
  readonly registry?: BucketRegistryTable;
  /** The presign function's credentials cache TTL. @default Duration.seconds(300) */
  readonly readerCacheTtl?: Duration;
  /** The presign function's stale-on-error window. @default Duration.hours(1) */
  readonly readerMaxStale?: Duration;
  /** URL lifetime assumed for every secret (the registry may raise it). @default Duration.hours(1) */
  readonly defaultMaxUrlLifetime?: Duration;
  /** Added to every key's grace. @default Duration.minutes(10) */
  readonly retirementMargin?: Duration;
  /** The instruction set of the function (BrokerFunctionProps.architecture). @default arm64 */
  readonly lambdaArchitecture?: lambda.Architecture;
  /** Where testSecret's call to S3 may go (SSRF). @default https to public addresses only */
  readonly storeEndpoints?: StoreEndpointSettings;
}

/**
 * The IAM user-key rotation function that Secrets Manager invokes (issue 23). Only Secrets
 * Manager, on behalf of this account, may invoke it. Its role (`IAM_KEY_ROTATION_MATRIX`) touches
 * only secrets under the prefix tagged `fence-bucket-broker:rotation=iam-user-key` that name this
 * function as their rotation Lambda, and only the access keys (and the broker's own user tags) of
 * users under `rotatedUserPath`.
 * Rotation is turned on per secret after the deploy (`fence-buckets migrate --enable-rotation`,
 * `register --rotate`), with the function's ARN (the stack's `IamKeyRotationFunctionArn`).
 */
export class IamKeyRotation extends Construct {
  readonly function: BrokerFunction<typeof IamRotationEnvironmentSchema>;

  constructor(scope: Construct, id: string, props: IamKeyRotationProps) {
    super(scope, id);
    const prefix = props.secretsPrefix ?? 'gen3/fence/';
    const problem = rotatedUserPathProblem(props.rotatedUserPath);
    if (problem !== undefined) {
      throw new Error(
        `IamKeyRotation: rotatedUserPath ${problem}, got ${JSON.stringify(props.rotatedUserPath)}`,
      );
    }
    this.function = new BrokerFunction(this, 'Function', {
      architecture: props.lambdaArchitecture,
      entry: path.join(__dirname, '../../functions/rotate-iam-user-key/handler.ts'),
      description: 'Rotates IAM user access keys held in Secrets Manager (fence-bucket-broker)',
      environmentSchema: IamRotationEnvironmentSchema,
      environment: {
        FENCE_SECRETS_PREFIX: prefix,
        FENCE_SECRET_CACHE_TTL_SECONDS: String((props.readerCacheTtl ?? Duration.seconds(300)).toSeconds()),
        FENCE_SECRET_CACHE_MAX_STALE_SECONDS: String((props.readerMaxStale ?? Duration.hours(1)).toSeconds()),
        FENCE_DEFAULT_MAX_URL_LIFETIME_SECONDS: String(
          (props.defaultMaxUrlLifetime ?? Duration.hours(1)).toSeconds(),
        ),
        FENCE_ROTATION_MARGIN_SECONDS: String((props.retirementMargin ?? Duration.minutes(10)).toSeconds()),
        REGISTRY_TABLE_NAME: props.registry?.tableName,
        ROTATED_IAM_USER_PATH: props.rotatedUserPath,
        ...storeEndpointEnvironment(props.storeEndpoints),
      },
      // testSecret waits up to a minute for IAM to propagate the new key, within the time left.
      timeout: Duration.minutes(2),
      reservedConcurrentExecutions: reservedOrNone(props.reservedConcurrency ?? 5),
    });
    this.function.addPermission('InvokedBySecretsManager', {
      principal: new iam.ServicePrincipal('secretsmanager.amazonaws.com'),
      sourceAccount: Stack.of(this).account,
    });
    const role = this.function.role as iam.Role;
    const { rotateTaggedSecrets, ...others } = IAM_KEY_ROTATION_MATRIX.rules;
    const values = {
      prefix,
      rotationFunction: this.function.functionArn,
      rotatedUserPath: props.rotatedUserPath,
      registryTable: props.registry?.table.tableArn ?? [],
    };
    // A policy of its own, not the role's default one: its condition names the function, and the
    // function already waits for the default policy (the two would depend on each other).
    const secretsAccess = new iam.Policy(this, 'RotatedSecretsAccess', {
      roles: [role],
      statements: [matrixStatement(this, rotateTaggedSecrets, values)].filter(
        (statement): statement is iam.PolicyStatement => statement !== undefined,
      ),
    });
    Validations.of(secretsAccess).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${prefix}*]`,
      reason:
        'Rotated secrets are registered at run time under the prefix; the conditions limit them to those tagged for IAM rotation that name this function.',
    });
    addMatrixRules(role, Object.values(others), values);
    const defaultPolicy = role.node.findChild('DefaultPolicy');
    Validations.of(defaultPolicy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:user${props.rotatedUserPath}*]`,
      reason:
        'The users whose keys are rotated are created by operators under the configured path after the deploy; no other user is reachable.',
    });
    Validations.of(defaultPolicy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]',
      reason: 'Secrets may use any customer key; kms:ViaService limits use to Secrets Manager.',
    });
  }
}

/**
 * What is wrong with an IAM path given as the rotated users' path, or undefined when it is fit.
 * It ends up in the role's resource `arn:aws:iam::<account>:user<path>*`, so only IAM name
 * characters are taken: `*` and `?` are wildcards there and `${…}` a policy variable, either of
 * which would reach users outside the path. `/` alone is every user of the account, the broker's
 * operators included: not least privilege. The context key `rotatedIamUserPath` says the same.
 */
export function rotatedUserPathProblem(rotatedUserPath: string): string | undefined {
  if (rotatedUserPath === '/') {
    return 'must not be / (every IAM user of the account, operators included): give the path of the users whose keys are rotated, e.g. /gen3-buckets/';
  }
  if (rotatedUserPath.length > 512 || !/^\/([\w+=,.@-]+\/)+$/.test(rotatedUserPath)) {
    return 'must be an IAM path starting and ending with / (letters, digits and _+=,.@- between slashes, no wildcard, at most 512 characters), e.g. /gen3-buckets/';
  }
  return undefined;
}
