import { rmSync } from 'node:fs';
import { endpointsFile } from '../../integration/services/endpoints';
import { deployedRunFile } from './deployed-run';

export default async function globalTeardown(): Promise<void> {
  // Services first (moto's containers are gone with it), Docker last if the run started it.
  for (const stop of (globalThis.__FBB_DEPLOYED_STOP__ ?? []).reverse()) await stop();
  rmSync(endpointsFile(), { force: true });
  rmSync(deployedRunFile(), { force: true });
}
