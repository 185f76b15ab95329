import {
  applyJobPatch,
  createJobRecord,
  isLeaseLive,
  type Job,
  type JobNotification,
  type JobStore,
  LeaseLostError,
  NotFoundError,
  type PipelineDeps,
  type PipelinePorts,
  pipelineSettings,
  runJob,
  type SpecSource,
  VersionConflictError,
} from '@mvp-pipeline/core';
import { rejectionCode, sampleSpec, specSourceContract } from '@mvp-pipeline/core/testing';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadSpecs } from './load-specs.js';
import { createPgSpecSource, type PgSpecSource, SPEC_QUERY } from './spec-source.js';
import { rewriteUrl, startTestDatabase, type TestDatabase } from './testing/database.js';
import { startTcpProxy, type TcpProxy } from './testing/tcp-proxy.js';

const onServer = Boolean(process.env['TEST_DATABASE_URL']);
/** A password no message, log line or record may ever show (trust auth ignores it). */
const PASSWORD = 'Db-Pa55word-never-shown';

let db: TestDatabase;
const open: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  db = await startTestDatabase();
}, 180_000);

afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

afterAll(async () => {
  await db?.close();
});

function source(settings: Partial<Parameters<typeof createPgSpecSource>[0]> = {}): PgSpecSource {
  const created = createPgSpecSource({ connectionString: db.url, ...settings } as Parameters<
    typeof createPgSpecSource
  >[0]);
  open.push(created);
  return created;
}

async function seed(...specs: unknown[]): Promise<void> {
  await loadSpecs({ pool: db.pool, specs });
}

specSourceContract(
  { describe, it, expect, beforeEach, afterEach },
  `PostgreSQL (${onServer ? 'TEST_DATABASE_URL' : 'embedded PGlite'})`,
  async () => {
    await db.reset();
    const specs = source();
    return { source: specs, seed: (spec) => seed(spec) };
  },
);

