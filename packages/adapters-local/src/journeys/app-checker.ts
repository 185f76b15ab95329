import { readFile } from 'node:fs/promises';
import {
  type AppChecker,
  createRedactor,
  type JourneyReport,
  type JourneyResult,
  PermanentError,
  parseAppModel,
  postgresTlsOptions,
  type QueryOutcome,
  type Redactor,
  TransientError,
  ValidationError,
} from '@mvp-pipeline/core';
import { resolveInside } from '@mvp-pipeline/workspace';
import pg from 'pg';
import { claimOwner, serverAppOf, startServerApp } from '../apps/server-app.js';
import { findChromium } from '../browser/chromium.js';
import { runBrowserJourneys } from './browser-journeys.js';
import { runDeployedJourneys } from './deployed-journeys.js';
import { runHttpJourneys } from './http-journeys.js';

export interface JourneyAppCheckerSettings {
  /** The browser to walk the journeys in; without one found, the HTTP-only journeys run. */
  chromiumPath?: string | undefined;
  /** `false`: the HTTP-only journeys, even where Chromium is installed. Default true. */
  browser?: boolean;
  /** How long the app has to answer its `readyPath` with 200. Default 90 000 ms. */
  startTimeoutMs?: number;
  /** Per browser action (a navigation, a click, a wait). Default 15 000 ms. */
  journeyTimeoutMs?: number;
  /** Time allowed to the `claim` command. Default 60 000 ms. */
  claimTimeoutMs?: number;
}

const DEFAULT_START_TIMEOUT_MS = 90_000;
const DEFAULT_JOURNEY_TIMEOUT_MS = 15_000;
const DEFAULT_CLAIM_TIMEOUT_MS = 60_000;

/**
 * The AppChecker of a built server app in its workspace: validates the app model
 * (`manifest.model`, with the core's parseAppModel), starts `manifest.commands.start` (see
 * startServerApp: isolated, port in `manifest.start.portEnv`, bound to 127.0.0.1, `APP_URL`, the
 * database URL as a secret) and waits for `manifest.start.readyPath` to answer 200, makes a
 * one-time owner link with `manifest.commands.claim` (a secret, never logged), walks the journeys
 * in Chromium (or over HTTP only when no Chromium is found: `mode: 'http'`), logs one line per
 * journey, and always stops the app. An app that does not start, or a claim that fails, is a
 * failed `start` / `claim` journey (the generated code's fault, for a repair round) quoting the
 * redacted tail of its output. A manifest without `model`, `start`, `commands.start` or
 * `commands.claim` is a PermanentError, an invalid model a ValidationError, a browser that cannot
 * run a PermanentError; an aborted signal stops the app and rejects with its reason.
 */
