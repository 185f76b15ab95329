// Over 400 lines: one suite per port is the public shape; its cases and their helpers belong together.
import { siteNameFor } from '../domain/naming.js';
import { CancelledError } from '../errors.js';
import type { Deployer, DeployResult, StepCheckpoint } from '../ports/deployer.port.js';
import { recordingReporter } from './code-generator.contract.js';
import { FAULT_EXPECTATIONS, type FaultInjector, settle, vocabularyProblem, within } from './faults.js';
import { type Harness, type TestApi, withHarness } from './test-api.js';

export interface DeployerHarness extends Harness {
  deployer: Deployer;
  /** A built site (absolute path) holding `files` (path → content; paths may have folders). */
  site(files: Record<string, string>): Promise<string>;
  /** How many deployments the target holds (to prove nothing is deployed twice). */
  deploymentCount(): Promise<number>;
  /**
   * Only for targets whose URLs are not http(s) (`file://`, `memory://`): the page at `url`, or
   * undefined when there is none. http(s) URLs the suite loads itself, with `fetch`, and checks
   * their status and content type; it never asks the harness about them.
   */
  readPage?(url: string): Promise<string | undefined>;
  /** The fetch the suite loads http(s) URLs with (default: the global one). */
  fetch?: typeof fetch;
  /**
   * Capability `network` (see {@link DeployerCapabilities}): makes every request the deployer
   * sends to its target fail as told until `clear()` (see `faultyFetch`).
   */
  faults?: FaultInjector;
}

/** What the suite may ask of the target, where adapters honestly differ. */
export interface DeployerCapabilities {
  /**
   * The deployer talks to its target over a network (an HTTP API, an SDK): the harness must
   * provide `faults`, and the suite checks the error vocabulary under each fault, abort of a
   * request that hangs, and a retry after a failed call. Leave it false only when nothing but
   * the local disk or memory lies between the deployer and the target.
   */
  network?: boolean;
}

/** A StepCheckpoint kept in memory, as the job record would keep it. */
export function memoryCheckpoint(
  saved?: Record<string, unknown>,
): StepCheckpoint & { data: Record<string, unknown> } {
  const state = { data: { ...saved } };
  return {
    get data() {
      return state.data;
    },
    get saved() {
      return Object.keys(state.data).length ? state.data : undefined;
    },
    save: async (data) => {
      state.data = { ...state.data, ...data };
    },
  };
}

/** What the suite saw at a URL. */
interface Loaded {
  status: number;
  /** The content type, for http(s) URLs. */
  type: string | undefined;
  body: string;
}

const CHECKPOINT_LIMIT_BYTES = 4_096;
const ABORT_WITHIN_MS = 5_000;

/**
 * The behaviour every Deployer must show: what its URLs serve (status, content types, the
 * product's page, nothing left of an earlier commit), one site per job, idempotency per (job,
 * commit), the checkpoint, abort, and the core's error vocabulary. Cases are listed in
 * `packages/core/src/testing/README.md`.
 */