describe('PgSpecSource', () => {
  beforeEach(async () => {
    await db.reset();
  });

  it('reads every field back as it was stored', async () => {
    const spec = sampleSpec({ userId: 'user_12345', productId: 'product_67890' });
    const full = {
      ...spec,
      user: { ...spec.user, companyName: 'EventHub Labs', industry: 'Events', targetMarket: 'Organisers' },
      specifications: {
        ...spec.specifications,
        technicalRequirements: { framework: 'static', nested: { list: [1, 'two', null] } },
        customizations: {},
        mvpSpecs: 'One event per page. 日本語も。',
      },
    };
    await seed(full);
    const { spec: read } = await source().getSpec({ userId: 'user_12345', productId: 'product_67890' });
    expect(read).toEqual(full);
  });

  it('reads mvpSpecs stored as a JSON object', async () => {
    const spec = sampleSpec({ userId: 'u1', productId: 'p1' });
    await seed({ ...spec, specifications: { mvpSpecs: { pages: ['home', 'rsvp'] } } });
    const { spec: read } = await source().getSpec({ userId: 'u1', productId: 'p1' });
    expect(read.specifications).toEqual({ mvpSpecs: { pages: ['home', 'rsvp'] } });
  });

  it('finds a product only for its owner, even when the other user exists and has products', async () => {
    await seed(
      sampleSpec({ userId: 'alice', productId: 'alice_app' }),
      sampleSpec({ userId: 'bob', productId: 'bob_app' }),
    );
    const specs = source();
    const error = await specs.getSpec({ userId: 'bob', productId: 'alice_app' }).catch((e) => e);
    expect(NotFoundError.isInstance(error) && error.code).toBe('NOT_FOUND');
    expect(error.message).toBe('No product alice_app for user bob');
    expect((await specs.getSpec({ userId: 'bob', productId: 'bob_app' })).spec.product.id).toBe('bob_app');
  });

  it('passes hostile ids as data: nothing is found, nothing changes', async () => {
    await seed(sampleSpec({ userId: 'owner', productId: 'prod' }));
    const specs = source();
    const hostile = [
      "prod' OR '1'='1",
      "' OR 1=1 --",
      "prod'; DROP TABLE products; --",
      'prod"; DELETE FROM users; --',
      "x' UNION SELECT * FROM users --",
      '$1',
      '%',
      '\\',
      'prod\u2019',
    ];
    for (const evil of hostile) {
      expect(await rejectionCode(specs.getSpec({ userId: 'owner', productId: evil }))).toBe('NOT_FOUND');
      expect(await rejectionCode(specs.getSpec({ userId: evil, productId: 'prod' }))).toBe('NOT_FOUND');
    }
    expect(await rejectionCode(specs.getSpec({ userId: 'owner', productId: 'prod\u0000' }))).toBe(
      'VALIDATION',
    );
    expect(await rejectionCode(specs.getSpec({ userId: 'owner', productId: '' }))).toBe('VALIDATION');
    const { rows } = await db.pool.query<{ users: string; products: string; specs: string }>(
      'SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM products) AS products, (SELECT count(*) FROM mvp_specifications) AS specs',
    );
    expect(rows[0]).toEqual({ users: '1', products: '1', specs: '1' });
    expect((await specs.getSpec({ userId: 'owner', productId: 'prod' })).spec.product.id).toBe('prod');
  });

  it('reads with one parameterised query inside a READ ONLY transaction', async () => {
    await seed(sampleSpec({ userId: 'u1', productId: 'p1' }));
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    open.push({ close: () => pool.end() });
    const sent: Array<{ text: string; values?: unknown[] }> = [];
    const wrapped = new WeakSet<pg.PoolClient>();
    pool.on('acquire', (client) => {
      if (wrapped.has(client)) return;
      wrapped.add(client);
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as { query: unknown }).query = (...args: unknown[]) => {
        const [first, second] = args as [string | { text: string; values?: unknown[] }, unknown[]?];
        sent.push(typeof first === 'string' ? { text: first, ...(second ? { values: second } : {}) } : first);
        return query(...args);
      };
    });
    const specs = source({ pool, connectionString: undefined, statementTimeoutMs: 7_000 });
    await specs.getSpec({ userId: 'u1', productId: 'p1' });
    expect(sent).toEqual([
      { text: 'BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = 7000' },
      { text: SPEC_QUERY, values: ['u1', 'p1'] },
      { text: 'COMMIT' },
    ]);
    await specs.close();
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  describe('a stored row that is not a valid spec', () => {
    async function insertRaw(user: Record<string, unknown>, product: Record<string, unknown>, spec?: object) {
      const u: Record<string, unknown> = { id: 'u_bad', email: 'ok@example.com', ...user };
      const p: Record<string, unknown> = { id: 'p_bad', name: 'Fine name', ...product };
      await db.pool.query(
        'INSERT INTO users (id, email, brand_colors, brand_fonts) VALUES ($1, $2, $3::jsonb, $4::jsonb)',
        [u['id'], u['email'], json(u['brand_colors']), json(u['brand_fonts'])],
      );
      await db.pool.query('INSERT INTO products (id, user_id, name) VALUES ($1, $2, $3)', [
        p['id'],
        u['id'],
        p['name'],
      ]);
      if (spec) {
        const s = spec as Record<string, unknown>;
        await db.pool.query(
          'INSERT INTO mvp_specifications (product_id, key_features, design_preferences, specifications) VALUES ($1, $2::jsonb, $3::jsonb, $4::jsonb)',
          [p['id'], json(s['key_features']), json(s['design_preferences']), json(s['specifications'])],
        );
      }
    }
    const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));

    async function validationMessage(): Promise<string> {
      const error = await source()
        .getSpec({ userId: 'u_bad', productId: 'p_bad' })
        .catch((e) => e);
      expect(error.code).toBe('VALIDATION');
      expect(error.retryable).toBe(false);
      return error.message;
    }

    it('names the product, the field and the column: a malformed email', async () => {
      await insertRaw({ email: 'not-an-email' }, {});
      expect(await validationMessage()).toBe(
        'Invalid spec of product p_bad: user.email: must be an email address (column users.email)',
      );
    });

    it('names the product, the field and the column: an empty product name', async () => {
      await insertRaw({}, { name: '   ' });
      expect(await validationMessage()).toBe(
        'Invalid spec of product p_bad: product.name: must not be empty (column products.name)',
      );
    });

    it('names every bad JSONB value, down to the list item', async () => {
      await insertRaw(
        { brand_colors: ['#4F46E5', 'red'], brand_fonts: 'Inter' },
        {},
        { key_features: ['RSVP', null], design_preferences: ['dark'], specifications: 42 },
      );
      const message = await validationMessage();
      expect(message).toMatch(/^Invalid spec of product p_bad: /);
      expect(message).toContain(
        'user.branding.colors[1]: must be a hex colour like #4F46E5 (column users.brand_colors)',
      );
      expect(message).toContain(
        'user.branding.fonts: must be an array, got a string (column users.brand_fonts)',
      );
      expect(message).toContain(
        'specifications.keyFeatures[1]: must be a string, got null (column mvp_specifications.key_features)',
      );
      expect(message).toContain(
        'specifications.designPreferences: must be a record, got an array (column mvp_specifications.design_preferences)',
      );
      expect(message).toContain(
        'specifications.mvpSpecs: must be text or an object (column mvp_specifications.specifications)',
      );
    });

    it('treats NULL columns as absent fields', async () => {
      await insertRaw({}, {}, {});
      const { spec } = await source().getSpec({ userId: 'u_bad', productId: 'p_bad' });
      expect(spec).toEqual({
        user: { id: 'u_bad', email: 'ok@example.com' },
        product: { id: 'p_bad', name: 'Fine name' },
        specifications: {},
      });
    });
  });

  describe('when the database is slow or gone', () => {
    let proxy: TcpProxy;
    beforeEach(async () => {
      proxy = await startTcpProxy({ host: db.host, port: db.port });
      open.push(proxy);
    });
    const viaProxy = () => rewriteUrl(db.url, { host: '127.0.0.1', port: proxy.port, password: PASSWORD });
    const expectNoSecret = (text: string) => {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(viaProxy());
    };

    it('a refused connection is transient, and names no secret', async () => {
      await seed(sampleSpec({ userId: 'u1', productId: 'p1' }));
      const specs = source({ connectionString: viaProxy(), connectTimeoutMs: 5_000 });
      expect((await specs.getSpec({ userId: 'u1', productId: 'p1' })).spec.product.id).toBe('p1');
      await proxy.down();
      const error = await specs.getSpec({ userId: 'u1', productId: 'p1' }).catch((e) => e);
      expect(error.code).toBe('TRANSIENT');
      expect(error.retryable).toBe(true);
      expect(error.message).toMatch(
        /^Reading the spec of product p1 from the FounderDash database failed: .*(ECONNREFUSED|terminated)/,
      );
      expectNoSecret(`${error.message} ${String(error.cause)} ${error.stack}`);
      // The pool recovers when the database comes back.
      await proxy.up();
      expect((await specs.getSpec({ userId: 'u1', productId: 'p1' })).spec.product.id).toBe('p1');
    });

    it('a server that never answers is a connect timeout: transient', async () => {
      proxy.mode = 'blackhole';
      const specs = source({ connectionString: viaProxy(), connectTimeoutMs: 300 });
      const error = await specs.getSpec({ userId: 'u1', productId: 'p1' }).catch((e) => e);
      expect(error.code).toBe('TRANSIENT');
      expect(error.message).toMatch(/timeout/i);
      expectNoSecret(error.message);
    });

    it('an abort stops the read at once, even while connecting', async () => {
      proxy.mode = 'blackhole';
      const specs = source({ connectionString: viaProxy(), connectTimeoutMs: 60_000 });
      const controller = new AbortController();
      const reason = new Error('stop');
      const reading = specs.getSpec({ userId: 'u1', productId: 'p1', signal: controller.signal });
      controller.abort(reason);
      await expect(reading).rejects.toBe(reason);
    });
  });

  describe.skipIf(!onServer)('on a PostgreSQL server', () => {
    it('a statement timeout is transient', async () => {
      await seed(sampleSpec({ userId: 'u1', productId: 'p1' }));
      const locker = await db.pool.connect();
      try {
        await locker.query('BEGIN; LOCK TABLE products IN ACCESS EXCLUSIVE MODE');
        const error = await source({ statementTimeoutMs: 300 })
          .getSpec({ userId: 'u1', productId: 'p1' })
          .catch((e) => e);
        expect(error.code).toBe('TRANSIENT');
        expect(error.message).toContain('57014');
      } finally {
        await locker.query('ROLLBACK');
        locker.release();
      }
    });

    it('a connection the server terminates mid-query (57P01) is transient', async () => {
      await seed(sampleSpec({ userId: 'u1', productId: 'p1' }));
      const name = `spec-test-${process.pid}-${Date.now()}`;
      const pool = new pg.Pool({ connectionString: db.url, application_name: name, max: 1 });
      open.push({ close: () => pool.end() });
      const specs = source({ pool, connectionString: undefined, statementTimeoutMs: 60_000 });
      const locker = await db.pool.connect();
      try {
        await locker.query('BEGIN; LOCK TABLE products IN ACCESS EXCLUSIVE MODE');
        const reading = specs.getSpec({ userId: 'u1', productId: 'p1' }).catch((e) => e);
        // Wait until the read is blocked on the lock, then end its backend. (Asked outside the
        // locker's transaction: pg_stat_activity is a snapshot within one.)
        for (let i = 0; i < 400; i++) {
          const { rowCount } = await db.pool.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
            [name],
          );
          if (rowCount) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        const error = await reading;
        expect(error.code).toBe('TRANSIENT');
        expect(error.message).toMatch(/57P01|terminat/);
      } finally {
        await locker.query('ROLLBACK');
        locker.release();
      }
      // The next read gets a fresh connection.
      expect((await specs.getSpec({ userId: 'u1', productId: 'p1' })).spec.product.id).toBe('p1');
    });
  });

  describe('a database that goes away mid-job, driven through runJob', () => {
    it('retries FETCHING_DATA, then fails the job naming the step, with no secret anywhere', async () => {
      await seed(sampleSpec({ userId: 'founder', productId: 'eventhub' }));
      const proxy = await startTcpProxy({ host: db.host, port: db.port });
      open.push(proxy);
      const url = rewriteUrl(db.url, { host: '127.0.0.1', port: proxy.port, password: PASSWORD });
      const pgSource = source({ connectionString: url, connectTimeoutMs: 5_000 });
      // The connection works, then the database goes away while the job is queued.
      await pgSource.getSpec({ userId: 'founder', productId: 'eventhub' });
      let reads = 0;
      const specs: SpecSource = {
        specificationVersion: 'v1',
        getSpec: (options) => {
          reads++;
          return pgSource.getSpec(options);
        },
      };
      await proxy.down();

      const { deps, store, notifications, logLines } = pipeline(specs);
      const job = createJobRecord({
        jobId: 'job_pg_1',
        userId: 'founder',
        productId: 'eventhub',
        businessName: 'EventHub',
        template: 'landing',
        now: new Date(),
      });
      await store.create({ job });
      const result = await runJob(deps, { jobId: job.jobId, runnerId: 'runner_1' });

      expect(result.outcome).toBe('FAILED');
      expect(reads).toBe(3);
      const { job: ended } = await store.get({ jobId: job.jobId });
      expect(ended?.status).toBe('FAILED');
      expect(ended?.currentStep).toBe('FETCHING_DATA');
      expect(ended?.lease).toBeNull();
      const errors = ended!.errors;
      expect(
        errors.filter((e) => e.step === 'FETCHING_DATA' && e.code === 'TRANSIENT').length,
      ).toBeGreaterThanOrEqual(3);
      const last = errors.at(-1)!;
      expect(last.step).toBe('FETCHING_DATA');
      expect(last.message).toMatch(
        /^Reading the spec of product eventhub from the FounderDash database failed: /,
      );
      expect(result.error?.step).toBe('FETCHING_DATA');
      expect(logLines.some((l) => /retrying in .* \(try 2 of 3\)/.test(l))).toBe(true);
      expect(notifications).toHaveLength(1);
      expect(notifications[0]?.status).toBe('FAILED');
      expect(notifications[0]?.error?.step).toBe('FETCHING_DATA');
      // The pipeline's redactor is the identity here: only the adapter keeps the secret out.
      const everything = JSON.stringify({ ended, notifications, logLines, result: String(result.error) });
      expect(everything).not.toContain(PASSWORD);
      expect(everything).not.toContain(url);
    });
  });
});