export function createJourneyAppChecker(settings: JourneyAppCheckerSettings = {}): AppChecker {
  const startTimeoutMs = settings.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const journeyTimeoutMs = settings.journeyTimeoutMs ?? DEFAULT_JOURNEY_TIMEOUT_MS;
  const claimTimeoutMs = settings.claimTimeoutMs ?? DEFAULT_CLAIM_TIMEOUT_MS;
  for (const [name, value] of Object.entries({ startTimeoutMs, journeyTimeoutMs, claimTimeoutMs })) {
    if (!(value > 0)) {
      throw new ValidationError('journey app checker settings', [
        { path: name, message: 'must be a positive number of milliseconds' },
      ]);
    }
  }
  return {
    specificationVersion: 'v1',
    async check({
      workspace,
      manifest,
      databaseUrl,
      databaseCa,
      report,
      outline,
      signal,
    }): Promise<JourneyReport> {
      signal?.throwIfAborted();
      const app = serverAppOf(manifest, ['claim', 'model']);
      const modelFile = app.model!;
      const model = parseAppModel(await readModel(workspace.dir, modelFile), `app model ${modelFile}`);
      const chromium = settings.browser === false ? undefined : findChromium(settings.chromiumPath);
      const mode: JourneyReport['mode'] = chromium ? 'browser' : 'http';
      if (!chromium) {
        report.log('No Chromium found: walking the HTTP-only journeys (no browser check)', 'warn');
      }
      const secrets = [databaseUrl];
      const redact: Redactor = (text) => createRedactor(secrets)(text);
      const failed = (name: string, failure: string): JourneyReport => {
        report.log(`Journey ${name} failed: ${redact(failure).split('\n')[0]}`, 'error');
        return { mode, ok: false, results: [{ name, ok: false, failure: redact(failure), durationMs: 0 }] };
      };

      report.log(`Starting the app: ${app.start.join(' ')}`);
      const begun = Date.now();
      const started = await startServerApp({
        dir: workspace.dir,
        app,
        databaseUrl,
        databaseCa,
        timeoutMs: startTimeoutMs,
        ...(signal ? { signal } : {}),
      });
      if (!started.ok) return failed('start', started.failure);
      const { running } = started;
      try {
        report.log(`The app answers on ${running.url} (${Date.now() - begun} ms)`);
        const claim = await claimOwner({
          dir: workspace.dir,
          app,
          databaseUrl,
          databaseCa,
          appUrl: running.url,
          timeoutMs: claimTimeoutMs,
          ...(signal ? { signal } : {}),
        });
        if (claim.kind === 'owned') {
          return failed('claim', 'The check database already has an owner: it is not a fresh one');
        }
        if (claim.kind === 'failed') return failed('claim', claim.failure);
        const claimUrl = claim.url;
        secrets.push(claimUrl, new URL(claimUrl).pathname.split('/').pop() ?? claimUrl);

        const logResult = (r: JourneyResult) =>
          report.log(
            r.ok
              ? `Journey ${r.name} ok`
              : `Journey ${r.name} failed: ${redact(r.failure ?? 'no reason given')}`,
            r.ok ? 'info' : 'error',
          );
        let walked: JourneyReport;
        try {
          walked = chromium
            ? await runBrowserJourneys({
                baseUrl: running.url,
                model,
                claimUrl,
                executablePath: chromium,
                timeoutMs: journeyTimeoutMs,
                onResult: logResult,
                ...(outline ? { outline } : {}),
              })
            : await runHttpJourneys({ baseUrl: running.url, model, claimUrl });
        } catch (error) {
          signal?.throwIfAborted();
          throw new PermanentError(
            `The ${mode} journeys could not run: ${redact(error instanceof Error ? error.message : String(error))}`,
          );
        }
        signal?.throwIfAborted();
        if (!chromium) walked.results.forEach(logResult);
        // A journey's failure may quote a URL it visited: the claim link never leaves here.
        const results = walked.results.map((r) =>
          r.failure === undefined ? r : { ...r, failure: redact(r.failure) },
        );
        const pages = walked.pages?.map((page) => ({
          ...page,
          problems: page.problems.map(redact),
          links: page.links.map(redact),
        }));
        return { mode, ok: results.every((r) => r.ok), results, ...(pages ? { pages } : {}) };
      } finally {
        await running.stop();
      }
    },
    async checkDeployed({ url, headers, readOnly, workspace, manifest, report, signal }) {
      signal?.throwIfAborted();
      const app = serverAppOf(manifest, ['model']);
      const modelFile = app.model!;
      const model = parseAppModel(await readModel(workspace.dir, modelFile), `app model ${modelFile}`);
      const secrets = Object.values(headers ?? {});
      const redact: Redactor = (text) => createRedactor(secrets)(text);
      const walked = await runDeployedJourneys({
        baseUrl: url,
        model,
        readyPath: app.readyPath,
        ...(headers ? { headers } : {}),
        ...(readOnly ? { readOnly } : {}),
      });
      signal?.throwIfAborted();
      for (const r of walked.results)
        report.log(
          r.ok ? `Live journey ${r.name} ok` : `Live journey ${r.name} failed: ${redact(r.failure ?? '')}`,
          r.ok ? 'info' : 'error',
        );
      if (walked.left.length)
        report.log(
          `Left ${walked.left.length} rows the app's rules do not let a member delete: ${walked.left.join(', ')}`,
          'warn',
        );
      const results = walked.results.map((r) =>
        r.failure === undefined ? r : { ...r, failure: redact(r.failure) },
      );
      return { mode: walked.mode, ok: walked.ok, results };
    },
    query: (options) => readOnlyQuery(options),
  };
}

/** Names for a TLS problem of the check database's URL and CA (the apps' server settings). */
const QUERY_TLS_VARIABLES = { url: 'MVP_APPS_DATABASE_URL', ca: 'MVP_APPS_DATABASE_CA' };

/** Longest a generator's query may run. */
const QUERY_TIMEOUT_MS = 10_000;

/**
 * One statement in a read-only transaction that is always rolled back, under a statement
 * timeout set inside it (not as a startup parameter, which poolers refuse). The database's
 * refusal (a write in a read-only transaction, bad SQL) is the answer, not an error.
 */
export async function readOnlyQuery(options: {
  databaseUrl: string;
  databaseCa?: string | undefined;
  sql: string;
  maxRows: number;
  signal?: AbortSignal;
}): Promise<QueryOutcome> {
  const redact = createRedactor([options.databaseUrl]);
  const client = new pg.Client(
    postgresTlsOptions(options.databaseUrl, options.databaseCa, QUERY_TLS_VARIABLES),
  );
  const onAbort = () => void client.end().catch(() => undefined);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await client.connect();
  } catch (error) {
    options.signal?.removeEventListener('abort', onAbort);
    await client.end().catch(() => undefined);
    throw new TransientError(`Cannot reach the check database: ${redact((error as Error).message)}`);
  }
  try {
    await client.query('BEGIN READ ONLY');
    await client.query(`SET LOCAL statement_timeout = ${QUERY_TIMEOUT_MS}`);
    // The extended protocol takes one statement: no `COMMIT; DELETE …` out of the read-only transaction.
    const config: pg.QueryArrayConfig = { text: options.sql, rowMode: 'array' };
    const result = await client.query({ ...config, queryMode: 'extended' } as pg.QueryArrayConfig);
    const rows = (result.rows ?? []) as unknown[][];
    return {
      ok: true,
      columns: (result.fields ?? []).map((f) => f.name),
      rows: rows.slice(0, options.maxRows),
      rowCount: result.rowCount ?? rows.length,
      truncated: rows.length > options.maxRows,
    };
  } catch (error) {
    options.signal?.throwIfAborted();
    return { ok: false, message: redact((error as Error).message) };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await client.query('ROLLBACK').catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

async function readModel(dir: string, file: string): Promise<unknown> {
  const text = await readFile(await resolveInside(dir, file), 'utf8').catch((error: unknown) => {
    throw new PermanentError(`Cannot read the app model ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  });
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ValidationError(`app model ${file}`, [
      { path: '', message: `is not JSON: ${(error as Error).message}` },
    ]);
  }
}
