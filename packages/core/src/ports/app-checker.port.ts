import type { JourneyReport } from '../domain/delivery.js';
import type { TemplateManifest } from '../domain/template.js';
import type { ProgressReporter } from './code-generator.port.js';
import type { Workspace } from './workspace.port.js';

/**
 * The journey check of a built server app (a template whose manifest declares `start` and
 * `model`): starts the app from the workspace against the given throwaway database, makes its
 * owner through the template's `claim` command, walks the journeys derived from the app model
 * (the pipeline's, never the generator's tests), and stops the app.
 *
 * A failed journey is a result (`ok: false` with its failure text), not an error; errors are
 * for the checker itself (TransientError when it cannot run now, PermanentError when it never
 * can). An aborted `signal` stops the app and rejects with its reason. The database URL is a
 * secret: it reaches the app's environment only, never a log line.
 */
export interface AppChecker {
  readonly specificationVersion: 'v1';
  check(options: {
    workspace: Workspace;
    manifest: TemplateManifest;
    /** `postgresql://…` of the throwaway `check` database, already migrated. */
    databaseUrl: string;
    /** The PEM CA that database's server chains to, when it is not a public one (DATABASE_CA). */
    databaseCa?: string;
    report: ProgressReporter;
    /** Also describe each page the journeys visited (`report.pages`), for a generator to read. */
    outline?: boolean;
    signal?: AbortSignal;
  }): Promise<JourneyReport>;
  /**
   * The journeys a live deployment of the app can take without its owner, over HTTP: the home
   * page and `start.readyPath`; unless `readOnly`, a throwaway member signs up, makes one row of
   * each entity members may make, reads it back, sees a visitor denied it, and deletes it again
   * where the rules let a member. Never the owner claim (the founder's). `headers` go with every
   * request (a protection bypass; a secret, never in the report). A failed journey is a result.
   * Optional: without it DEPLOYING checks the pages only.
   */
  checkDeployed?(options: {
    url: string;
    headers?: Readonly<Record<string, string>>;
    readOnly?: boolean;
    workspace: Workspace;
    manifest: TemplateManifest;
    report: ProgressReporter;
    signal?: AbortSignal;
  }): Promise<JourneyReport>;
  /**
   * Runs one SQL statement read-only (a read-only transaction, rolled back; a statement timeout;
   * at most `maxRows` rows) against `databaseUrl`, the throwaway `check` database, so a
   * generator can see what its app stored. A statement the database refuses (a write, a syntax
   * error) is `ok: false` with the database's message, not an error. Optional.
   */
  query?(options: {
    databaseUrl: string;
    databaseCa?: string;
    sql: string;
    maxRows: number;
    signal?: AbortSignal;
  }): Promise<QueryOutcome>;
}

/** A read-only query's answer, or the database's refusal. */
export type QueryOutcome =
  | { ok: true; columns: string[]; rows: unknown[][]; rowCount: number; truncated: boolean }
  | { ok: false; message: string };
