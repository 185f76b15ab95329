// Over 400 lines: the journeys share one browser, one set of accounts and the rows they create, in
// order; the model reading and the HTTP-only journeys are modules of their own.

import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type PageOutline, pluralSlug } from '@mvp-pipeline/core';
import type { APIRequestContext, Browser, BrowserContext, Page } from 'playwright-core';
import { CHROMIUM_ARGS } from '../browser/chromium.js';
import {
  type AccessLevel,
  deriveJourneys,
  HOSTILE_TEXT,
  type Journey,
  type JourneyEntity,
  type JourneyField,
  type JourneyModel,
  type JourneyReport,
  type JourneyResult,
} from './model.js';
import { outlinePages } from './page-outline.js';

export interface BrowserJourneyOptions {
  /** The running app, e.g. `http://127.0.0.1:41234`. */
  baseUrl: string;
  model: JourneyModel;
  /** The one-time owner link the app's `owner-claim` command printed (it is used up here). */
  claimUrl: string;
  executablePath: string;
  /** Per action, in milliseconds. Default 15 000. */
  timeoutMs?: number;
  /** Called as each journey ends (progress for logs). */
  onResult?: (result: JourneyResult) => void;
  /** Also outline every page the journeys visited (`pages` of the report). */
  outline?: boolean;
}

class JourneyFailure extends Error {}
const fail = (message: string): never => {
  throw new JourneyFailure(message);
};

interface Actor {
  role: 'admin' | 'member' | 'visitor';
  context: BrowserContext;
  page: Page;
  email: string;
  password: string;
  /** Console errors, page errors and failed requests seen on this actor's page. */
  problems: string[];
}

/** Every page the journeys opened, in order, with the context that opened it. */
interface Visit {
  path: string;
  context: BrowserContext;
}

interface Made {
  id: string;
  display: string;
  /** The marker typed into its text fields: found in a response, the row's data leaked. */
  unique: string;
  by: Actor;
}

const DENIED = [401, 403, 404];

/**
 * Walks the running app in headless Chromium, one journey after another, as its owner, two
 * member accounts and a visitor: the home page, the accounts, each entity's happy path through
 * its forms, the capacity rule, check-in, the CSV download, and access denied to the others.
 * A journey fails on a wrong outcome, a console error or a failed request; later journeys that
 * need what it should have made fail with that reason. Never throws for a failed journey.
 */
