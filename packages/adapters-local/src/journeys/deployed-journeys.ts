import { randomBytes } from 'node:crypto';
import { type JourneyReport, pluralSlug } from '@mvp-pipeline/core';
import { bodyFor, Client, journeyRecorder } from './http-journeys.js';
import { type JourneyModel, orderByReferences } from './model.js';

export interface DeployedJourneyOptions {
  /** The live deployment, e.g. `https://eventhub-1a2b3c.vercel.app`. */
  baseUrl: string;
  model: JourneyModel;
  /** The path that answers 200 when the app and its database do (manifest `start.readyPath`). */
  readyPath: string;
  /** Sent with every request (a protection bypass on staging); secrets, never in a result. */
  headers?: Readonly<Record<string, string>>;
  /** Production: look only (the home page and the readiness path), write nothing. */
  readOnly?: boolean;
  fetch?: typeof fetch;
}

/**
 * The journeys a live deployment can take without touching its owner or the founder's data: the
 * home page and the readiness path; then (unless `readOnly`) a throwaway member signs up,
 * creates one row of each entity members may create (references to rows it cannot make are
 * taken from what it may list, else the entity is skipped), reads it back, deletes it again
 * where the rules let a member, and a visitor is denied what is not public. Never the owner
 * claim: the founder owns the app. The throwaway account stays (the app has no account deletion).
 */
export async function runDeployedJourneys(
  options: DeployedJourneyOptions,
): Promise<JourneyReport & { left: string[] }> {
  const base = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  const extra = options.headers ?? {};
  const { results, run } = journeyRecorder();
  const visitor = new Client(base, doFetch, extra);
  await run('home', async () => {
    const r = await visitor.call('GET', '/');
    if (r.status !== 200 || !r.text.includes(options.model.app.name))
      throw new Error(`GET / answered ${r.status} without the product's name`);
  });
  await run('ready', async () => {
    const r = await visitor.call('GET', options.readyPath);
    if (r.status !== 200)
      throw new Error(`GET ${options.readyPath} answered ${r.status}: ${r.text.slice(0, 200)}`);
  });
  if (options.readOnly) return { mode: 'http', results, ok: results.every((r) => r.ok), left: [] };

  const tag = randomBytes(4).toString('hex');
  const member = new Client(base, doFetch, extra);
  await run('sign-up', async () => {
    await member.call('GET', '/signin');
    const r = await member.call('POST', '/api/auth/signup', {
      email: `journey-${tag}@example.com`,
      password: `pw-${tag}-${randomBytes(6).toString('hex')}`,
    });
    if (r.status !== 201) throw new Error(`sign-up answered ${r.status}: ${r.text.slice(0, 200)}`);
  });
  const made = new Map<string, string>();
  const mine: { slug: string; id: string; deletable: boolean }[] = [];
  for (const e of orderByReferences(options.model.entities)) {
    if (e.access.create === 'admin') continue;
    const slug = pluralSlug(e);
    // A reference this member cannot make is taken from what it may list, if anything.
    for (const f of e.fields.filter((x) => x.type === 'reference' && !made.has(x.entity ?? ''))) {
      const target = options.model.entities.find((x) => x.name === f.entity);
      if (!target || target.access.list === 'admin') continue;
      const r = await member.call('GET', `/api/${pluralSlug(target)}`);
      const first = r.status === 200 ? (r.json() as { items?: { id: string }[] }).items?.[0] : undefined;
      if (first) made.set(target.name, first.id);
    }
    const missing = e.fields.find((f) => f.type === 'reference' && f.required && !made.has(f.entity ?? ''));
    if (missing) continue;
    await run(`create:${e.name}`, async () => {
      const r = await member.call('POST', `/api/${slug}`, bodyFor(e, `${tag}-${e.name}`, made));
      if (r.status !== 201)
        throw new Error(`POST /api/${slug} answered ${r.status}: ${r.text.slice(0, 200)}`);
      const id = (r.json() as { item: { id: string } }).item.id;
      made.set(e.name, id);
      mine.push({
        slug,
        id,
        deletable:
          e.access.delete === 'owner' || e.access.delete === 'member' || e.access.delete === 'public',
      });
      const back = await member.call('GET', `/api/${slug}/${id}`);
      if (e.access.read !== 'admin' && back.status !== 200)
        throw new Error(`GET /api/${slug}/${id} of its own row answered ${back.status}`);
      if (e.access.read !== 'public') {
        const denied = await visitor.call('GET', `/api/${slug}/${id}`);
        if (![401, 403, 404].includes(denied.status) || denied.text.includes(id))
          throw new Error(`a visitor's GET /api/${slug}/${id} answered ${denied.status}`);
      }
    });
  }
  // The rows it made go again, newest first (a reference before what it refers to).
  const left: string[] = [];
  for (const row of mine.reverse()) {
    const r = row.deletable ? await member.call('DELETE', `/api/${row.slug}/${row.id}`) : undefined;
    if (!r || r.status >= 300) left.push(`${row.slug}/${row.id}`);
  }
  return { mode: 'http', results, ok: results.every((r) => r.ok), left };
}
