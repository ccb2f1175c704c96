import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CfnTemplate, type DeployedTemplate, readDeployedTemplate } from '../support/deployed-template';

/** What the deployed suite's global setup made, for the test files (beside the integration endpoints). */
export interface DeployedRun {
  /** The Lambda runtime image and the busybox image moto's Lambda needs. */
  images: { runtime: string; busybox: string };
  /** The synthesized deployment (x86_64, every feature on). */
  synth: { outdir: string; stackName: string; templateFile: string };
  /** The context it was synthesized with. */
  context: Record<string, string>;
  /** Secrets the context names, made before the synth (their ARNs carry moto's suffixes). */
  secrets: { minioAdminArn: string; fenceDbArn: string };
  /** PEM of the CA that signs the Fence DB's TLS certificate (AWS's RDS bundle stands here). */
  fenceDbCaFile: string;
}

export function deployedRunFile(parentPid = process.env.FBB_TEST_RUN_PID ?? String(process.pid)): string {
  return join(tmpdir(), `fence-bucket-broker-deployed-${parentPid}.json`);
}

export function readDeployedRun(): DeployedRun {
  return JSON.parse(readFileSync(deployedRunFile(), 'utf8')) as DeployedRun;
}

/** The run's synthesized template, read again in a test file's process. */
export function readRunTemplate(run: DeployedRun = readDeployedRun()): DeployedTemplate {
  const template = JSON.parse(readFileSync(run.synth.templateFile, 'utf8')) as CfnTemplate;
  return readDeployedTemplate(template, run.synth.outdir, run.synth.stackName);
}
