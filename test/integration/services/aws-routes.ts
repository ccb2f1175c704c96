import type { TestEndpoints } from './endpoints';

/**
 * The docblock pragmas by which a test file keeps a service on moto in the LocalStack run, each
 * with a reason; the emulator table of docs/testing.md lists every such file (aws-routes.test.ts).
 */
export const SECRETS_MANAGER_ON_MOTO = 'secrets-manager-on-moto';
export const STS_ON_MOTO = 'sts-on-moto';
const SERVICE_NAMES = { [SECRETS_MANAGER_ON_MOTO]: 'Secrets Manager', [STS_ON_MOTO]: 'STS' } as const;

/**
 * Whether a test file (by its docblock pragmas) keeps the pragma's service on moto; a pragma
 * without a reason is refused, so every exception says why.
 */
export function keepsOnMoto(
  pragma: keyof typeof SERVICE_NAMES,
  pragmas: Record<string, string | string[]>,
  testPath: string,
): boolean {
  const reason = pragmas[pragma];
  if (reason === undefined) return false;
  if (typeof reason !== 'string' || reason.trim() === '') {
    throw new Error(
      `${testPath}: @${pragma} takes one reason: why the file cannot use LocalStack's ${SERVICE_NAMES[pragma]}`,
    );
  }
  return true;
}

/**
 * The SDK's own endpoint variables for one test file. Everything the code under test calls is
 * named per service (`AWS_ENDPOINT_URL_<SERVICE>`, which the SDK, the AWS CLI and the broker's
 * hot-path client all read first), so the LocalStack run proves each client honours its own
 * variable: a client that read only `AWS_ENDPOINT_URL` would reach moto and miss what the test
 * put in LocalStack. DynamoDB always runs on moto: LocalStack's DynamoDB needs a JDK and
 * DynamoDB Local, which it would download. `AWS_ENDPOINT_URL` (moto) serves anything else.
 */
export function awsEndpointVariables(
  aws: TestEndpoints['aws'],
  options: { secretsManagerOnMoto: boolean; stsOnMoto?: boolean },
): Record<string, string> {
  const emulator = aws.emulator === 'localstack' && aws.localstack !== null ? aws.localstack : aws.moto;
  return {
    AWS_ENDPOINT_URL: aws.moto,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: options.secretsManagerOnMoto ? aws.moto : emulator,
    AWS_ENDPOINT_URL_STS: options.stsOnMoto === true ? aws.moto : emulator,
    AWS_ENDPOINT_URL_S3: emulator,
    AWS_ENDPOINT_URL_DYNAMODB: aws.moto,
  };
}