export function deployerContract(
  t: TestApi,
  name: string,
  create: () => Promise<DeployerHarness> | DeployerHarness,
  capabilities: DeployerCapabilities = {},
): void {
  const { describe, it, expect } = t;
  describe(`Deployer contract: ${name}`, () => {
    withHarness(t, create, (use) => {
      const options = (
        jobId: string,
        commit: string,
        outputDir: string,
        extra: { checkpoint?: StepCheckpoint; signal?: AbortSignal; product?: string } = {},
      ) => ({
        jobId,
        commit,
        siteName: siteNameFor(extra.product ?? 'EventHub', jobId),
        projectName: 'eventhub',
        outputDir,
        checkpoint: extra.checkpoint ?? memoryCheckpoint(),
        report: recordingReporter(),
        ...(extra.signal ? { signal: extra.signal } : {}),
      });
      const deployOnce = (
        jobId: string,
        commit: string,
        outputDir: string,
        extra: Parameters<typeof options>[3] = {},
      ): Promise<DeployResult> => use().deployer.deploy(options(jobId, commit, outputDir, extra));

      async function load(url: string, headers?: Readonly<Record<string, string>>): Promise<Loaded> {
        const { readPage, fetch: fetchFn = (input, init) => fetch(input, init) } = use();
        if (/^https?:/i.test(url)) {
          const response = await fetchFn(url, {
            redirect: 'follow',
            signal: AbortSignal.timeout(15_000),
            ...(headers ? { headers: { ...headers } } : {}),
          });
          return {
            status: response.status,
            type: response.headers.get('content-type') ?? undefined,
            body: await response.text(),
          };
        }
        if (!readPage)
          throw new Error(
            `The deployer returned ${url}, which is not http(s): the harness must provide readPage for such URLs`,
          );
        const body = await readPage(url);
        return { status: body === undefined ? 404 : 200, type: undefined, body: body ?? '' };
      }

      async function expectServes(
        url: string,
        text: string,
        what: string,
        headers?: Readonly<Record<string, string>>,
      ): Promise<void> {
        const page = await load(url, headers);
        expect(page.status, `${what} ${url} must answer 200 (the site check requires it)`).toBe(200);
        if (page.type !== undefined)
          expect(
            page.type,
            `${what} ${url} must be served as text/html (the site check requires an HTML content type); it came as "${page.type}"`,
          ).toMatch(/^text\/html\b/i);
        expect(page.body, `${what} ${url} must serve the page just deployed`).toContain(text);
      }

      const at = (base: string, path: string) => new URL(path, base).href;
      /** What a check of `base` sends: the staging headers for staging, nothing for production. */
      const headersFor = (result: DeployResult, base: string) =>
        base === result.stagingUrl ? result.stagingHeaders : undefined;

      it('publishes a site whose staging and production URLs serve it', async () => {
        const dir = await use().site({ 'index.html': '<h1>EventHub</h1>' });
        const checkpoint = memoryCheckpoint();
        const report = recordingReporter();
        const result = await use().deployer.deploy({
          ...options('job_d1', 'c0ffee1', dir, { checkpoint }),
          report,
        });
        expect(result.deploymentId, 'deploymentId must be a non-empty id').toMatch(/\S/);
        expect(result.provider, 'provider must name the target (e.g. "vercel")').toMatch(
          /^[a-z0-9][a-z0-9-]*$/,
        );
        await expectServes(result.stagingUrl, 'EventHub', 'The staging URL', result.stagingHeaders);
        // Production is public: it must answer without the staging headers.
        await expectServes(result.productionUrl, 'EventHub', 'The production URL (without stagingHeaders)');
        for (const value of Object.values(result.stagingHeaders ?? {})) {
          const kept = `${JSON.stringify(checkpoint.data)}\n${report.lines.join('\n')}\n${JSON.stringify(result.resources ?? {})}`;
          expect(
            kept.includes(value),
            'a stagingHeaders value is a secret: it must not appear in the checkpoint, the log or resources',
          ).toBe(false);
        }
      });

      it('serves each file with its content type (HTML as text/html, CSS, JavaScript, JSON)', async () => {
        const dir = await use().site({
          'index.html': '<h1>EventHub</h1><link rel="stylesheet" href="assets/app.css">',
          'about/index.html': '<h1>About EventHub</h1>',
          'assets/app.css': 'h1{color:red}',
          'assets/app.js': 'console.log("EventHub")',
          'data.json': '{"name":"EventHub"}',
        });
        const result = await deployOnce('job_types', 'c0ffee1', dir);
        for (const base of new Set([result.stagingUrl, result.productionUrl])) {
          const headers = headersFor(result, base);
          await expectServes(base, 'EventHub', 'The site', headers);
          const expected: Array<[string, RegExp]> = [
            ['assets/app.css', /^text\/css\b/i],
            ['assets/app.js', /^(text|application)\/javascript\b/i],
            ['data.json', /^application\/json\b/i],
          ];
          for (const [path, type] of expected) {
            const page = await load(at(base, path), headers);
            expect(page.status, `${at(base, path)} must answer 200`).toBe(200);
            if (page.type !== undefined)
              expect(
                page.type,
                `${at(base, path)} must be served with its content type (${type.source}), not "${page.type}": browsers refuse a stylesheet or script of the wrong type`,
              ).toMatch(type);
          }
          if (/^https?:/i.test(base) && base.endsWith('/'))
            await expectServes(
              at(base, 'about/'),
              'About EventHub',
              "A folder's URL (its index.html)",
              headers,
            );
        }
      });

      it('returns the same deployment for the same job and commit', async () => {
        const { site, deploymentCount } = use();
        const dir = await site({ 'index.html': '<h1>EventHub</h1>' });
        const first = await deployOnce('job_d2', 'c0ffee2', dir);
        const count = await deploymentCount();
        const again = await deployOnce('job_d2', 'c0ffee2', dir);
        expect(
          again.deploymentId,
          'deploying the same (job, commit) again must return the same deployment',
        ).toBe(first.deploymentId);
        expect(await deploymentCount(), 'deploying the same (job, commit) again must create nothing').toBe(
          count,
        );
      });

      it('deploys a new commit as a new deployment and moves production to it', async () => {
        const { site } = use();
        const first = await deployOnce(
          'job_d3',
          'aaaaaaa',
          await site({ 'index.html': '<h1>EventHub v1</h1>' }),
        );
        const second = await deployOnce(
          'job_d3',
          'bbbbbbb',
          await site({ 'index.html': '<h1>EventHub v2</h1>' }),
        );
        expect(second.deploymentId, 'a new commit must be a new deployment').not.toBe(first.deploymentId);
        await expectServes(second.productionUrl, 'v2', 'Production after a new commit');
      });

      it('removes from production the pages the new commit no longer has', async () => {
        const { site } = use();
        const first = await deployOnce(
          'job_prune',
          'aaaaaaa',
          await site({ 'index.html': '<h1>EventHub</h1>', 'old.html': '<h1>Old page</h1>' }),
        );
        await expectServes(at(first.productionUrl, 'old.html'), 'Old page', 'A page of the first commit');
        const second = await deployOnce(
          'job_prune',
          'bbbbbbb',
          await site({ 'index.html': '<h1>EventHub v2</h1>' }),
        );
        const old = await load(at(second.productionUrl, 'old.html'));
        expect(
          old.status,
          `${at(second.productionUrl, 'old.html')} still answers after a commit that removed it: production must serve exactly the new build (replace the site's files, do not merge them)`,
        ).not.toBe(200);
      });

      it('gives two jobs with the same product name two sites; the first keeps serving its own', async () => {
        const { site } = use();
        const mine = await deployOnce(
          'job_founder_a',
          'aaaaaaa',
          await site({ 'index.html': '<h1>EventHub of A</h1>' }),
        );
        const theirs = await deployOnce(
          'job_founder_b',
          'bbbbbbb',
          await site({ 'index.html': '<h1>EventHub of B</h1>' }),
        );
        expect(
          theirs.productionUrl,
          "two jobs with the same product name got one production URL: name the site after the job's siteName (or record who owns projectName), never after projectName alone",
        ).not.toBe(mine.productionUrl);
        await expectServes(mine.productionUrl, 'EventHub of A', "The first founder's production URL");
        await expectServes(theirs.productionUrl, 'EventHub of B', "The second founder's production URL");
        // A retry of the first job still lands on the first job's site.
        const retried = await deployOnce(
          'job_founder_a',
          'aaaaaaa',
          await site({ 'index.html': '<h1>EventHub of A</h1>' }),
        );
        expect(retried.productionUrl, "a retry of a job must find the job's own site").toBe(
          mine.productionUrl,
        );
      });

      it('keeps its checkpoint small, JSON and reusable: a retry with it creates nothing', async () => {
        const { site, deploymentCount } = use();
        const dir = await site({ 'index.html': '<h1>EventHub</h1>' });
        const checkpoint = memoryCheckpoint();
        const first = await deployOnce('job_cp', 'c0ffee3', dir, { checkpoint });
        const json = JSON.stringify(checkpoint.data);
        expect(
          JSON.parse(json),
          'what the checkpoint holds must survive JSON (the job record keeps it)',
        ).toEqual(checkpoint.data);
        expect(
          json.length,
          `the checkpoint must stay small (ids, not files): ${json.length} bytes`,
        ).toBeLessThan(CHECKPOINT_LIMIT_BYTES);
        expect(json, 'the checkpoint must not hold credentials').not.toMatch(/:\/\/[^/\s:@]+:[^/\s@]+@/);
        const count = await deploymentCount();
        const again = await deployOnce('job_cp', 'c0ffee3', dir, { checkpoint });
        expect(again.deploymentId, 'a retry with the saved checkpoint must return the same deployment').toBe(
          first.deploymentId,
        );
        expect(await deploymentCount(), 'a retry with the saved checkpoint must create nothing').toBe(count);
      });

      it('does not take a deployment of another commit from the checkpoint', async () => {
        const { site } = use();
        const checkpoint = memoryCheckpoint();
        const first = await deployOnce(
          'job_cp2',
          'aaaaaaa',
          await site({ 'index.html': '<h1>EventHub v1</h1>' }),
          {
            checkpoint,
          },
        );
        const second = await deployOnce(
          'job_cp2',
          'bbbbbbb',
          await site({ 'index.html': '<h1>EventHub v2</h1>' }),
          {
            checkpoint,
          },
        );
        expect(
          second.deploymentId,
          'a checkpoint saved for another commit was reused: check the saved commit before resuming',
        ).not.toBe(first.deploymentId);
        await expectServes(
          second.productionUrl,
          'v2',
          'Production after a new commit with an old checkpoint',
        );
      });

      it('rejects with the signal’s reason when aborted before it starts, and deploys nothing', async () => {
        const { site, deploymentCount } = use();
        const dir = await site({ 'index.html': '<h1>EventHub</h1>' });
        const before = await deploymentCount();
        const controller = new AbortController();
        const reason = new CancelledError('Cancelled by the contract suite');
        controller.abort(reason);
        const outcome = await settle(deployOnce('job_abort', 'c0ffee4', dir, { signal: controller.signal }));
        expect(
          outcome.kind === 'resolved' ? 'resolved' : outcome.error,
          'an aborted signal must reject with signal.reason (the core aborts with its own error)',
        ).toBe(reason);
        expect(await deploymentCount(), 'nothing may be deployed after the signal aborted').toBe(before);
      });

      it('refuses build output it cannot read with a PermanentError, never a raw error', async () => {
        const missing = `${await use().site({ 'index.html': 'x' })}-missing`;
        const problem = vocabularyProblem(
          await settle(deployOnce('job_missing', 'c0ffee5', missing)),
          'PERMANENT',
          "an output folder that does not exist must reject with the core's PermanentError: wrap your file-system errors",
        );
        expect(problem, problem).toBeUndefined();
      });

      if (capabilities.network) {
        const faults = () => {
          const injector = use().faults;
          if (!injector) throw new Error('The harness declares `network` but has no `faults` to inject');
          return injector;
        };

        for (const [fault, { code, fix }] of Object.entries(FAULT_EXPECTATIONS)) {
          it(`maps ${fault} to ${code}`, async () => {
            const dir = await use().site({ 'index.html': '<h1>EventHub</h1>' });
            await faults().inject(fault as keyof typeof FAULT_EXPECTATIONS);
            const outcome = await settle(
              within(deployOnce(`job_${fault}`, 'c0ffee6', dir), 60_000, `deploy under ${fault}`),
            );
            await faults().clear();
            const problem = vocabularyProblem(outcome, code, fix);
            expect(problem, problem).toBeUndefined();
            if (code === 'RATE_LIMITED' && outcome.kind === 'pipeline')
              expect(
                outcome.error.retryAfterMs,
                'a RateLimitedError must carry retryAfterMs (from Retry-After: 120)',
              ).toBeGreaterThan(0);
          });
        }

        it('stops a request that hangs when the signal aborts, rejecting with its reason', async () => {
          const dir = await use().site({ 'index.html': '<h1>EventHub</h1>' });
          await faults().inject('hang');
          const controller = new AbortController();
          const reason = new CancelledError('Cancelled by the contract suite');
          const running = settle(deployOnce('job_hang', 'c0ffee7', dir, { signal: controller.signal }));
          setTimeout(() => controller.abort(reason), 50);
          try {
            const outcome = await within(running, ABORT_WITHIN_MS, 'a deploy aborted while its request hung');
            expect(
              outcome.kind === 'resolved' ? 'resolved' : outcome.error,
              'an abort during a request must reject with signal.reason: pass the signal to every request and wait',
            ).toBe(reason);
          } catch (error) {
            throw new Error(
              `${(error as Error).message}: pass the signal to every request and every wait, and reject with signal.reason`,
            );
          } finally {
            await faults().clear();
          }
        });

        it('succeeds on a retry after a failed call, with one deployment', async () => {
          const { site, deploymentCount } = use();
          const dir = await site({ 'index.html': '<h1>EventHub</h1>' });
          const checkpoint = memoryCheckpoint();
          await faults().inject('server-error');
          await settle(deployOnce('job_retry', 'c0ffee8', dir, { checkpoint }));
          await faults().clear();
          const result = await deployOnce('job_retry', 'c0ffee8', dir, { checkpoint });
          await expectServes(result.productionUrl, 'EventHub', 'Production after a retried deploy');
          const count = await deploymentCount();
          const again = await deployOnce('job_retry', 'c0ffee8', dir, { checkpoint });
          expect(again.deploymentId, 'a second retry must return the deployment the first made').toBe(
            result.deploymentId,
          );
          expect(await deploymentCount(), 'a second retry must create nothing').toBe(count);
        });
      }
    });
  });
}
