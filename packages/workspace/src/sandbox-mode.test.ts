import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The mode is detected once per process, so each case runs a fresh Node as an unprivileged user
// against the built package (`tsc -b` runs before the tests).
const built = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const asRoot = process.getuid?.() === 0;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mvp-sandbox-mode-'));
  await import('node:fs/promises').then((fs) => fs.chmod(dir, 0o777));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function runAsNobody(mode: string | undefined) {
  const script =
    `import { runCommand } from ${JSON.stringify(built)};` +
    `try { const r = await runCommand({ argv: ['node', '-e', 'console.log(process.getuid())'], cwd: ${JSON.stringify(dir)}, timeoutMs: 20000 });` +
    ` console.log('RAN ' + r.output.trim()); } catch (e) { console.log('REFUSED ' + e.message); }`;
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...(mode ? { MVP_SANDBOX: mode } : {}) };
  return spawnSync(
    'setpriv',
    [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      process.execPath,
      '--input-type=module',
      '-e',
      script,
    ],
    { encoding: 'utf8', env, timeout: 30_000 },
  );
}

describe.skipIf(!asRoot)('the sandbox mode of a runner that is not root', () => {
  it('auto runs commands unisolated and says so loudly (the demo on a laptop still works)', () => {
    const { stdout, stderr } = runAsNobody(undefined);
    expect(stdout).toContain('RAN 65534');
    expect(stderr).toContain('MVP_SANDBOX_OFF');
    expect(stderr).toContain('Commands cannot be isolated here (the runner is not root');
  });

  it('uid (the image setting) refuses to run a command rather than run it unisolated', () => {
    const { stdout } = runAsNobody('uid');
    expect(stdout).toContain('REFUSED Commands cannot be isolated here: the runner is not root');
    expect(stdout).not.toContain('RAN');
  });
});
