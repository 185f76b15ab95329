import { randomBytes } from 'node:crypto';
import { pluralSlug } from '@mvp-pipeline/core';
import { sampleValue } from './browser-journeys.js';
import {
  type JourneyEntity,
  type JourneyModel,
  type JourneyReport,
  type JourneyResult,
  orderByReferences,
} from './model.js';

export interface HttpJourneyOptions {
  baseUrl: string;
  model: JourneyModel;
  claimUrl: string;
  fetch?: typeof fetch;
}

/** A tiny cookie jar: the app's cookies are host-only, path `/`. `extra` headers go with every call. */
export class Client {
  private readonly cookies = new Map<string, string>();
  constructor(
    private readonly base: string,
    private readonly doFetch: typeof fetch,
    private readonly extra: Readonly<Record<string, string>> = {},
  ) {}
  async call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; text: string; json: () => unknown }> {
    const headers: Record<string, string> = { ...this.extra, origin: this.base };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const csrf = this.cookies.get('csrf');
    if (csrf) headers['x-csrf-token'] = csrf;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await this.doFetch(`${this.base}${path}`, {
      method,
      headers,
      redirect: 'manual',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    for (const line of r.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (!pair || eq < 1) continue;
      const value = pair.slice(eq + 1);
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(pair.slice(0, eq));
      else this.cookies.set(pair.slice(0, eq), value);
    }
    const text = await r.text();
    return { status: r.status, text, json: () => JSON.parse(text) };
  }
}

/**
 * The journeys without a browser: API-level sign-up, create, and access denied. Used when no
 * Chromium is installed; the report says `mode: 'http'` so nobody mistakes it for the full walk.
 */
export async function runHttpJourneys(options: HttpJourneyOptions): Promise<JourneyReport> {
  const base = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const tag = randomBytes(3).toString('hex');
  const { results, run } = journeyRecorder();
  const owner = new Client(base, doFetch);
  const member = new Client(base, doFetch);
  const visitor = new Client(base, doFetch);
  const made = new Map<string, string>();
  await run('home', async () => {
    const r = await visitor.call('GET', '/');
    if (r.status !== 200 || !r.text.includes(options.model.app.name))
      throw new Error(`GET / answered ${r.status} without the product's name`);
  });
  await run('owner', async () => {
    const token = new URL(options.claimUrl).pathname.split('/').pop() ?? '';
    await owner.call('GET', '/signin');
    const r = await owner.call('POST', '/api/auth/claim', {
      token,
      email: `owner-${tag}@example.com`,
      password: `pw-${tag}-owner-1`,
    });
    if (r.status !== 200) throw new Error(`the claim answered ${r.status}: ${r.text.slice(0, 200)}`);
  });
  await run('sign-up', async () => {
    await member.call('GET', '/signin');
    const r = await member.call('POST', '/api/auth/signup', {
      email: `member-${tag}@example.com`,
      password: `pw-${tag}-member-1`,
    });
    if (r.status !== 201) throw new Error(`sign-up answered ${r.status}: ${r.text.slice(0, 200)}`);
  });
  for (const e of orderByReferences(options.model.entities)) {
    await run(`create:${e.name}`, async () => {
      const client = e.access.create === 'admin' ? owner : member;
      const body = bodyFor(e, `${tag}-${e.name}`, made);
      const r = await client.call('POST', `/api/${pluralSlug(e)}`, body);
      if (r.status !== 201)
        throw new Error(`POST /api/${pluralSlug(e)} answered ${r.status}: ${r.text.slice(0, 200)}`);
      made.set(e.name, (r.json() as { item: { id: string } }).item.id);
    });
  }
  await visitor.call('GET', '/signin');
  for (const e of options.model.entities) {
    if (!Object.values(e.access).some((l) => l !== 'public')) continue;
    await run(`access:${e.name}`, async () => {
      const id = made.get(e.name);
      if (!id) throw new Error(`no ${e.name} was created to protect`);
      const slug = pluralSlug(e);
      const problems: string[] = [];
      const denied = async (who: string, client: Client, method: string, path: string, body?: unknown) => {
        const r = await client.call(method, path, body);
        if (![401, 403, 404].includes(r.status))
          problems.push(`${who}: ${method} ${path} answered ${r.status}`);
        else if (r.text.includes(id))
          problems.push(`${who}: ${method} ${path} answered ${r.status} with the row's data`);
      };
      if (e.access.list !== 'public') await denied('a visitor', visitor, 'GET', `/api/${slug}`);
      if (e.access.read !== 'public') await denied('a visitor', visitor, 'GET', `/api/${slug}/${id}`);
      if (e.access.delete !== 'public') await denied('a visitor', visitor, 'DELETE', `/api/${slug}/${id}`);
      if (e.access.create === 'admin') await denied('a member', member, 'POST', `/api/${slug}`, {});
      if (e.access.list === 'admin') await denied('a member', member, 'GET', `/api/${slug}`);
      await denied('a member', member, 'GET', `/admin/${slug}`);
      if (problems.length) throw new Error(problems.join('; '));
    });
  }
  return { mode: 'http', results, ok: results.every((r) => r.ok) };
}

/** Journeys run one after another: each is timed, and a throw is its failure, never the walk's end. */
export function journeyRecorder(): {
  results: JourneyResult[];
  run(name: string, body: () => Promise<void>): Promise<void>;
} {
  const results: JourneyResult[] = [];
  const run = async (name: string, body: () => Promise<void>) => {
    const started = Date.now();
    try {
      await body();
      results.push({ name, ok: true, durationMs: Date.now() - started });
    } catch (error) {
      results.push({ name, ok: false, failure: (error as Error).message, durationMs: Date.now() - started });
    }
  };
  return { results, run };
}

export function bodyFor(
  e: JourneyEntity,
  unique: string,
  made: Map<string, string>,
): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const f of e.fields) {
    if (f.type === 'user') continue;
    if (f.type === 'reference') body[f.name] = made.get(f.entity ?? '');
    else if (f.type === 'boolean') body[f.name] = true;
    else body[f.name] = sampleValue(e, f, unique);
  }
  return body;
}
