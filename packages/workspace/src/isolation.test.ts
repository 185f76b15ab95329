import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from './run-command.js';

const node = process.execPath;
const SECRET = 'sk-ant-' + 'isolationcheck0123456789abcdef';
const CREDENTIAL = 'AKIA' + 'ISOLATIONCHECK42';

/** A build script that tries every way to a secret of the runner, printing what it finds reversed. */
const HUNTER = `
const fs = require('fs'); const http = require('http');
const secret = ${JSON.stringify(SECRET)}, credential = ${JSON.stringify(CREDENTIAL)};
const found = []; const tried = [];
const look = (where, text) => { tried.push(where); if (text && (text.includes(secret) || text.includes(credential))) found.push(where); };
const read = (file) => { try { return fs.readFileSync(file, 'latin1'); } catch { return ''; } };
for (const pid of fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p) && p !== String(process.pid))) {
  look('/proc/' + pid + '/environ', read('/proc/' + pid + '/environ'));
  look('/proc/' + pid + '/cmdline', read('/proc/' + pid + '/cmdline'));
  try {
    const maps = read('/proc/' + pid + '/maps').split('\\n').filter((l) => / rw/.test(l)).slice(0, 50);
    const fd = fs.openSync('/proc/' + pid + '/mem', 'r');
    for (const line of maps) {
      const [a, b] = line.split(' ')[0].split('-').map((x) => parseInt(x, 16));
      const buf = Buffer.alloc(Math.min(b - a, 1 << 20));
      try { fs.readSync(fd, buf, 0, buf.length, a); look('/proc/' + pid + '/mem', buf.toString('latin1')); } catch {}
    }
    fs.closeSync(fd);
  } catch {}
}
const walk = (dir, depth) => { let names = []; try { names = fs.readdirSync(dir); } catch { tried.push('list ' + dir); }
  for (const n of names) { const f = dir + '/' + n; let s; try { s = fs.lstatSync(f); } catch { continue; }
    if (s.isDirectory() && depth < 4) walk(f, depth + 1); else if (s.isFile()) look(f, read(f)); } };
for (const f of process.argv.slice(2)) { look(f, read(f)); walk(f, 0); }
look('env', JSON.stringify(process.env));
const uri = process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI || ('http://127.0.0.1:' + process.env.ENDPOINT_PORT + '/');
http.get(uri, (res) => { let body = ''; res.on('data', (c) => (body += c)); res.on('end', () => { look('endpoint', body); done(); }); }).on('error', done);
function done() { console.log(JSON.stringify({ found, tried: tried.length, reversed: found.length ? secret.split('').reverse().join('') : '' })); }
`;

let dataDir: string;
let workspace: string;
let server: Server;
let port: number;
const credentialPath = '/v2/credentials/7f7d6c1e-isolation';

beforeAll(async () => {
  // The runner's layout: a data dir with job records and the workspaces below it.
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'mvp-isolation-data-'));
  await mkdir(path.join(dataDir, 'jobs'));
  await writeFile(path.join(dataDir, 'jobs', 'job-1.json'), JSON.stringify({ token: SECRET }));
  await writeFile(path.join(dataDir, 'config.env'), `ANTHROPIC_API_KEY=${SECRET}\n`);
  await mkdir(path.join(dataDir, 'workspaces'));
  workspace = await mkdtemp(path.join(dataDir, 'workspaces', 'job-2-'));
  await writeFile(path.join(workspace, 'hunt.js'), HUNTER);
  // A stand-in of the container credentials endpoint: answers only at the runner's relative URI.
  server = createServer((req, res) => {
    if (req.url === credentialPath) res.end(JSON.stringify({ AccessKeyId: CREDENTIAL }));
    else res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  process.env['ANTHROPIC_API_KEY'] = SECRET;
  process.env['AWS_CONTAINER_CREDENTIALS_FULL_URI'] = `http://127.0.0.1:${port}${credentialPath}`;
  // The secret in the runner's memory as well, not only in its environment.
  (globalThis as Record<string, unknown>)['heldSecret'] = Buffer.from(SECRET);
});
afterAll(async () => {
  delete process.env['ANTHROPIC_API_KEY'];
  delete process.env['AWS_CONTAINER_CREDENTIALS_FULL_URI'];
  server.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('commands are isolated from the runner', () => {
  it('finds no secret in /proc of any process, the data dir, its environment or the credentials endpoint', async () => {
    const result = await runCommand({
      argv: [
        node,
        'hunt.js',
        dataDir,
        path.join(dataDir, 'jobs', 'job-1.json'),
        path.join(dataDir, 'config.env'),
      ],
      cwd: workspace,
      timeoutMs: 60_000,
      env: { ENDPOINT_PORT: String(port) },
    });
    expect(result.exitCode, result.output).toBe(0);
    const report = JSON.parse(result.output.trim().split('\n').at(-1)!) as { found: string[]; tried: number };
    expect(report.tried).toBeGreaterThan(10);
    expect(report.found).toEqual([]);
  });

  it('ends a daemon started by the command when the command ends', async () => {
    const script =
      'const c = require("child_process").spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { detached: true, stdio: "ignore" });' +
      'c.unref(); console.log("daemon " + c.pid)';
    const result = await runCommand({ argv: [node, '-e', script], cwd: workspace, timeoutMs: 30_000 });
    expect(result.exitCode).toBe(0);
    const pid = Number(/daemon (\d+)/.exec(result.output)?.[1]);
    expect(pid).toBeGreaterThan(0);
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
    expect(stat === undefined || /^\d+ \(.*\) Z/.test(stat)).toBe(true);
  });

  it('lets the command write its workspace, and nothing of the runner', async () => {
    await writeFile(path.join(workspace, 'from-runner.txt'), 'runner wrote this');
    const script =
      'const fs = require("fs"); fs.writeFileSync("from-runner.txt", "build rewrote it"); fs.mkdirSync("dist", { recursive: true }); fs.writeFileSync("dist/index.html", "x");' +
      'for (const f of process.argv.slice(1)) { try { fs.writeFileSync(f, "owned"); console.log("WROTE " + f); } catch {} }';
    const result = await runCommand({
      argv: [
        node,
        '-e',
        script,
        path.join(dataDir, 'jobs', 'job-1.json'),
        path.join(dataDir, 'new.json'),
        '/etc/mvp-x',
      ],
      cwd: workspace,
      timeoutMs: 30_000,
    });
    expect(result.exitCode).toBe(0);
    expect(result.output).not.toContain('WROTE');
    expect(await readFile(path.join(workspace, 'from-runner.txt'), 'utf8')).toBe('build rewrote it');
  });
});
