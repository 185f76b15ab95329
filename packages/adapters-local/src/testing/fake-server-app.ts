import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseTemplateManifest, type TemplateManifest } from '@mvp-pipeline/core';

/**
 * A tiny built "server app" for tests of the checker, the deployer and the host, with no Next.js
 * build: `server.js` (node:http) answers the HTTP journeys of {@link FAKE_APP_MODEL} (home,
 * claim, sign-up, create) and, with `leakyDelete`, lets a visitor delete a row (the access journey
 * fails); `claim.js` prints a one-time link (exit 3 once claimed); `migrate.js` records that it
 * ran with a DATABASE_URL. State (the app's "database") lives in files of the folder named by the
 * database URL's `state` parameter, or of the app's directory.
 */
export const FAKE_APP_MODEL = {
  version: 1,
  app: { name: 'Notes' },
  entities: [
    {
      name: 'note',
      label: 'Note',
      plural: 'Notes',
      fields: [{ name: 'title', type: 'text', required: true, maxLength: 200 }],
      access: { list: 'public', read: 'public', create: 'member', update: 'admin', delete: 'admin' },
    },
  ],
} as const;

const SERVER = `
const http = require('http');
const fs = require('fs');
const path = require('path');
const behaviour = JSON.parse(fs.readFileSync(path.join(__dirname, 'behaviour.json'), 'utf8'));
const stateDir = () => { try { return new URL(process.env.DATABASE_URL).searchParams.get('state') || __dirname; } catch { return __dirname; } };
const state = (name) => path.join(stateDir(), name);
// Replaced, never rewritten: another deployment runs under another uid.
const put = (file, data) => { const temp = file + '.' + process.pid + '.tmp'; fs.writeFileSync(temp, data); fs.renameSync(temp, file); };
if (behaviour.crash) { console.error('boom: cannot start, DATABASE_URL=' + process.env.DATABASE_URL); process.exit(1); }
if (!process.env.DATABASE_URL) { console.error('no DATABASE_URL'); process.exit(2); }
const send = (res, status, body, headers = {}) => { res.writeHead(status, { 'content-type': 'application/json', ...headers }); res.end(typeof body === 'string' ? body : JSON.stringify(body)); };
const notes = new Map();
const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const url = new URL(req.url, 'http://x');
    const cookie = req.headers.cookie || '';
    if (url.pathname === '/api/health') return send(res, behaviour.unhealthy ? 503 : 200, { ok: true, deployment: behaviour.deployment || null });
    if (url.pathname === '/' ) return send(res, 200, '<h1>Notes</h1> app ' + (process.env.APP_URL || ''), { 'content-type': 'text/html' });
    if (url.pathname === '/signin') return send(res, 200, 'sign in', { 'set-cookie': 'csrf=c1; Path=/', 'content-type': 'text/html' });
    if (url.pathname === '/api/auth/claim' && req.method === 'POST') {
      const token = JSON.parse(body || '{}').token;
      let expected = '';
      try { expected = fs.readFileSync(state('claim-token'), 'utf8'); } catch {}
      if (!token || token !== expected) return send(res, 400, { error: 'bad token' });
      put(state('owner'), 'yes');
      return send(res, 200, { ok: true }, { 'set-cookie': 'session=owner; Path=/' });
    }
    if (url.pathname === '/api/auth/signup' && req.method === 'POST') return send(res, 201, { ok: true }, { 'set-cookie': 'session=member; Path=/' });
    if (url.pathname === '/api/notes' && req.method === 'POST') {
      if (!cookie.includes('session=')) return send(res, 401, { error: 'sign in' });
      const item = { id: 'n-' + Date.now() + String(Math.floor(Math.random() * 1e6)).padStart(6, '0'), title: JSON.parse(body || '{}').title };
      notes.set(item.id, item);
      return send(res, 201, { item });
    }
    if (url.pathname === '/api/notes' && req.method === 'GET') return send(res, 200, { items: [...notes.values()] });
    if (url.pathname.startsWith('/api/notes/') && req.method === 'GET') {
      const item = notes.get(url.pathname.slice('/api/notes/'.length));
      return item ? send(res, 200, { item }) : send(res, 404, { error: 'not found' });
    }
    if (url.pathname.startsWith('/api/notes/') && req.method === 'DELETE') {
      if (behaviour.leakyDelete || cookie.includes('session=owner')) return send(res, 200, { ok: true });
      return send(res, 401, { error: 'sign in' });
    }
    return send(res, 404, { error: 'not found' });
  });
});
const port = Number(process.env[behaviour.portEnv || 'PORT']);
server.listen(port, process.env.HOSTNAME || '127.0.0.1', () => {
  put(state('listening'), String(port));
  console.log('listening on ' + port + ' for ' + process.env.APP_URL);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

const CLAIM = `
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const stateDir = () => { try { return new URL(process.env.DATABASE_URL).searchParams.get('state') || __dirname; } catch { return __dirname; } };
const state = (name) => path.join(stateDir(), name);
// Replaced, never rewritten: another deployment runs under another uid.
const put = (file, data) => { const temp = file + '.' + process.pid + '.tmp'; fs.writeFileSync(temp, data); fs.renameSync(temp, file); };
if (!process.env.DATABASE_URL) { console.error('claim: DATABASE_URL is not set'); process.exit(2); }
if (fs.existsSync(state('owner'))) { console.error('claim: the app already has an owner'); process.exit(3); }
const token = crypto.randomBytes(16).toString('hex');
put(state('claim-token'), token);
console.log('claim: a link for ' + new URL(process.env.DATABASE_URL).pathname);
console.log((process.env.APP_URL || 'http://localhost:3000').replace(/\\/+$/, '') + '/claim/' + token);
`;

const MIGRATE = `
const fs = require('fs');
const path = require('path');
if (!process.env.DATABASE_URL) { console.error('migrate: DATABASE_URL is not set'); process.exit(2); }
const stateDir = new URL(process.env.DATABASE_URL).searchParams.get('state') || __dirname;
const file = path.join(stateDir, 'migrated');
const runs = fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8')) : 0;
const temp = file + '.' + process.pid + '.tmp';
fs.writeFileSync(temp, String(runs + 1));
fs.renameSync(temp, file);
console.log('migrate: applied to ' + new URL(process.env.DATABASE_URL).pathname);
`;

export interface FakeServerAppOptions {
  /** `server.js` exits at once with an error (and the database URL, which must be redacted). */
  crash?: boolean;
  /** The health check answers 503 forever. */
  unhealthy?: boolean;
  /** A visitor may delete any note: the access journey must fail. */
  leakyDelete?: boolean;
  /** Reported by the health check, to tell deployments apart. */
  deployment?: string;
}

/** Writes the fake app into `dir` and returns its manifest (start, migrate, claim, model). */
export async function writeFakeServerApp(
  dir: string,
  options: FakeServerAppOptions = {},
): Promise<TemplateManifest> {
  await mkdir(dir, { recursive: true });
  const manifest = parseTemplateManifest(
    {
      name: 'fake-app',
      outputDir: '.',
      model: 'app.model.json',
      commands: {
        build: [process.execPath, '-e', '0'],
        start: [process.execPath, 'server.js'],
        migrate: [process.execPath, 'migrate.js'],
        claim: [process.execPath, 'claim.js'],
      },
      start: { portEnv: 'PORT', readyPath: '/api/health' },
    },
    'fake-app',
  );
  await writeFile(path.join(dir, 'server.js'), SERVER);
  await writeFile(path.join(dir, 'claim.js'), CLAIM);
  await writeFile(path.join(dir, 'migrate.js'), MIGRATE);
  await writeFile(path.join(dir, 'behaviour.json'), JSON.stringify({ portEnv: 'PORT', ...options }));
  await writeFile(path.join(dir, 'app.model.json'), JSON.stringify(FAKE_APP_MODEL, null, 2));
  await writeFile(path.join(dir, 'mvp.template.json'), JSON.stringify(manifest, null, 2));
  return manifest;
}
