import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxMode } from './sandbox.js';
import { startCommand } from './start-command.js';

const node = process.execPath;

/** Whether a process is alive (a zombie waiting to be reaped is not). */
async function isRunning(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat !== undefined && !/^\d+ \(.*\) Z/.test(stat);
}

/** Whether something accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitFor<T>(what: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = what();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// A server on port 0 that prints its port, the DATABASE_URL it got, and a grandchild's pid.
const SERVER = `
const http = require('http');
const { spawn } = require('child_process');
const helper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore' });
const server = http.createServer((req, res) => res.end('hello ' + req.url));
server.listen(0, '127.0.0.1', () => {
  console.log('db=' + process.env.DATABASE_URL);
  console.log('helper=' + helper.pid);
  console.log('port=' + server.address().port);
});
`;
const DB_URL = 'postgresql://app_x:s3cr3t-pass-word@127.0.0.1:5432/app_x';

let cwd: string;
beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'mvp-start-'));
  await writeFile(path.join(cwd, 'server.js'), SERVER);
});
afterAll(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('startCommand', () => {
  it('starts a server, hands it secretEnv but redacts it, and stops it with everything it left', async () => {
    const app = await startCommand({
      argv: [node, 'server.js'],
      cwd,
      env: { PORT_HINT: '0' },
      secretEnv: { DATABASE_URL: DB_URL },
    });
    expect(app.pid).toBeGreaterThan(0);
    const port = Number(await waitFor(() => /port=(\d+)/.exec(app.output())?.[1]));
    const helper = Number(/helper=(\d+)/.exec(app.output())?.[1]);
    const response = await fetch(`http://127.0.0.1:${port}/x`);
    expect(await response.text()).toBe('hello /x');
    // The child got the URL (it printed it), and the output shows neither it nor its password.
    expect(app.output()).toContain('db=[REDACTED]');
    expect(app.output()).not.toContain('s3cr3t-pass-word');
    expect(await isRunning(helper)).toBe(true);

    await app.stop();
    expect(await listening(port)).toBe(false);
    expect(await isRunning(app.pid)).toBe(false);
    // A detached helper left its process group: only the uid sandbox's sweep can find it.
    if ((await sandboxMode()) === 'uid') expect(await isRunning(helper)).toBe(false);
    const result = await app.exited;
    expect(result.signal ?? String(result.exitCode)).toBeTruthy();
    expect(result.timedOut).toBe(false);
    expect(result.output).not.toContain('s3cr3t');
    await app.stop(); // twice is harmless
  }, 30_000);

  it('reports an exit on its own, with the output', async () => {
    const app = await startCommand({ argv: [node, '-e', 'console.log("bye"); process.exit(4)'], cwd });
    const result = await app.exited;
    expect(result.exitCode).toBe(4);
    expect(result.output).toContain('bye');
    expect(app.output()).toContain('bye');
  });

  it('is stopped by its abort signal, SIGKILL when SIGTERM is ignored', async () => {
    const controller = new AbortController();
    const app = await startCommand({
      argv: [node, '-e', 'process.on("SIGTERM", () => {}); console.log("up"); setInterval(() => {}, 1000)'],
      cwd,
      signal: controller.signal,
      stopGraceMs: 300,
    });
    await waitFor(() => (app.output().includes('up') ? true : undefined));
    controller.abort(new Error('enough'));
    const result = await app.exited;
    expect(result.signal).toBe('SIGKILL');
    expect(await isRunning(app.pid)).toBe(false);
  }, 20_000);

  it('rejects for a missing program, a bad secretEnv name, or an aborted signal', async () => {
    await expect(startCommand({ argv: ['no-such-program-xyz'], cwd })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(
      startCommand({ argv: [node, '-v'], cwd, secretEnv: { 'BAD NAME': 'x' } }),
    ).rejects.toMatchObject({ code: 'VALIDATION' });
    const reason = new Error('no');
    await expect(startCommand({ argv: [node, '-v'], cwd, signal: AbortSignal.abort(reason) })).rejects.toBe(
      reason,
    );
  });
});
