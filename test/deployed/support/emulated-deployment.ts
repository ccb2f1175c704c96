import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateFunctionCommand, DeleteFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { DeployedTemplate, PhysicalResolver } from './deployed-template';

/** Where the emulators of this run listen, and the region and dummy credentials every call uses. */
export interface EmulatorEndpoints {
  /** moto: every AWS API the functions call. */
  aws: string;
  region: string;
}

/** Credentials the functions get in their containers: moto accepts any, and nothing real is there. */
export const FUNCTION_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: 'fbb-deployed-function-key',
  AWS_SECRET_ACCESS_KEY: 'deployed-function-test-secret-key-00000000',
  AWS_SESSION_TOKEN: 'deployed-function-test-session-token',
} as const;

/**
 * The template's resources that the functions need, created on the emulators as CloudFormation
 * would create them: the registry table (its key schema and indexes from the template), the
 * report bucket, the functions' roles, and the functions moto's Lambda runs. Names are unique per
 * deployment, so test files never share a table.
 */
export interface EmulatedDeployment {
  readonly template: DeployedTemplate;
  /** `Ref` / `Fn::GetAtt` of a deployed resource, as CloudFormation would answer them. */
  readonly physical: PhysicalResolver;
  /**
   * A function's environment as the template sets it, resolved against this deployment, plus
   * the emulator's endpoint, region and dummy credentials (and `extra`, e.g. a test clock).
   */
  environment(functionLogicalId: string, extra?: Record<string, string>): Record<string, string>;
  /** The ARN of a function created in moto's Lambda (see `lambdaFunctions`). */
  functionArn(functionLogicalId: string): string;
  destroy(): Promise<void>;
}

export interface DeployOptions {
  /** Short and unique: a prefix of every physical name. */
  id: string;
  /** Logical ids of the functions to create in moto's Lambda (for Secrets Manager and EventBridge to invoke). */
  lambdaFunctions?: readonly string[];
  /** Variables added to every function created in moto's Lambda (e.g. a test clock). */
  lambdaExtraEnvironment?: Record<string, string>;
}

const clientConfig = (endpoints: EmulatorEndpoints) => ({
  endpoint: endpoints.aws,
  region: endpoints.region,
  credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
});

