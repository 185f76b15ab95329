import type { DatabaseProvisioner } from '../ports/database-provisioner.port.js';
import { type Harness, rejectionCode, type TestApi, withHarness } from './test-api.js';

/** The answer of a query run over a real connection: its rows, or the error it failed with. */
export type QueryOutcome = { ok: true; rows: Record<string, unknown>[] } | { ok: false; error: string };

export interface DatabaseProvisionerHarness extends Harness {
  provisioner: DatabaseProvisioner;
  /** Opens a connection with `url` (as the app would), runs `sql`, closes it. Never throws. */
  query(url: string, sql: string): Promise<QueryOutcome>;
  /** Whether the server holds a database of this name (asked as its administrator). */
  databaseExists(database: string): Promise<boolean>;
  /** Whether the server holds a login role of this name. */
  roleExists(role: string): Promise<boolean>;
  /** Every secret value the provisioner registered with the redactor it was given. */
  registeredSecrets(): readonly string[];
  /**
   * Whether the server checks passwords. False only for a server configured with `trust`
   * authentication (the test machine's own), where the database privileges alone keep MVPs apart.
   */
  checksPasswords: boolean;
  /**
   * Whether the role cannot give itself more rights (default true). False for PGlite: one
   * session user, a superuser, behind every connection, so `SET SESSION AUTHORIZATION DEFAULT`
   * takes its rights back; there the database's own server and port are the only boundary.
   */
  confinesRoles?: boolean;
  /**
   * A provisioner of the same kind whose server does not answer now (a closed port, say; for
   * PGlite, a database another live process serves).
   */
  unreachable(): DatabaseProvisioner;
}

/** A job id unique to this run, so suites sharing a server never meet each other's databases. */
const runTag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const jobId = (name: string) => `job_${name}_${runTag}`;

