import { rmSync } from 'node:fs';
import { endpointsFile } from './endpoints';

export default async function globalTeardown(): Promise<void> {
  await Promise.all((globalThis.__FBB_SERVICES__ ?? []).map((service) => service.stop()));
  rmSync(endpointsFile(), { force: true });
}