export async function deployToEmulators(
  template: DeployedTemplate,
  endpoints: EmulatorEndpoints,
  options: DeployOptions,
): Promise<EmulatedDeployment> {
  const { accountId, region, partition } = template.pseudoParameters;
  const resources = template.template.Resources;
  const names = new Map<string, string>();
  const nameOf = (logicalId: string, kind: 'table' | 'bucket' | 'role' | 'function'): string => {
    let name = names.get(logicalId);
    if (name === undefined) {
      const base = `${options.id}-${logicalId}`;
      // Bucket names are lowercase and at most 63 characters; the others allow more.
      name = kind === 'bucket' ? base.toLowerCase().slice(0, 63) : base.slice(0, 64);
      names.set(logicalId, name);
    }
    return name;
  };
  const physical: PhysicalResolver = (logicalId, attribute) => {
    const resource = resources[logicalId];
    if (resource === undefined) throw new Error(`the template has no resource ${logicalId}`);
    switch (resource.Type) {
      case 'AWS::DynamoDB::Table': {
        const name = nameOf(logicalId, 'table');
        if (attribute === undefined) return name;
        if (attribute === 'Arn') return `arn:${partition}:dynamodb:${region}:${accountId}:table/${name}`;
        break;
      }
      case 'AWS::S3::Bucket': {
        const name = nameOf(logicalId, 'bucket');
        if (attribute === undefined) return name;
        if (attribute === 'Arn') return `arn:${partition}:s3:::${name}`;
        break;
      }
      case 'AWS::IAM::Role': {
        const name = nameOf(logicalId, 'role');
        if (attribute === undefined) return name;
        if (attribute === 'Arn') return `arn:${partition}:iam::${accountId}:role/${name}`;
        break;
      }
      case 'AWS::Lambda::Function': {
        const name = nameOf(logicalId, 'function');
        if (attribute === undefined) return name;
        if (attribute === 'Arn') return `arn:${partition}:lambda:${region}:${accountId}:function:${name}`;
        break;
      }
    }
    throw new Error(
      `the emulated deployment does not create ${resource.Type} ${logicalId}${attribute ? `.${attribute}` : ''}`,
    );
  };

  const dynamodb = new DynamoDBClient(clientConfig(endpoints));
  const s3 = new S3Client({ ...clientConfig(endpoints), forcePathStyle: true });
  const iam = new IAMClient(clientConfig(endpoints));
  const lambda = new LambdaClient(clientConfig(endpoints));
  const created: (() => Promise<unknown>)[] = [];

  for (const [logicalId, resource] of Object.entries(resources)) {
    const properties = (resource.Properties ?? {}) as Record<string, unknown>;
    if (resource.Type === 'AWS::DynamoDB::Table') {
      const TableName = physical(logicalId);
      await dynamodb.send(
        new CreateTableCommand({
          TableName,
          KeySchema: properties.KeySchema as KeySchemaElement[],
          AttributeDefinitions: properties.AttributeDefinitions as AttributeDefinition[],
          BillingMode: 'PAY_PER_REQUEST',
          ...(properties.GlobalSecondaryIndexes === undefined
            ? {}
            : { GlobalSecondaryIndexes: properties.GlobalSecondaryIndexes as GlobalSecondaryIndex[] }),
        }),
      );
      created.push(() => dynamodb.send(new DeleteTableCommand({ TableName })));
    } else if (resource.Type === 'AWS::S3::Bucket') {
      await s3.send(new CreateBucketCommand({ Bucket: physical(logicalId) }));
    }
  }

  const environment = (functionLogicalId: string, extra: Record<string, string> = {}) => ({
    ...template.resolveEnvironment(functionLogicalId, physical),
    // Every AWS endpoint the function may use is the emulator: none may reach AWS's host names.
    AWS_ENDPOINT_URL: endpoints.aws,
    AWS_REGION: endpoints.region,
    AWS_DEFAULT_REGION: endpoints.region,
    ...FUNCTION_CREDENTIALS,
    ...extra,
  });

  for (const logicalId of options.lambdaFunctions ?? []) {
    const fn = template.function(logicalId);
    const role = (resources[logicalId]?.Properties as { Role?: unknown } | undefined)?.Role;
    const roleLogicalId = (role as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt']?.[0];
    if (roleLogicalId === undefined) throw new Error(`${logicalId} has no role of the template`);
    const roleProperties = resources[roleLogicalId]?.Properties as { AssumeRolePolicyDocument?: unknown };
    await iam.send(
      new CreateRoleCommand({
        RoleName: physical(roleLogicalId),
        AssumeRolePolicyDocument: JSON.stringify(roleProperties.AssumeRolePolicyDocument),
      }),
    );
    const FunctionName = physical(logicalId);
    // moto's Lambda gets the environment at creation, as CloudFormation sets it; moto itself
    // then points AWS_ENDPOINT_URL at its own address (MOTO_PORT, moto_server.py).
    const { AWS_ENDPOINT_URL: _moto, ...variables } = environment(logicalId, options.lambdaExtraEnvironment);
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName,
        Runtime: fn.runtime as never,
        Handler: fn.handler,
        Role: physical(roleLogicalId, 'Arn'),
        MemorySize: fn.memorySize,
        Timeout: fn.timeout,
        Architectures: fn.architectures as never,
        Environment: { Variables: variables },
        Code: { ZipFile: zipDirectory(fn.assetDir) },
      }),
    );
    created.push(() => lambda.send(new DeleteFunctionCommand({ FunctionName })));
  }

  return {
    template,
    physical,
    environment,
    functionArn: (logicalId) => physical(logicalId, 'Arn'),
    async destroy() {
      await Promise.allSettled(created.reverse().map((remove) => remove()));
      for (const client of [dynamodb, s3, iam, lambda]) client.destroy();
    },
  };
}

/** A bundle directory as the zip CloudFormation uploads: its files at the archive's root. */
export function zipDirectory(dir: string): Uint8Array {
  const work = mkdtempSync(join(tmpdir(), 'fbb-zip-'));
  try {
    const archive = join(work, 'code.zip');
    // Python's zipfile is on every machine the suite runs on (moto needs Python too).
    execFileSync(process.env.PYTHON ?? 'python3', ['-m', 'zipfile', '-c', archive, ...readdirSync(dir)], {
      cwd: dir,
    });
    return new Uint8Array(readFileSync(archive));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
