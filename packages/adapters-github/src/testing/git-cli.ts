import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Clones `url` with the real git CLI, the token given as a basic-auth header through the
 * environment (not the URL, not the command line), runs `git fsck --full`, and returns the
 * clone's folder and the commit ids on `branch`, newest first.
 */
export async function gitCliClone(
  url: string,
  token: string,
  branch = 'main',
): Promise<{ dir: string; commits: string[]; fsck: string; dispose(): Promise<void> }> {
  const parent = await mkdtemp(path.join(tmpdir(), 'gh-cli-clone-'));
  const dir = path.join(parent, 'clone');
  const env = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: parent,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.extraHeader',
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`,
  };
  await run('git', ['clone', '--quiet', '--branch', branch, url, dir], { env });
  const fsck = await run('git', ['-C', dir, 'fsck', '--full', '--strict'], { env });
  const log = await run('git', ['-C', dir, 'log', '--format=%H', branch], { env });
  return {
    dir,
    commits: log.stdout.trim().split('\n').filter(Boolean),
    fsck: fsck.stdout + fsck.stderr,
    dispose: () => rm(parent, { recursive: true, force: true }),
  };
}

/** Runs git in `dir` and returns its stdout. */
export async function gitIn(dir: string, args: string[]): Promise<string> {
  const { stdout } = await run('git', ['-C', dir, ...args], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tmpdir(), GIT_CONFIG_NOSYSTEM: '1' },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}
