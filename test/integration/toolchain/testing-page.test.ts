import { docBlock } from '../support/doc-block';
import { runReadmeBash } from '../support/readme';

const SECTION = '### Which Node.js the tests run on';

/** A shell as an operator's: the project's toolchain not yet on PATH. */
function operatorShell(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.FBB_NODE_TOOLCHAIN_BIN;
  delete env.CI;
  return env;
}

describe("Docs: docs/testing.md's toolchain commands, run as shown", () => {
  it('installs or checks the pinned Nodes with `npm run node:install`', async () => {
    // Act
    const ran = await runReadmeBash(docBlock('docs/testing.md', SECTION, 'bash', 0), operatorShell());

    // Assess
    expect(ran.code).toBe(0);
    expect(`${ran.stdout}${ran.stderr}`).toMatch(/Node 24: .*\(v24\./);
  }, 180_000);

  it('runs jest on Node 24 through `scripts/node-toolchain.sh exec`', async () => {
    // Act
    const ran = await runReadmeBash(docBlock('docs/testing.md', SECTION, 'bash', 1), operatorShell());

    // Assess
    expect({ code: ran.code, tail: ran.code === 0 ? '' : ran.stderr.slice(-4000) }).toEqual({
      code: 0,
      tail: '',
    });
    expect(ran.stderr).toMatch(/Tests:\s+\d+ passed/);
  }, 180_000);

  it('puts Node 24 first on PATH when sourced, as the comment says', async () => {
    // Act
    const ran = await runReadmeBash(docBlock('docs/testing.md', SECTION, 'bash', 2), operatorShell());

    // Assess
    expect(ran.code).toBe(0);
    expect(ran.stdout.trim()).toMatch(/^v24\./);
  }, 180_000);
});
