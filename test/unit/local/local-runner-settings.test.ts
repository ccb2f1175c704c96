import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LocalRunnerEnvironmentSchema,
  readLocalRunnerEnvironment,
} from '../../../functions/local/environment';
import { startLocalRunner } from '../../../functions/local/local-runner';
import { readEnvironment } from '../../../functions/shared/config/environment';
import { ConfigurationError } from '../../../functions/shared/errors';

/** Files mode without a demo store: nothing but the runner's own server starts. */
const filesMode = (settings: Record<string, string>) => ({
  FENCE_LOCAL_DIR: mkdtempSync(join(tmpdir(), 'fbb-local-settings-')),
  FENCE_DEMO_STORE: 'none',
  ...settings,
});

describe('Schema: LocalRunnerEnvironmentSchema', () => {
  it("gives the runner's defaults: port 8787, the demo store on 9000, files in .local", () => {
    // Act
    const settings = readEnvironment(LocalRunnerEnvironmentSchema, {});

    // Assess
    expect(settings).toEqual({
      PORT: 8787,
      FBB_LOCAL_HOST: '127.0.0.1',
      FENCE_LOCAL_DIR: '.local',
      FENCE_DEMO_STORE: 'auto',
      FENCE_DEMO_STORE_PORT: 9000,
    });
  });
});

describe('Function: readLocalRunnerEnvironment', () => {
  it('counts an empty variable as unset: REGISTRY_TABLE_NAME= means files mode', () => {
    // Act
    const settings = readLocalRunnerEnvironment({ REGISTRY_TABLE_NAME: '', FBB_LOCAL_HOST: '', PORT: '' });

    // Assess
    expect(settings.REGISTRY_TABLE_NAME).toBeUndefined();
    expect(settings.FBB_LOCAL_HOST).toBe('127.0.0.1');
    expect(settings.PORT).toBe(8787);
  });
});

describe('Function: startLocalRunner reads its settings with its schema', () => {
  it('listens on PORT when the caller names no port (0: a free one)', async () => {
    // Act
    const runner = await startLocalRunner({ env: filesMode({ PORT: '0' }) });

    try {
      // Assess
      const port = Number(new URL(runner.url).port);
      expect(port).toBeGreaterThan(0);
      expect(port).not.toBe(8787);
      expect((await fetch(`${runner.url}/healthz`)).status).toBe(200);
    } finally {
      await runner.close();
    }
  }, 30_000);

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['FENCE_DEMO_STORE_PORT', 'nine'],
    ['FENCE_DEMO_STORE', 'garage'],
  ])('refuses %s=%s before starting anything, naming the variable', async (name, value) => {
    // Act
    const started = startLocalRunner({ env: filesMode({ [name]: value }) });

    // Assess
    await expect(started).rejects.toThrow(ConfigurationError);
    await expect(started).rejects.toThrow(new RegExp(`invalid environment: ${name} `));
  });
});