/** `url` with its database path replaced: the same credentials asking for another database. */
function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export function databaseProvisionerContract(
  t: TestApi,
  name: string,
  create: () => Promise<DatabaseProvisionerHarness> | DatabaseProvisionerHarness,
): void {
  const { describe, it, expect } = t;
  // Creating databases is slow on a loaded machine; a test may take this long.
  const slow = 60_000;
  describe(`DatabaseProvisioner contract: ${name}`, () => {
    withHarness(t, create, (use) => {
      it(
        'provisions a database whose URL works, described without a secret',
        async () => {
          const h = use();
          const job = jobId('p1');
          try {
            const db = await h.provisioner.provision({ jobId: job, purpose: 'app' });
            expect(db.created).toBe(true);
            expect(db.resource.purpose).toBe('app');
            expect(new URL(db.connectionUrl).pathname).toBe(`/${db.resource.database}`);
            expect(await h.query(db.connectionUrl, 'CREATE TABLE note (body text)')).toEqual({
              ok: true,
              rows: [],
            });
            await h.query(db.connectionUrl, "INSERT INTO note VALUES ('kept')");
            expect(await h.query(db.connectionUrl, 'SELECT body FROM note')).toEqual({
              ok: true,
              rows: [{ body: 'kept' }],
            });
            // The URL and its password are secrets: registered, and absent from the resource.
            const password = decodeURIComponent(new URL(db.connectionUrl).password);
            expect(password.length).toBeGreaterThanOrEqual(16);
            expect(h.registeredSecrets()).toEqual(expect.arrayContaining([db.connectionUrl, password]));
            const described = JSON.stringify(db.resource);
            expect(described).not.toContain(password);
            expect(described).not.toContain(encodeURIComponent(password));
            const found = await h.provisioner.describe({ jobId: job, purpose: 'app' });
            expect(found.resource).toEqual(db.resource);
          } finally {
            await h.provisioner.release({ jobId: job, purpose: 'app' });
          }
        },
        slow,
      );

      it(
        'finds the same database, data kept, when a job provisions again',
        async () => {
          const h = use();
          const job = jobId('p2');
          try {
            const first = await h.provisioner.provision({ jobId: job, purpose: 'app' });
            await h.query(first.connectionUrl, "CREATE TABLE t AS SELECT 'v1' AS v");
            const again = await h.provisioner.provision({ jobId: job, purpose: 'app' });
            expect(again.created).toBe(false);
            expect(again.resource).toEqual(first.resource);
            expect(await h.query(again.connectionUrl, 'SELECT v FROM t')).toEqual({
              ok: true,
              rows: [{ v: 'v1' }],
            });
            // Two attempts racing end with one database, both URLs working.
            const [a, b] = await Promise.all([
              h.provisioner.provision({ jobId: job, purpose: 'app' }),
              h.provisioner.provision({ jobId: job, purpose: 'app' }),
            ]);
            expect(a.resource.database).toBe(b.resource.database);
            expect((await h.query(a.connectionUrl, 'SELECT 1 AS one')).ok).toBe(true);
            expect((await h.query(b.connectionUrl, 'SELECT 1 AS one')).ok).toBe(true);
          } finally {
            await h.provisioner.release({ jobId: job, purpose: 'app' });
          }
        },
        slow,
      );

      it(
        "keeps one job's role out of another job's database",
        async () => {
          const h = use();
          const [jobA, jobB] = [jobId('iso_a'), jobId('iso_b')];
          try {
            const a = await h.provisioner.provision({ jobId: jobA, purpose: 'app' });
            const b = await h.provisioner.provision({ jobId: jobB, purpose: 'app' });
            expect(a.resource.database).not.toBe(b.resource.database);
            expect(a.resource.role).not.toBe(b.resource.role);
            await h.query(b.connectionUrl, "CREATE TABLE secret_rows AS SELECT 'b only' AS v");
            // Not even a connection: its rows are out of reach, and so is everything else there.
            const intruding = await h.query(withDatabase(a.connectionUrl, b.resource.database), 'SELECT 1');
            expect(intruding.ok).toBe(false);
            // Nor may it make databases or roles of its own.
            expect((await h.query(a.connectionUrl, `CREATE DATABASE ${a.resource.database}_extra`)).ok).toBe(
              false,
            );
            expect((await h.query(a.connectionUrl, `CREATE ROLE ${a.resource.role}_extra`)).ok).toBe(false);
            // Nor take a superuser's rights back: the session's own user is the role itself.
            if (h.confinesRoles !== false) {
              const regain = `SET SESSION AUTHORIZATION DEFAULT; CREATE ROLE ${a.resource.role}_escape`;
              expect((await h.query(a.connectionUrl, regain)).ok).toBe(false);
            }
            // A wrong password is refused.
            const wrong = new URL(a.connectionUrl);
            wrong.password = 'not-the-password';
            expect((await h.query(wrong.toString(), 'SELECT 1')).ok).toBe(!h.checksPasswords);
          } finally {
            await h.provisioner.release({ jobId: jobA, purpose: 'app' });
            await h.provisioner.release({ jobId: jobB, purpose: 'app' });
          }
        },
        slow,
      );

      it(
        'gives a throwaway check database, apart from the app one and empty each time',
        async () => {
          const h = use();
          const job = jobId('chk');
          try {
            const app = await h.provisioner.provision({ jobId: job, purpose: 'app' });
            const check = await h.provisioner.provision({ jobId: job, purpose: 'check' });
            expect(check.resource.purpose).toBe('check');
            expect(check.resource.database).not.toBe(app.resource.database);
            await h.query(check.connectionUrl, 'CREATE TABLE leftover (x int)');
            const again = await h.provisioner.provision({ jobId: job, purpose: 'check' });
            expect(again.resource.database).toBe(check.resource.database);
            expect((await h.query(again.connectionUrl, 'SELECT * FROM leftover')).ok).toBe(false);
            expect((await h.query(app.connectionUrl, 'SELECT 1 AS one')).ok).toBe(true);
          } finally {
            await h.provisioner.release({ jobId: job, purpose: 'check' });
            await h.provisioner.release({ jobId: job, purpose: 'app' });
          }
        },
        slow,
      );

      it(
        'removes what it created on release, and a second release is harmless',
        async () => {
          const h = use();
          const job = jobId('rel');
          const db = await h.provisioner.provision({ jobId: job, purpose: 'app' });
          expect(await h.databaseExists(db.resource.database)).toBe(true);
          expect(await h.roleExists(db.resource.role)).toBe(true);
          expect(await h.provisioner.release({ jobId: job, purpose: 'app' })).toEqual({ removed: true });
          expect(await h.databaseExists(db.resource.database)).toBe(false);
          expect(await h.roleExists(db.resource.role)).toBe(false);
          expect((await h.query(db.connectionUrl, 'SELECT 1')).ok).toBe(false);
          expect((await h.provisioner.describe({ jobId: job, purpose: 'app' })).resource).toBeUndefined();
          expect(await h.provisioner.release({ jobId: job, purpose: 'app' })).toEqual({ removed: false });
        },
        slow,
      );

      it('answers a bad job id or purpose with a ValidationError, creating nothing', async () => {
        const { provisioner } = use();
        expect(
          await rejectionCode(
            provisioner.provision({ jobId: "x'; DROP DATABASE postgres;--", purpose: 'app' }),
          ),
        ).toBe('VALIDATION');
        expect(
          await rejectionCode(provisioner.provision({ jobId: jobId('v'), purpose: 'other' as 'app' })),
        ).toBe('VALIDATION');
      });

      it('rejects with the reason of an aborted signal, creating nothing', async () => {
        const h = use();
        const job = jobId('abort');
        const controller = new AbortController();
        const reason = new Error('stop now');
        controller.abort(reason);
        await expect(
          h.provisioner.provision({ jobId: job, purpose: 'app', signal: controller.signal }),
        ).rejects.toBe(reason);
        expect((await h.provisioner.describe({ jobId: job, purpose: 'app' })).resource).toBeUndefined();
      });

      it('reports a server that does not answer as a TransientError', async () => {
        const { unreachable } = use();
        expect(await rejectionCode(unreachable().provision({ jobId: jobId('down'), purpose: 'app' }))).toBe(
          'TRANSIENT',
        );
      });
    });
  });
}
