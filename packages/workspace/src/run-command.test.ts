import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from './run-command.js';

const node = process.execPath;

/** Whether a process is alive (a zombie waiting to be reaped is not). */
async function isRunning(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat !== undefined && !/^\d+ \(.*\) Z/.test(stat);
}
let cwd: string;
beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'mvp-run-'));
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('runCommand', () => {
  it('runs a program with arguments, no shell, and reports its exit', async () => {
    const result = await runCommand({
      argv: [node, '-e', 'console.log(process.argv[1]); process.exit(3)', '$(echo hi); `x` | y > z'],
      cwd,
      timeoutMs: 30_000,
    });
    expect(result.exitCode).toBe(3);
    expect(result.signal).toBeNull();
    expect(result.timedOut).toBe(false);
    expect(result.output.trim()).toBe('$(echo hi); `x` | y > z');
    expect(result.truncated).toBe(false);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('runs in cwd and interleaves stdout and stderr', async () => {
    const result = await runCommand({
      argv: [node, '-e', 'console.log(process.cwd()); console.error("to stderr")'],
      cwd,
      timeoutMs: 30_000,
    });
    expect(result.exitCode).toBe(0);
    expect(result.output).toContain(path.basename(cwd));
    expect(result.output).toContain('to stderr');
  });

  it('gives the child no secrets: a GITHUB_TOKEN of the parent is invisible to it', async () => {
    const token = 'ghp_' + '0123456789abcdefghijABCDEFGHIJ012345';
    process.env['GITHUB_TOKEN'] = token;
    process.env['FOUNDERDASH_DB_URL'] = 'postgres://admin:hunter22@db.example/app';
    try {
      const result = await runCommand({
        argv: [node, '-e', 'console.log(JSON.stringify(process.env))'],
        cwd,
        timeoutMs: 30_000,
        env: { EXTRA: 'yes', OTHER_TOKEN: 'should-not-pass' },
      });
      const env = JSON.parse(result.output) as Record<string, string>;
      expect(env['GITHUB_TOKEN']).toBeUndefined();
      expect(env['FOUNDERDASH_DB_URL']).toBeUndefined();
      expect(env['OTHER_TOKEN']).toBeUndefined();
      expect(env['EXTRA']).toBe('yes');
      expect(env['NODE_ENV']).toBe('production');
      expect(result.output).not.toContain(token);
      expect(result.output).not.toContain('hunter22');
    } finally {
      delete process.env['GITHUB_TOKEN'];
      delete process.env['FOUNDERDASH_DB_URL'];
    }
  });

  it('redacts secrets that a command prints anyway', async () => {
    const token = 'ghp_' + 'ZYXWVUTSRQponmlkjihg9876543210abcd';
    const result = await runCommand({
      argv: [node, '-e', 'console.log("token=" + process.argv[1])', token],
      cwd,
      timeoutMs: 30_000,
    });
    expect(result.output).not.toContain(token);
    expect(result.output).toContain('[REDACTED]');
  });

  it('caps the output, keeping the tail', async () => {
    const script =
      'for (let i = 0; i < 5000; i++) process.stdout.write("line " + i + "\\n"); process.stdout.write("THE END\\n")';
    const result = await runCommand({
      argv: [node, '-e', script],
      cwd,
      timeoutMs: 30_000,
      maxOutputBytes: 1000,
    });
    expect(result.exitCode).toBe(0);
    expect(result.truncated).toBe(true);
    expect(Buffer.byteLength(result.output)).toBeLessThanOrEqual(1000);
    expect(result.output).toContain('THE END');
    expect(result.output).not.toContain('line 0\n');
  });

  it('ends a command that outlives its timeout, its children included', async () => {
    const script =
      'const c = require("child_process").spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "inherit" });' +
      'console.log("grandchild " + c.pid); setInterval(() => {}, 1000)';
    const result = await runCommand({ argv: [node, '-e', script], cwd, timeoutMs: 4000 });
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBeNull();
    expect(result.signal).toBe('SIGTERM');
    const pid = Number(/grandchild (\d+)/.exec(result.output)?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(await isRunning(pid)).toBe(false);
  });

  it('escalates to SIGKILL when SIGTERM is ignored', async () => {
    const script = 'process.on("SIGTERM", () => {}); console.log("ready"); setInterval(() => {}, 1000)';
    const result = await runCommand({ argv: [node, '-e', script], cwd, timeoutMs: 4000 });
    expect(result.timedOut).toBe(true);
    expect(result.signal).toBe('SIGKILL');
  });

  it('stops on abort and rejects with the reason', async () => {
    const controller = new AbortController();
    const reason = new Error('stop now');
    const running = runCommand({
      argv: [node, '-e', 'console.log("x"); setInterval(() => {}, 1000)'],
      cwd,
      timeoutMs: 60_000,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(reason), 200);
    await expect(running).rejects.toBe(reason);
    const already = AbortSignal.abort(reason);
    await expect(runCommand({ argv: [node, '-v'], cwd, timeoutMs: 1000, signal: already })).rejects.toBe(
      reason,
    );
  });

  it('throws NOT_FOUND for a missing program or directory, never a shell error', async () => {
    await expect(runCommand({ argv: ['no-such-program-xyz'], cwd, timeoutMs: 5000 })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(
      runCommand({ argv: [node, '-v'], cwd: path.join(cwd, 'missing'), timeoutMs: 5000 }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(runCommand({ argv: [], cwd, timeoutMs: 5000 })).rejects.toMatchObject({
      code: 'VALIDATION',
    });
  });
});

describe('runCommand secretEnv', () => {
  it('passes secret-looking variables given as secretEnv and redacts them from the output', async () => {
    const url = 'postgresql://app_y:an0ther-pass@127.0.0.1:5432/app_y';
    const result = await runCommand({
      argv: [
        node,
        '-e',
        'console.log(process.env.DATABASE_URL); console.log(new URL(process.env.DATABASE_URL).password); console.log(process.env.API_TOKEN)',
      ],
      cwd,
      timeoutMs: 30_000,
      env: { DATABASE_URL: 'postgresql://dropped:dropped@x/y' },
      secretEnv: { DATABASE_URL: url, API_TOKEN: 'tok-1234567' },
    });
    expect(result.exitCode).toBe(0);
    expect(result.output.split('\n').slice(0, 3)).toEqual(['[REDACTED]', '[REDACTED]', '[REDACTED]']);
    expect(result.output).not.toContain('an0ther');
    expect(result.output).not.toContain('dropped');
  });
});
