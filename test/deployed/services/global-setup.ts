import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { writeSelfSignedCertificate } from '../../integration/services/certificates';
import { endpointsFile, type TestEndpoints } from '../../integration/services/endpoints';
import { startMinio } from '../../integration/services/minio';
import { startMoto } from '../../integration/services/moto';
import { startPostgres } from '../../integration/services/postgres';
import type { ServiceProcess } from '../../integration/services/process';
import { checkRunningNode } from '../../support/lambda-node';
import { ALL_FEATURES_CONTEXT, synthesizeDeployment } from '../support/deployed-template';
import { buildLambdaImages } from '../support/lambda-images';
import { type DeployedRun, deployedRunFile } from './deployed-run';
import { ensureDocker } from './docker';

declare global {
  var __FBB_DEPLOYED_STOP__: (() => Promise<void>)[] | undefined;
}

/**
 * The deployed suite's world: Docker (started when it is not running), the Lambda runtime image
 * (built once, then cached), moto (whose Lambda runs functions in that image, on the host
 * network), MinIO, PostgreSQL with TLS, and one synthesis of the stack with every feature on,
 * for x86_64 (`-c lambdaArchitecture=x86_64`: this host's architecture; the template differs from
 * the arm64 one in `Architectures` alone, test/infra/lambda-architecture.test.ts). Under CI a
 * missing piece fails the run naming it; nothing is skipped.
 */
export default async function globalSetup(): Promise<void> {
  checkRunningNode();
  process.env.FBB_TEST_RUN_PID = String(process.pid);
  const stops: (() => Promise<void>)[] = [];
  globalThis.__FBB_DEPLOYED_STOP__ = stops;
  const track = <T extends { process: ServiceProcess }>(service: T): T => {
    stops.push(() => service.process.stop());
    return service;
  };

  const docker = await ensureDocker();
  stops.push(() => docker.stop());
  const images = await buildLambdaImages();

  const work = mkdtempSync(join(tmpdir(), 'fbb-deployed-run-'));
  // The CA's key and, below, the synthesized assembly go with the run (the teardown runs the stops).
  stops.push(async () => rmSync(work, { recursive: true, force: true }));
  const caKey = join(work, 'fence-db.key');
  const caFile = join(work, 'fence-db.pem');
  writeSelfSignedCertificate(caKey, caFile);

  const [moto, minio, postgres] = await Promise.all([
    startMoto({
      // moto's Lambda runs functions in the project's image, on the host network (moto_server.py).
      MOTO_DOCKER_LAMBDA_IMAGE: images.runtime,
      MOTO_DOCKER_NETWORK_MODE: 'host',
    }).then(track),
    startMinio().then(track),
    startPostgres({ tls: { keyFile: caKey, certificateFile: caFile } }).then(track),
  ]);
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const endpoints: TestEndpoints = {
    aws: { emulator: 'moto', region, moto: moto.endpoint, localstack: null },
    minio: { endpoint: minio.endpoint, rootUser: minio.rootUser, rootPassword: minio.rootPassword },
    // TLS verified against the run's CA, as `fence-buckets db migrate` verifies it by default.
    postgresUrl: `${postgres.url}?sslrootcert=${caFile}`,
    // The deployed suite runs no Vault: the context names only aws_sm.
    vault: { address: '', rootToken: '' },
  };

  // Secrets the context names by ARN exist before the synth, as they would before `cdk deploy`.
  const secretsManager = new SecretsManagerClient({
    endpoint: moto.endpoint,
    region,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const minioAdmin = await secretsManager.send(
    new CreateSecretCommand({
      Name: 'gen3/fence/admin/minio/deployed',
      SecretString: JSON.stringify({
        access_key_id: minio.rootUser,
        secret_access_key: minio.rootPassword,
      }),
    }),
  );
  const database = new URL(postgres.url);
  const fenceDb = await secretsManager.send(
    new CreateSecretCommand({
      Name: 'rds!db-deployed',
      SecretString: JSON.stringify({
        engine: 'postgres',
        host: database.hostname,
        port: Number(database.port),
        username: database.username,
        password: 'unused-with-trust-auth',
        dbname: database.pathname.slice(1),
      }),
    }),
  );
  secretsManager.destroy();

  const context = {
    ...ALL_FEATURES_CONTEXT,
    minioAdminSecretArns: String(minioAdmin.ARN),
    fenceDbSecretArn: String(fenceDb.ARN),
    lambdaArchitecture: 'x86_64',
    // The run's stores (MinIO, moto's S3) listen on loopback over http, which the store-endpoint
    // policy refuses by default: the deployment allow-lists them as an on-prem store would be.
    storeEndpointAllowHttp: 'true',
    storeEndpointAllowedNetworks: '127.0.0.0/8',
  };
  const deployment = synthesizeDeployment(context, { region });
  const templateFile = join(deployment.outdir, `${deployment.stackName}.template.json`);
  stops.push(async () => rmSync(deployment.outdir, { recursive: true, force: true }));

  const run: DeployedRun = {
    images,
    synth: { outdir: deployment.outdir, stackName: deployment.stackName, templateFile },
    context,
    secrets: { minioAdminArn: String(minioAdmin.ARN), fenceDbArn: String(fenceDb.ARN) },
    fenceDbCaFile: caFile,
  };
  writeFileSync(endpointsFile(), JSON.stringify(endpoints), { mode: 0o600 });
  writeFileSync(deployedRunFile(), JSON.stringify(run), { mode: 0o600 });
}