/** Just enough of the other ports for a job that ends at FETCHING_DATA. */
function pipeline(specs: SpecSource) {
  const store = memoryJobStore();
  const notifications: JobNotification[] = [];
  const logLines: string[] = [];
  const log = (message: string) => void logLines.push(message);
  const unused = (name: string) =>
    new Proxy({} as never, {
      get: (_, key) =>
        key === 'specificationVersion'
          ? 'v1'
          : () => Promise.reject(new Error(`${name}.${String(key)} is not expected in this test`)),
    });
  const ports: PipelinePorts = {
    store,
    specs,
    templates: unused('templates'),
    workspaces: unused('workspaces'),
    repos: unused('repos'),
    generator: unused('generator'),
    builder: unused('builder'),
    deployer: unused('deployer'),
    siteChecker: unused('siteChecker'),
    notifier: {
      specificationVersion: 'v1',
      notify: async ({ notification }) => void notifications.push(notification),
    },
    trigger: unused('trigger'),
    clock: { now: () => new Date(), sleep: async () => undefined },
    ids: { jobId: () => 'job_x', runnerId: () => 'runner_x' },
    logger: { debug: log, info: log, warn: log, error: log },
  };
  const deps: PipelineDeps = {
    ports,
    settings: pipelineSettings({
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 10 },
      redact: (text) => text,
      random: () => 0.5,
    }),
  };
  return { deps, store, notifications, logLines };
}

