import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TemplateManifest, Workspace } from '@mvp-pipeline/core';
import { builderContract, type FilesAccess, recordingReporter } from '@mvp-pipeline/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { diskFiles } from '../testing/disk-files.js';
import { createProcessBuilder } from './process-builder.js';

const BUILD = `import fs from 'node:fs';
fs.mkdirSync('dist', { recursive: true });
fs.writeFileSync('dist/index.html', '<!doctype html><title>Mini</title><h1>Mini</h1>');
console.log('built dist/index.html');
`;
const BROKEN = `console.error('SyntaxError: Unexpected token in src/app.js:3'); process.exit(1);\n`;
const MANIFEST: TemplateManifest = {
  name: 'mini',
  outputDir: 'dist',
  commands: { build: ['node', 'build.mjs'] },
};

async function buildable(files: FilesAccess, manifest: TemplateManifest = MANIFEST) {
  const workspace = await files.newWorkspace();
  await files.write(workspace, 'mvp.template.json', JSON.stringify(manifest));
  await files.write(workspace, 'build.mjs', BUILD);
  return { workspace, manifest };
}

builderContract({ describe, it, expect, beforeEach, afterEach }, 'process', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'mvp-builder-'));
  const files = diskFiles(root);
  return {
    builder: createProcessBuilder({ timeoutMs: 60_000 }),
    files,
    buildable: () => buildable(files),
    breakBuild: (workspace: Workspace) => files.write(workspace, 'build.mjs', BROKEN),
    outputHas: (outputDir: string, file: string) =>
      stat(path.join(outputDir, file)).then(
        (s) => s.isFile(),
        () => false,
      ),
    dispose: () => rm(root, { recursive: true, force: true }),
  };
});

