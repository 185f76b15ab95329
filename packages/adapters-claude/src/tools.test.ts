import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRedactor } from '@mvp-pipeline/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errorSignature } from './breaker.js';
import { TINY_APP, writeTinyTemplate } from './testing/index.js';
import { createToolbox, type Toolbox } from './tools.js';

let dir: string;
let tools: Toolbox;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'claude-tools-'));
  const manifest = await writeTinyTemplate(dir);
  manifest.commands['slow'] = [process.execPath, '-e', 'setTimeout(() => {}, 60_000)'];
  manifest.commands['noisy'] = [process.execPath, '-e', "console.log('x'.repeat(5000) + 'END')"];
  tools = createToolbox({
    dir,
    manifest,
    commandTimeoutMs: 2_000,
    outputCap: 1_000,
    maxReadChars: 50,
    redact: createRedactor(['hunter2-secret']),
  });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the tools', () => {
  it('refuses .git at every depth and in any case, and a symlink to it', async () => {
    await mkdir(join(dir, '.git'));
    await symlink('.git', join(dir, 'git-link'));
    for (const path of ['.git/config', '.GIT/config', 'src/.GIT/x', '.Git', 'git-link/config']) {
      const outcome = await tools.run('write_file', { path, content: 'x' });
      expect(outcome, path).toMatchObject({ isError: true, changed: false });
    }
    expect(await readdir(join(dir, '.git'))).toEqual([]);
    expect(await tools.run('list_files', { path: '.GIT' })).toMatchObject({ isError: true });
  });

  it('runs a command that finds no secret of the runner in /proc or its environment', async () => {
    const secret = 'sk-ant-' + 'toolboxhunt0123456789abcdef';
    process.env['ANTHROPIC_API_KEY'] = secret;
    // A process of the runner's user that got the secret in its environment at start, as the runner does.
    const runner = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      env: { ...process.env, ANTHROPIC_API_KEY: secret },
      stdio: 'ignore',
    });
    try {
      const manifest = await writeTinyTemplate(dir);
      await writeFile(
        join(dir, 'hunt.js'),
        `const fs = require('fs'); const s = ${JSON.stringify(secret)}; const hits = [];
         for (const p of fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p) && p !== String(process.pid)))
           for (const f of ['environ', 'cmdline']) { try { if (fs.readFileSync('/proc/' + p + '/' + f, 'latin1').includes(s)) hits.push(p + '/' + f); } catch {} }
         if (JSON.stringify(process.env).includes(s)) hits.push('env');
         console.log('HITS ' + hits.length + ' ' + hits.map((h) => h.split('').reverse().join('')).join(','));`,
      );
      manifest.commands['hunt'] = [process.execPath, 'hunt.js'];
      const box = createToolbox({
        dir,
        manifest,
        commandTimeoutMs: 30_000,
        outputCap: 10_000,
        maxReadChars: 50,
        redact: createRedactor([]),
      });
      const outcome = await box.run('run_command', { name: 'hunt' });
      expect(outcome.isError, outcome.content).toBe(false);
      expect(outcome.content).toContain('HITS 0 ');
    } finally {
      runner.kill('SIGKILL');
      delete process.env['ANTHROPIC_API_KEY'];
    }
  });

  it('edits only an exact, unique piece of text', async () => {
    await writeFile(join(dir, 'twice.txt'), 'a b a');
    const twice = await tools.run('edit_file', { path: 'twice.txt', old_text: 'a', new_text: 'c' });
    expect(twice).toMatchObject({ isError: true, changed: false });
    expect(twice.content).toMatch(/occurs more than once/);
    const once = await tools.run('edit_file', { path: 'twice.txt', old_text: 'a b', new_text: 'c b' });
    expect(once).toMatchObject({ isError: false, changed: true });
    expect(await readFile(join(dir, 'twice.txt'), 'utf8')).toBe('c b a');
  });

  it('reports a file as changed only when its content differs from the start', async () => {
    expect((await tools.run('write_file', { path: 'src/app.mjs', content: TINY_APP })).changed).toBe(false);
    await tools.run('write_file', { path: 'src/new/deep.txt', content: 'new' });
    await tools.run('write_file', { path: 'NOTES.md', content: 'changed' });
    await tools.run('delete_file', { path: 'build.mjs' });
    await tools.run('write_file', { path: 'temp.txt', content: 'x' });
    await tools.run('delete_file', { path: 'temp.txt' });
    expect(await tools.changedFiles()).toEqual(['NOTES.md', 'build.mjs', 'src/new/deep.txt']);
  });

  it('clips long files, lists directories, and refuses to delete a directory', async () => {
    const read = await tools.run('read_file', { path: 'build.mjs' });
    expect(read.content).toMatch(/truncated: the file has \d+ characters; only the first 50 are shown/);
    expect((await tools.run('list_files', { path: 'src' })).content).toBe('src/app.mjs');
    expect((await tools.run('list_files', {})).content.split('\n')).toContain('mvp.template.json');
    expect(await tools.run('delete_file', { path: 'src' })).toMatchObject({ isError: true });
  });

  it('runs commands with a timeout, an output cap and redaction', async () => {
    const slow = await tools.run('run_command', { name: 'slow' });
    expect(slow).toMatchObject({ isError: true, command: { name: 'slow', failed: true } });
    expect(slow.content).toMatch(/timed out after 2 s/);
    const noisy = await tools.run('run_command', { name: 'noisy' });
    expect(noisy.isError).toBe(false);
    expect(noisy.content).toMatch(/output truncated to its tail/);
    expect(noisy.content).toContain('END');
    expect(noisy.content.length).toBeLessThan(1_200);
    await writeFile(join(dir, 'leak.txt'), 'password hunter2-secret');
    expect((await tools.run('read_file', { path: 'leak.txt' })).content).toBe('password [REDACTED]');
  });
});

describe('error signatures', () => {
  it('ignore timings, colours and temporary paths', () => {
    const a = '\u001b[31merror\u001b[0m: x is not defined at /tmp/abc123/file.js (12ms)';
    const b = 'error: x is not defined at /tmp/zzz999/file.js (30ms)';
    expect(errorSignature(a)).toBe(errorSignature(b));
    expect(errorSignature('error: y is not defined')).not.toBe(errorSignature(b));
  });
});
