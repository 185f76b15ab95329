import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { recordingReporter } from '@mvp-pipeline/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startArgv } from '../apps/server-app.js';
import { writeFakeServerApp } from '../testing/fake-server-app.js';
import { createJourneyAppChecker } from './app-checker.js';

// The checker on a fake server app (node:http, no Next build, no browser: the HTTP journeys).
// The Next.js app in Chromium: app-template.test.ts (slow).

const DB_URL = 'postgresql://app_check:pw-Very-Secret-42@127.0.0.1:5432/app_check';
const checker = createJourneyAppChecker({ chromiumPath: '/nonexistent/chromium', startTimeoutMs: 5_000 });

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

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'mvp-app-checker-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function fakeWorkspace(name: string, options: Parameters<typeof writeFakeServerApp>[1] = {}) {
  const dir = path.join(root, name);
  const manifest = await writeFakeServerApp(dir, options);
  return { workspace: { jobId: `job_${name}`, dir }, manifest };
}

describe('createJourneyAppChecker', () => {
  it('starts the app, claims its owner, walks the HTTP journeys, logs each, and stops the app', async () => {
    const { workspace, manifest } = await fakeWorkspace('good');
    const report = recordingReporter();
    const result = await checker.check({ workspace, manifest, databaseUrl: DB_URL, report });
    expect(result.mode).toBe('http');
    const byName = Object.fromEntries(result.results.map((r) => [r.name, r]));
    expect(Object.keys(byName)).toEqual(['home', 'owner', 'sign-up', 'create:note', 'access:note']);
    expect(result.results.every((r) => r.ok)).toBe(true);
    expect(result.ok).toBe(true);
    expect(report.lines).toContain('Journey owner ok');
    expect(report.lines.some((l) => l.includes('No Chromium'))).toBe(true);
    // Bound to 127.0.0.1 on the port it was given, and stopped afterwards.
    const port = Number(await readFile(path.join(workspace.dir, 'listening'), 'utf8'));
    expect(port).toBeGreaterThan(0);
    expect(await listening(port)).toBe(false);
    // Neither the database URL nor the claim link reaches a log line.
    const token = await readFile(path.join(workspace.dir, 'claim-token'), 'utf8');
    const logged = report.lines.join('\n');
    expect(logged).not.toContain('pw-Very-Secret-42');
    expect(logged).not.toContain(token);
  }, 30_000);

  it('reports a failed journey as a result, with what went wrong', async () => {
    const { workspace, manifest } = await fakeWorkspace('leaky', { leakyDelete: true });
    const report = recordingReporter();
    const result = await checker.check({ workspace, manifest, databaseUrl: DB_URL, report });
    expect(result.ok).toBe(false);
    const access = result.results.find((r) => r.name === 'access:note');
    expect(access?.ok).toBe(false);
    expect(access?.failure).toMatch(/a visitor: DELETE \/api\/notes\/n-\d+ answered 200/);
    expect(report.lines.some((l) => l.startsWith('Journey access:note failed: a visitor: DELETE'))).toBe(
      true,
    );
  }, 30_000);

  it('makes an app that does not start a failed start journey, quoting its output redacted', async () => {
    const { workspace, manifest } = await fakeWorkspace('crash', { crash: true });
    const report = recordingReporter();
    const result = await checker.check({ workspace, manifest, databaseUrl: DB_URL, report });
    expect(result.ok).toBe(false);
    expect(result.results).toHaveLength(1);
    expect(result.results[0]).toMatchObject({ name: 'start', ok: false });
    expect(result.results[0]?.failure).toMatch(/^The app exited \(1\) before \/api\/health answered/);
    expect(result.results[0]?.failure).toContain('boom: cannot start');
    expect(JSON.stringify(result) + report.lines.join('\n')).not.toContain('pw-Very-Secret-42');
  }, 30_000);

  it('fails the start journey of an app that never answers 200, and stops it', async () => {
    const { workspace, manifest } = await fakeWorkspace('unhealthy', { unhealthy: true });
    const quick = createJourneyAppChecker({ chromiumPath: '/nonexistent/chromium', startTimeoutMs: 1_000 });
    const result = await quick.check({
      workspace,
      manifest,
      databaseUrl: DB_URL,
      report: recordingReporter(),
    });
    expect(result.results[0]?.failure).toMatch(
      /did not answer \/api\/health with 200 within 1000 ms \(last: answered 503\)/,
    );
    const port = Number(await readFile(path.join(workspace.dir, 'listening'), 'utf8'));
    expect(await listening(port)).toBe(false);
  }, 30_000);

  it('fails the claim journey when the database already has an owner', async () => {
    const { workspace, manifest } = await fakeWorkspace('owned');
    await writeFile(path.join(workspace.dir, 'owner'), 'yes');
    const result = await checker.check({
      workspace,
      manifest,
      databaseUrl: DB_URL,
      report: recordingReporter(),
    });
    expect(result.results).toEqual([
      expect.objectContaining({
        name: 'claim',
        ok: false,
        failure: expect.stringContaining('already has an owner'),
      }),
    ]);
  }, 30_000);

  it('rejects a manifest that is not a server app, and an invalid model', async () => {
    const { workspace, manifest } = await fakeWorkspace('invalid');
    const { claim: _claim, ...commands } = manifest.commands;
    await expect(
      checker.check({
        workspace,
        manifest: { ...manifest, commands },
        databaseUrl: DB_URL,
        report: recordingReporter(),
      }),
    ).rejects.toMatchObject({ code: 'PERMANENT', message: expect.stringContaining('commands.claim') });
    await writeFile(
      path.join(workspace.dir, 'app.model.json'),
      JSON.stringify({ version: 1, app: {}, entities: [] }),
    );
    await expect(
      checker.check({ workspace, manifest, databaseUrl: DB_URL, report: recordingReporter() }),
    ).rejects.toMatchObject({ code: 'VALIDATION' });
  });

  it('stops the app and rejects with the reason on abort', async () => {
    const { workspace, manifest } = await fakeWorkspace('abort', { unhealthy: true });
    const controller = new AbortController();
    const reason = new Error('cancelled');
    const checking = checker.check({
      workspace,
      manifest,
      databaseUrl: DB_URL,
      report: recordingReporter(),
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(reason), 800);
    await expect(checking).rejects.toBe(reason);
    const port = Number(await readFile(path.join(workspace.dir, 'listening'), 'utf8'));
    expect(await listening(port)).toBe(false);
  }, 30_000);
});

describe('startArgv', () => {
  it('binds next start to 127.0.0.1 and leaves other commands as they are', () => {
    expect(startArgv(['node', 'scripts/next.mjs', 'start'])).toEqual([
      'node',
      'scripts/next.mjs',
      'start',
      '-H',
      '127.0.0.1',
    ]);
    expect(startArgv(['next', 'start', '-p', '1'])).toEqual(['next', 'start', '-H', '127.0.0.1', '-p', '1']);
    expect(startArgv(['node', 'scripts/next.mjs', 'start', '-H', '::1'])).toEqual([
      'node',
      'scripts/next.mjs',
      'start',
      '-H',
      '::1',
    ]);
    expect(startArgv(['node', 'server.js', 'start'])).toEqual(['node', 'server.js', 'start']);
  });
});