describe('process builder', () => {
  let root: string;
  let files: FilesAccess;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'mvp-builder-'));
    files = diskFiles(root);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('runs build then test, returns the absolute output dir and the checks, and logs each step', async () => {
    const manifest = {
      ...MANIFEST,
      commands: { ...MANIFEST.commands, test: ['node', '-e', 'console.log("tests ok")'] },
    };
    const { workspace } = await buildable(files, manifest);
    const report = recordingReporter();
    const result = await createProcessBuilder().build({ workspace, manifest, report });
    expect(result).toEqual({
      ok: true,
      outputDir: path.join(workspace.dir, 'dist'),
      checks: ['build', 'test', 'index.html'],
    });
    expect(report.lines[0]).toBe('build: node build.mjs');
    expect(report.lines.some((l) => /^test passed/.test(l))).toBe(true);
  });

  it('reports a failing test command with its output tail and a bounded log', async () => {
    const script =
      'for (let i = 0; i < 500; i++) console.log("noise " + i); console.error("1 test failed"); process.exit(2)';
    const manifest = { ...MANIFEST, commands: { ...MANIFEST.commands, test: ['node', '-e', script] } };
    const { workspace } = await buildable(files, manifest);
    const report = recordingReporter();
    const result = await createProcessBuilder({ maxOutputBytes: 2048 }).build({
      workspace,
      manifest,
      report,
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.summary).toMatch(/^test failed: .* exited with code 2$/);
    expect(result.summary).not.toContain('\n');
    expect(result.output).toContain('1 test failed');
    expect(Buffer.byteLength(result.output)).toBeLessThanOrEqual(2048);
    expect(report.lines.length).toBeLessThanOrEqual(20);
  });

  it("gives migrate the check database's URL and its server's CA, and no other command either", async () => {
    // Each command writes what it sees of the two variables; migrate alone must see both.
    const seen = (name: string) =>
      `require("fs").writeFileSync(${JSON.stringify(`${name}.seen`)}, JSON.stringify({ url: process.env.DATABASE_URL ?? null, ca: process.env.DATABASE_CA ?? null }))`;
    const manifest = {
      ...MANIFEST,
      commands: {
        ...MANIFEST.commands,
        migrate: ['node', '-e', seen('migrate')],
        test: ['node', '-e', seen('test')],
      },
    };
    const { workspace } = await buildable(files, manifest);
    const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const url = 'postgresql://check:pw@db.internal:25060/check?sslmode=require';
    const result = await createProcessBuilder().build({
      workspace,
      manifest,
      report: recordingReporter(),
      databaseUrl: url,
      databaseCa: ca,
    });
    expect(result.ok).toBe(true);
    const read = async (name: string) =>
      JSON.parse(await readFile(path.join(workspace.dir, `${name}.seen`), 'utf8'));
    expect(await read('migrate')).toEqual({ url, ca });
    expect(await read('test')).toEqual({ url: null, ca: null });
  });

  it('turns a missing program into a failed build, not an error', async () => {
    const manifest = { ...MANIFEST, commands: { build: ['no-such-build-tool-xyz', '--prod'] } };
    const { workspace } = await buildable(files, manifest);
    const result = await createProcessBuilder().build({ workspace, manifest, report: recordingReporter() });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.summary).toMatch(/no-such-build-tool-xyz/);
      expect(result.output).toMatch(/\S/);
    }
  });

  it('ends a build that runs past the timeout', async () => {
    const manifest = { ...MANIFEST, commands: { build: ['node', '-e', 'setInterval(() => {}, 1000)'] } };
    const { workspace } = await buildable(files, manifest);
    const result = await createProcessBuilder({ timeoutMs: 500 }).build({
      workspace,
      manifest,
      report: recordingReporter(),
    });
    expect(result).toMatchObject({ ok: false, summary: expect.stringMatching(/timed out/) });
  });

  it('fails when the build writes no index.html, or the output dir leaves the workspace', async () => {
    const { workspace } = await buildable(files);
    const elsewhere = { ...MANIFEST, outputDir: 'public' };
    const missing = await createProcessBuilder().build({
      workspace,
      manifest: elsewhere,
      report: recordingReporter(),
    });
    expect(missing).toMatchObject({ ok: false, summary: 'The build wrote no public/index.html' });
    expect(!missing.ok && missing.output).toContain('built dist/index.html');

    const escaping = { ...MANIFEST, outputDir: '../../etc' };
    const result = await createProcessBuilder().build({
      workspace,
      manifest: escaping,
      report: recordingReporter(),
    });
    expect(result).toMatchObject({ ok: false, summary: expect.stringMatching(/not usable/) });

    // A site elsewhere on the machine, reached through a symlink the workspace holds.
    const outside = await mkdtemp(path.join(os.tmpdir(), 'mvp-outside-'));
    try {
      await writeFile(path.join(outside, 'index.html'), 'not ours');
      await symlink(outside, path.join(workspace.dir, 'linked'));
      const linked = { ...MANIFEST, outputDir: 'linked' };
      const viaLink = await createProcessBuilder().build({
        workspace,
        manifest: linked,
        report: recordingReporter(),
      });
      expect(viaLink).toMatchObject({ ok: false, summary: expect.stringMatching(/symlink/) });
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('runs arguments as data, without a shell, and without the parent secrets', async () => {
    process.env['VERCEL_TOKEN'] = 'vercel-secret-value-123456';
    try {
      const probe =
        'const fs = require("fs"); fs.mkdirSync("dist", { recursive: true });' +
        'fs.writeFileSync("dist/index.html", JSON.stringify({ arg: process.argv[1], token: process.env.VERCEL_TOKEN ?? null }))';
      const manifest = {
        ...MANIFEST,
        commands: { build: ['node', '-e', probe, '$(touch pwned); `touch pwned2`'] },
      };
      const { workspace } = await buildable(files, manifest);
      const result = await createProcessBuilder().build({ workspace, manifest, report: recordingReporter() });
      expect(result.ok).toBe(true);
      const written = JSON.parse((await files.read(workspace, 'dist/index.html'))!) as Record<
        string,
        unknown
      >;
      expect(written).toEqual({ arg: '$(touch pwned); `touch pwned2`', token: null });
      expect(await files.list(workspace)).not.toContain('pwned');
    } finally {
      delete process.env['VERCEL_TOKEN'];
    }
  });

  it('runs a build that finds no secret of the runner in /proc and leaves no daemon behind', async () => {
    const secret = 'ghp_' + 'builderhunt0123456789abcdefABCDEF0123';
    // A process of the runner's user holding the secret in its environment, as the runner does.
    const runner = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      env: { ...process.env, GITHUB_TOKEN: secret },
      stdio: 'ignore',
    });
    try {
      const probe =
        `const fs = require("fs"); const s = ${JSON.stringify(secret)}; const hits = [];` +
        'for (const p of fs.readdirSync("/proc").filter((p) => /^\\d+$/.test(p) && p !== String(process.pid)))' +
        '  for (const f of ["environ", "cmdline"]) { try { if (fs.readFileSync(`/proc/${p}/${f}`, "latin1").includes(s)) hits.push(f); } catch {} }' +
        'const d = require("child_process").spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { detached: true, stdio: "ignore" }); d.unref();' +
        'fs.mkdirSync("dist", { recursive: true }); fs.writeFileSync("dist/index.html", JSON.stringify({ hits: hits.length, daemon: d.pid }))';
      const manifest = { ...MANIFEST, commands: { build: ['node', '-e', probe] } };
      const { workspace } = await buildable(files, manifest);
      const result = await createProcessBuilder().build({ workspace, manifest, report: recordingReporter() });
      expect(result.ok).toBe(true);
      const written = JSON.parse((await files.read(workspace, 'dist/index.html'))!) as {
        hits: number;
        daemon: number;
      };
      expect(written.hits).toBe(0);
      const stat = await readFile(`/proc/${written.daemon}/stat`, 'utf8').catch(() => undefined);
      expect(stat === undefined || /^\d+ \(.*\) Z/.test(stat)).toBe(true);
    } finally {
      runner.kill('SIGKILL');
    }
  });

  it('rejects with the reason when aborted', async () => {
    const manifest = { ...MANIFEST, commands: { build: ['node', '-e', 'setInterval(() => {}, 1000)'] } };
    const { workspace } = await buildable(files, manifest);
    const controller = new AbortController();
    const reason = new Error('shutting down');
    setTimeout(() => controller.abort(reason), 300);
    await expect(
      createProcessBuilder().build({
        workspace,
        manifest,
        report: recordingReporter(),
        signal: controller.signal,
      }),
    ).rejects.toBe(reason);
  });

  it('rejects impossible settings', () => {
    expect(() => createProcessBuilder({ timeoutMs: 0 })).toThrow(/positive/);
  });
});