export async function runBrowserJourneys(options: BrowserJourneyOptions): Promise<JourneyReport> {
  const { chromium } = await import('playwright-core');
  const base = options.baseUrl.replace(/\/+$/, '');
  const timeout = options.timeoutMs ?? 15_000;
  const browser: Browser = await chromium.launch({
    executablePath: options.executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 60_000,
  });
  const tag = randomBytes(3).toString('hex');
  const results: JourneyResult[] = [];
  const visits: Visit[] = [];
  let pages: PageOutline[] | undefined;
  try {
    const newActor = async (
      role: Actor['role'],
      name: string,
      viewport = { width: 1280, height: 860 },
    ): Promise<Actor> => {
      const context = await browser.newContext({ baseURL: base, viewport, acceptDownloads: true });
      context.setDefaultTimeout(timeout);
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console error on ${page.url()}: ${m.text().slice(0, 300)}`);
      });
      page.on('pageerror', (e) => problems.push(`script error on ${page.url()}: ${e.message.slice(0, 300)}`));
      page.on('framenavigated', (frame) => {
        if (frame !== page.mainFrame()) return;
        const url = new URL(frame.url());
        // The claim link is a one-time secret: it is never opened twice, nor shown.
        if (url.origin === new URL(base).origin && !url.pathname.startsWith('/claim'))
          visits.push({ path: url.pathname, context });
      });
      page.on('requestfailed', (r) => {
        const text = r.failure()?.errorText ?? '';
        // Cancelled by the browser itself (a navigation or a download took over), not a failure.
        if (text.includes('ERR_ABORTED')) return;
        problems.push(`request failed: ${r.method()} ${r.url()} (${text})`);
      });
      page.on('response', (r) => {
        if (r.status() >= 400 && r.request().resourceType() !== 'document') {
          problems.push(`request failed: ${r.request().method()} ${r.url()} answered ${r.status()}`);
        }
      });
      return {
        role,
        context,
        page,
        email: `${name}-${tag}@example.com`,
        password: `pw-${tag}-${randomBytes(6).toString('hex')}`,
        problems,
      };
    };

    const owner = await newActor('admin', 'owner');
    const memberA = await newActor('member', 'member-a');
    let memberB: Actor | undefined;
    const visitor = await newActor('visitor', 'visitor');
    const made = new Map<string, Made[]>();
    const entities = new Map(options.model.entities.map((e) => [e.name, e]));

    const signUp = async (actor: Actor) => {
      await actor.page.goto('/signup');
      const form = actor.page.locator('main form[action="/api/auth/signup"]');
      await form.locator('[name="email"]').fill(actor.email);
      await form.locator('[name="password"]').fill(actor.password);
      await Promise.all([
        actor.page.waitForURL((u) => !u.pathname.startsWith('/signup') || u.search.includes('error')),
        form.locator('button[type="submit"]').click(),
      ]);
      const error = await flashError(actor.page);
      if (error) fail(`sign-up of ${actor.email} said: ${error}`);
      await expectSignedIn(actor);
    };
    const ensureMemberB = async () => {
      if (!memberB) {
        memberB = await newActor('member', 'member-b', { width: 390, height: 844 });
        await signUp(memberB);
      }
      return memberB;
    };

    const run = async (journey: Journey, actors: Actor[], body: () => Promise<void>) => {
      const started = Date.now();
      const before = actors.map((a) => a.problems.length);
      let failure: string | undefined;
      try {
        await body();
      } catch (error) {
        failure =
          error instanceof JourneyFailure
            ? error.message
            : `${(error as Error).message}`.split('\n')[0]?.slice(0, 500);
      }
      const problems = actors.flatMap((a, i) => a.problems.slice(before[i]));
      if (!failure && problems.length > 0) failure = problems.slice(0, 5).join('; ');
      const result: JourneyResult = {
        name: journey.name,
        ok: failure === undefined,
        durationMs: Date.now() - started,
        ...(failure ? { failure } : {}),
      };
      results.push(result);
      options.onResult?.(result);
    };

    for (const journey of deriveJourneys(options.model)) {
      const entity = journey.entity ? entities.get(journey.entity) : undefined;
      switch (journey.kind) {
        case 'home':
          await run(journey, [visitor], async () => {
            const response = await visitor.page.goto('/');
            if (response?.status() !== 200) fail(`GET / answered ${response?.status()}`);
            const h1 = ((await visitor.page.locator('h1').first().textContent()) ?? '').trim();
            const title = await visitor.page.title();
            if (!h1.includes(options.model.app.name) && !title.includes(options.model.app.name)) {
              fail(
                `the home page does not name the product "${options.model.app.name}" (h1: "${h1.slice(0, 80)}")`,
              );
            }
            const hrefs = await visitor.page
              .locator('main a[href^="/"]')
              .evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? ''));
            const features = [
              '/signup',
              ...options.model.entities
                .filter((e) => e.access.list === 'public')
                .map((e) => `/${pluralSlug(e)}`),
            ];
            if (!hrefs.some((h) => features.includes(h)))
              fail(
                `no call to action on the home page leads into the app (links: ${hrefs.join(', ') || 'none'})`,
              );
            for (const href of [...new Set(hrefs)].slice(0, 6)) {
              const r = await visitor.context.request.get(href);
              if (r.status() !== 200) fail(`the home page's link ${href} answered ${r.status()}`);
            }
          });
          break;
        case 'owner':
          await run(journey, [owner], async () => {
            await owner.page.goto(options.claimUrl);
            const form = owner.page.locator('main form[action="/api/auth/claim"]');
            await form.locator('[name="email"]').fill(owner.email);
            await form.locator('[name="password"]').fill(owner.password);
            await Promise.all([
              owner.page.waitForURL((u) => u.pathname === '/admin' || u.search.includes('error')),
              form.locator('button[type="submit"]').click(),
            ]);
            const error = await flashError(owner.page);
            if (error) fail(`claiming the app said: ${error}`);
            if (!(await owner.page.locator('h1', { hasText: 'Admin' }).count()))
              fail('after the claim, /admin does not show the admin page');
          });
          break;
        case 'sign-up':
          await run(journey, [memberA], () => signUp(memberA));
          break;
        case 'sign-out':
          await run(journey, [memberA], async () => {
            await memberA.page.goto('/signout');
            const form = memberA.page.locator('main form[action="/api/auth/signout"]');
            await Promise.all([
              memberA.page.waitForURL((u) => u.pathname === '/signin'),
              form.locator('button[type="submit"]').click(),
            ]);
            await memberA.page.goto('/signup');
            if (((await memberA.page.locator('header').textContent()) ?? '').includes(memberA.email))
              fail('still signed in after signing out');
            const cookies = await memberA.context.cookies();
            if (cookies.some((c) => c.name === 'sid' && c.value))
              fail('the session cookie is still set after signing out');
          });
          break;
        case 'sign-in':
          await run(journey, [memberA], async () => {
            await memberA.page.goto('/signin');
            const form = memberA.page.locator('main form[action="/api/auth/signin"]');
            await form.locator('[name="email"]').fill(memberA.email);
            await form.locator('[name="password"]').fill(memberA.password);
            await Promise.all([
              memberA.page.waitForURL((u) => u.pathname !== '/signin' || u.search.includes('error')),
              form.locator('button[type="submit"]').click(),
            ]);
            const error = await flashError(memberA.page);
            if (error) fail(`sign-in said: ${error}`);
            await expectSignedIn(memberA);
            const sid = (await memberA.context.cookies()).find((c) => c.name === 'sid');
            if (!sid?.httpOnly || sid.sameSite !== 'Lax')
              fail('the session cookie is not httpOnly and SameSite=Lax');
          });
          break;
        case 'create':
          await run(journey, [owner, memberA], async () => {
            const e = entity ?? fail('unknown entity');
            const creator = e.access.create === 'admin' ? owner : memberA;
            const row = await createThroughForm(e, creator, `${tag}-${e.name}-1`);
            made.set(e.name, [...(made.get(e.name) ?? []), row]);
            // See it listed: on the entity's list when the creator may list, else in the admin table.
            const path = allows(e.access.list, creator.role)
              ? `/${pluralSlug(e)}`
              : `/admin/${pluralSlug(e)}`;
            const viewer = allows(e.access.list, creator.role) ? creator : owner;
            await viewer.page.goto(path);
            await expectText(viewer.page, row.display, `${path} does not list the new ${e.name}`);
          });
          break;
        case 'capacity':
          await run(journey, [owner, memberA], async () => {
            const e = entity ?? fail('unknown entity');
            const first = made.get(e.name)?.[0] ?? fail(`no ${e.name} was created (create:${e.name} failed)`);
            const status = (await ownerGet(e, first.id))?.status;
            if (status !== 'confirmed')
              fail(`the first ${e.name} for a parent with one seat is "${status}", not confirmed`);
            const b = await ensureMemberB();
            const second = await createThroughForm(e, b, `${tag}-${e.name}-2`);
            made.get(e.name)?.push(second);
            const secondStatus = (await ownerGet(e, second.id))?.status;
            if (secondStatus !== 'waitlisted')
              fail(`the ${e.name} after the last seat is "${secondStatus}", not waitlisted`);
            if (
              !(await b.page.locator('.badge', { hasText: 'waitlisted' }).count()) &&
              !(await b.page.getByText(/waitlist/i).count())
            ) {
              fail('the page does not tell the second account it is on the waitlist');
            }
          });
          break;
        case 'check-in':
          await run(journey, [owner], async () => {
            const e = entity ?? fail('unknown entity');
            const row = made.get(e.name)?.[0] ?? fail(`no ${e.name} was created`);
            await owner.page.setViewportSize({ width: 390, height: 844 });
            try {
              await owner.page.goto(`/admin/${pluralSlug(e)}/check-in`);
              const item = owner.page.locator('li', { hasText: row.display });
              if ((await item.count()) === 0) fail(`the check-in page does not list "${row.display}"`);
              await Promise.all([
                owner.page.waitForLoadState('load'),
                item.first().locator('button', { hasText: 'Check in' }).click(),
              ]);
              await owner.page
                .locator('li', { hasText: row.display })
                .first()
                .getByText('Checked in')
                .waitFor();
              if (!(await ownerGet(e, row.id))?.checked_in_at)
                fail('the row is not checked in in the database');
              await owner.page
                .locator('li', { hasText: row.display })
                .first()
                .locator('button', { hasText: 'Undo' })
                .click();
              await owner.page.locator('li', { hasText: row.display }).first().getByText('Not yet').waitFor();
              if ((await ownerGet(e, row.id))?.checked_in_at) fail('undoing the check-in did not clear it');
            } finally {
              await owner.page.setViewportSize({ width: 1280, height: 860 });
            }
          });
          break;
        case 'csv':
          await run(journey, [owner], async () => {
            const e = entity ?? fail('unknown entity');
            const rows = made.get(e.name) ?? fail(`no ${e.name} was created`);
            await owner.page.goto(`/admin/${pluralSlug(e)}`);
            const [download] = await Promise.all([
              owner.page.waitForEvent('download'),
              owner.page.getByRole('link', { name: /csv/i }).first().click(),
            ]);
            const file = await download.path();
            const csv = await readFile(file, 'utf8');
            const [header, ...lines] = csv.trim().split(/\r\n/);
            if (!header?.startsWith('id,'))
              fail(`the CSV's first line is not a header starting with id: ${header?.slice(0, 80)}`);
            for (const row of rows)
              if (!lines.some((l) => l.startsWith(`${row.id},`))) fail(`the CSV has no line for ${row.id}`);
          });
          break;
        case 'access':
          await run(journey, [], async () => {
            const e = entity ?? fail('unknown entity');
            const rows = made.get(e.name) ?? fail(`no ${e.name} was created to protect`);
            const b = await ensureMemberB();
            await visitor.page.goto('/signin'); // a CSRF cookie, so denials come from the access rules
            const problems: string[] = [];
            for (const target of rows) {
              for (const actor of [visitor, b]) {
                if (actor === target.by) continue;
                problems.push(...(await probe(e, actor, target)));
              }
            }
            if (problems.length) fail(problems.slice(0, 6).join('; '));
          });
          break;
      }
    }

    async function flashError(page: Page): Promise<string | undefined> {
      const error = page.locator('.flash-error');
      return (await error.count()) ? ((await error.first().textContent()) ?? '').trim() : undefined;
    }

    async function expectSignedIn(actor: Actor) {
      await actor.page.goto('/signout');
      const header = (await actor.page.locator('header').textContent()) ?? '';
      if (!header.includes(actor.email))
        fail(`${actor.email} is not signed in (the header does not show the account)`);
    }

    async function expectText(page: Page, text: string, message: string) {
      const body = (await page.locator('main').textContent()) ?? '';
      if (!body.includes(text)) fail(`${message} ("${text.slice(0, 60)}")`);
      if ((await page.locator('main b', { hasText: 'bold' }).count()) > 0)
        fail(`${page.url()} rendered stored text as markup`);
    }

    async function ownerGet(e: JourneyEntity, id: string): Promise<Record<string, unknown> | undefined> {
      const r = await owner.context.request.get(`/api/${pluralSlug(e)}/${id}`);
      return r.ok() ? ((await r.json()) as { item: Record<string, unknown> }).item : undefined;
    }

    async function createThroughForm(e: JourneyEntity, actor: Actor, unique: string): Promise<Made> {
      const slug = pluralSlug(e);
      const refs = e.fields.filter((f) => f.type === 'reference');
      const fixedBy = refs.find((f) => e.access.create !== 'admin' && made.get(f.entity ?? '')?.length);
      const parentOf = (f: JourneyField) =>
        made.get(f.entity ?? '')?.[0] ?? fail(`no ${f.entity} to reference (create:${f.entity} failed)`);
      const page = actor.page;
      if (fixedBy)
        await page.goto(
          `/${pluralSlug(entities.get(fixedBy.entity ?? '') ?? fail('unknown parent'))}/${parentOf(fixedBy).id}`,
        );
      else await page.goto(`/${slug}`);
      const form = page.locator(`main form[action="/api/${slug}"]`);
      if ((await form.count()) === 0) fail(`${page.url()} has no form to create ${e.name}`);
      let display = '';
      for (const f of e.fields) {
        if (f.type === 'user' || f === fixedBy) continue;
        const input = form.locator(`[name="${f.name}"]`);
        const value = sampleValue(e, f, unique);
        if (f.name === (e.display ?? e.fields.find((x) => x.type === 'text' || x.type === 'email')?.name))
          display = value;
        if (f.type === 'boolean') await input.check();
        else if (f.type === 'enum') await input.selectOption(value);
        else if (f.type === 'reference') await input.selectOption(parentOf(f).id);
        else await input.fill(value);
      }
      await Promise.all([
        page.waitForURL((u) => u.search.includes('notice') || u.search.includes('error')),
        form.locator('button[type="submit"]').click(),
      ]);
      const error = await flashError(page);
      if (error) fail(`creating ${e.name} through the form said: ${error}`);
      const listed = await owner.context.request.get(`/api/${slug}`);
      if (!listed.ok()) fail(`the owner cannot list /api/${slug} (${listed.status()})`);
      const items = ((await listed.json()) as { items: Array<Record<string, unknown>> }).items;
      const item = items.find((i) =>
        Object.values(i).some((v) => typeof v === 'string' && v.includes(unique)),
      );
      if (!item) fail(`the new ${e.name} is not in the database (no row carries "${unique}")`);
      const stored = item as Record<string, unknown>;
      for (const f of e.fields) {
        if ((f.type === 'text' || f.type === 'longText') && stored[f.name] !== sampleValue(e, f, unique)) {
          fail(`${e.name}.${f.name} was not stored as the text typed: ${JSON.stringify(stored[f.name])}`);
        }
      }
      return { id: String(stored.id), display: display || String(stored.id).slice(0, 8), unique, by: actor };
    }

    /** What `actor` (a visitor or another account) can see of and do to `target`: problems found. */
    async function probe(e: JourneyEntity, actor: Actor, target: Made): Promise<string[]> {
      const slug = pluralSlug(e);
      const req: APIRequestContext = actor.context.request;
      const csrf = (await actor.context.cookies()).find((c) => c.name === 'csrf')?.value ?? '';
      const who = actor.role === 'visitor' ? 'a visitor' : 'another account';
      const ownsNothing = (level: AccessLevel) =>
        level === 'admin' || level === 'owner' || (level === 'member' && actor.role === 'visitor');
      const out: string[] = [];
      // A page's HTML carries its own URL (so the id) in Next's payload: pages are judged by the row's text.
      const leaks = (text: string, api = true) =>
        (api && text.includes(target.id)) || text.includes(target.unique);
      const check = async (what: string, response: Awaited<ReturnType<APIRequestContext['get']>>) => {
        const body = await response.text();
        if (!DENIED.includes(response.status()))
          out.push(`${who}: ${what} answered ${response.status()}, not 401/403/404`);
        else if (leaks(body, what.includes(' /api/')))
          out.push(`${who}: ${what} answered ${response.status()} but with the row's data`);
      };
      if (ownsNothing(e.access.list)) {
        const r = await req.get(`/api/${slug}`);
        if (e.access.list === 'owner' && actor.role === 'member' && r.ok()) {
          if (leaks(await r.text())) out.push(`${who}: GET /api/${slug} lists a row that is not theirs`);
        } else await check(`GET /api/${slug}`, r);
        if (e.access.list !== 'owner') await check(`GET /${slug}`, await req.get(`/${slug}`));
      }
      if (ownsNothing(e.access.read)) {
        await check(`GET /api/${slug}/${target.id}`, await req.get(`/api/${slug}/${target.id}`));
        await check(`GET /${slug}/${target.id}`, await req.get(`/${slug}/${target.id}`));
      }
      await check(`GET /admin/${slug}`, await req.get(`/admin/${slug}`));
      if (e.rules?.csvExport) await check(`GET /admin/${slug}.csv`, await req.get(`/admin/${slug}.csv`));
      const headers = { 'x-csrf-token': csrf, 'content-type': 'application/json', origin: base };
      if (ownsNothing(e.access.update)) {
        await check(
          `PATCH /api/${slug}/${target.id}`,
          await req.patch(`/api/${slug}/${target.id}`, { headers, data: {} }),
        );
      }
      if (ownsNothing(e.access.delete)) {
        await check(
          `DELETE /api/${slug}/${target.id}`,
          await req.delete(`/api/${slug}/${target.id}`, { headers }),
        );
        if (!(await ownerGet(e, target.id)))
          out.push(`${who}: DELETE /api/${slug}/${target.id} removed the row`);
      }
      if (e.access.create === 'admin' || (e.access.create !== 'public' && actor.role === 'visitor')) {
        const r = await req.post(`/api/${slug}`, { headers, data: {} });
        if (![401, 403].includes(r.status()))
          out.push(`${who}: POST /api/${slug} answered ${r.status()}, not 401/403`);
      }
      if (e.rules?.checkIn) {
        const r = await req.post(`/api/${slug}/${target.id}/check-in`, { headers, data: {} });
        if (!DENIED.includes(r.status()))
          out.push(`${who}: POST /api/${slug}/${target.id}/check-in answered ${r.status()}`);
      }
      return out;
    }
    if (options.outline) pages = await outlinePages(visits);
  } finally {
    await browser.close().catch(() => undefined);
  }
  return { mode: 'browser', results, ok: results.every((r) => r.ok), ...(pages ? { pages } : {}) };
}

function allows(level: AccessLevel, role: Actor['role']): boolean {
  if (level === 'public') return true;
  if (level === 'admin') return role === 'admin';
  return role !== 'visitor';
}

/** A value for `f` a form accepts: text carries hostile characters and `unique`, within the limits. */
export function sampleValue(_e: JourneyEntity, f: JourneyField, unique: string): string {
  switch (f.type) {
    case 'text':
    case 'longText': {
      const max = f.maxLength ?? 120;
      const room = Math.max(0, max - unique.length - 1);
      const text = room > 0 ? `${HOSTILE_TEXT.slice(0, room).trim()} ${unique}` : unique.slice(0, max);
      return text.trim();
    }
    case 'email':
      return `j-${unique}-${f.name}@example.com`.toLowerCase().replace(/_/g, '-');
    case 'number': {
      const lo = f.min ?? 1;
      const hi = f.max ?? Number.MAX_SAFE_INTEGER;
      const one = lo <= 1 && hi >= 1 ? 1 : lo;
      return String(one);
    }
    case 'money':
      return '12.50';
    case 'datetime':
      return '2030-06-01T18:30';
    case 'enum':
      return f.values?.[0] ?? '';
    case 'boolean':
      return 'on';
    default:
      return '';
  }
}