/** A JobStore double: conditional writes on `version`, leases, nothing else. */
function memoryJobStore(): JobStore {
  const jobs = new Map<string, Job>();
  const must = (jobId: string) => {
    const job = jobs.get(jobId);
    if (!job) throw new NotFoundError(`No job ${jobId}`);
    return job;
  };
  const put = (job: Job) => {
    jobs.set(job.jobId, structuredClone(job));
    return structuredClone(job);
  };
  return {
    specificationVersion: 'v1',
    create: async ({ job }) => {
      if (jobs.has(job.jobId)) throw new VersionConflictError(job.jobId, 0, jobs.get(job.jobId)?.version);
      return { job: put(job) };
    },
    get: async ({ jobId }) => ({ job: jobs.has(jobId) ? structuredClone(jobs.get(jobId)!) : undefined }),
    update: async ({ jobId, expectedVersion, patch }) => {
      const job = must(jobId);
      if (job.version !== expectedVersion)
        throw new VersionConflictError(jobId, expectedVersion, job.version);
      return { job: put(applyJobPatch(job, patch, new Date())) };
    },
    acquireLease: async ({ jobId, owner, now, ttlMs }) => {
      const job = must(jobId);
      if (isLeaseLive(job.lease, now) && job.lease.owner !== owner) {
        return { acquired: false, job: structuredClone(job), holder: job.lease };
      }
      const lease = { owner, expiresAt: new Date(now.getTime() + ttlMs).toISOString() };
      return { acquired: true, job: put(applyJobPatch(job, { set: { lease } }, now)) };
    },
    renewLease: async ({ jobId, owner, now, ttlMs }) => {
      const job = must(jobId);
      if (job.lease?.owner !== owner) throw new LeaseLostError(`${owner} lost job ${jobId}`);
      const lease = { owner, expiresAt: new Date(now.getTime() + ttlMs).toISOString() };
      return { job: put(applyJobPatch(job, { set: { lease } }, now)) };
    },
    releaseLease: async ({ jobId, owner }) => {
      const job = jobs.get(jobId);
      if (!job || job.lease?.owner !== owner) return { job: job && structuredClone(job) };
      return { job: put(applyJobPatch(job, { set: { lease: null } }, new Date())) };
    },
    listByUser: async ({ userId }) => ({ jobs: [...jobs.values()].filter((j) => j.userId === userId) }),
    listRunnable: async () => ({ jobs: [] }),
    readHistory: async ({ jobId }) => ({ logs: must(jobId).executionLogs, errors: must(jobId).errors }),
  };
}
