import { CancelledError } from '../errors.js';
import type { RepoHost } from '../ports/repo-host.port.js';
import { FAULT_EXPECTATIONS, type FaultInjector, settle, vocabularyProblem, within } from './faults.js';
import type { FilesAccess } from './files-access.js';
import { type Harness, type TestApi, withHarness } from './test-api.js';

export interface RepoHostHarness extends Harness {
  host: RepoHost;
  files: FilesAccess;
  /** How many repositories the host holds (to prove nothing is created twice). */
  repoCount(): Promise<number>;
  /** Capability `network`: every request the host sends fails as told until `clear()`. */
  faults?: FaultInjector;
}

/** What the suite may ask of the host, where hosts honestly differ. */
export interface RepoHostCapabilities {
  /** It talks to its host over a network (GitHub's API, git over HTTP): the harness provides `faults`. */
  network?: boolean;
}

const DATE = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));

export function repoHostContract(
  t: TestApi,
  name: string,
  create: () => Promise<RepoHostHarness> | RepoHostHarness,
  capabilities: RepoHostCapabilities = {},
): void {
  const { describe, it, expect } = t;
  describe(`RepoHost contract: ${name}`, () => {
    withHarness(t, create, (use) => {
      it('creates the repository for a job once; a retry finds it', async () => {
        const { host, repoCount } = use();
        const before = await repoCount();
        const first = await host.ensureRepo({ jobId: 'job_1', name: 'eventhub-mvp', description: 'd' });
        const again = await host.ensureRepo({ jobId: 'job_1', name: 'eventhub-mvp', description: 'd' });
        expect(first.created).toBe(true);
        expect(first.provider, 'provider must name the host (e.g. "github")').toMatch(/^[a-z0-9][a-z0-9-]*$/);
        expect(again.created).toBe(false);
        expect(again.repo).toEqual(first.repo);
        expect(await repoCount()).toBe(before + 1);
      });

      it('removes the job’s repository only (when the host can), and a second remove is harmless', async () => {
        const { host, repoCount } = use();
        if (!host.remove) return;
        const mine = await host.ensureRepo({ jobId: 'job_rm', name: 'gone-mvp', description: 'd' });
        const theirs = await host.ensureRepo({ jobId: 'job_keep', name: 'kept-mvp', description: 'd' });
        const before = await repoCount();
        // Another job's repository is refused and kept.
        const refused = await host.remove({ jobId: 'job_rm', repo: theirs.repo }).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(refused).toMatchObject({ code: 'PERMANENT' });
        expect(await repoCount()).toBe(before);
        expect(await host.remove({ jobId: 'job_rm', repo: mine.repo })).toEqual({ removed: true });
        expect(await repoCount()).toBe(before - 1);
        expect(await host.remove({ jobId: 'job_rm', repo: mine.repo })).toEqual({ removed: false });
        // The name is free again: the job gets a new repository of that name.
        const again = await host.ensureRepo({ jobId: 'job_rm', name: 'gone-mvp', description: 'd' });
        expect(again).toMatchObject({ created: true, repo: { name: mine.repo.name } });
      });

      it('picks another name when the name belongs to another job', async () => {
        const { host } = use();
        const a = await host.ensureRepo({ jobId: 'job_a', name: 'same-mvp', description: 'd' });
        const b = await host.ensureRepo({ jobId: 'job_b', name: 'same-mvp', description: 'd' });
        expect(a.repo.name).toBe('same-mvp');
        expect(b.repo.name).not.toBe(a.repo.name);
        expect(b.repo.name.startsWith('same-mvp')).toBe(true);
      });

      it('pushes a workspace and checks the same files out again', async () => {
        const { host, files } = use();
        const { repo } = await host.ensureRepo({ jobId: 'job_push', name: 'push-mvp', description: 'd' });
        const ws = await files.newWorkspace('job_push');
        await files.write(ws, 'index.html', '<h1>Hi</h1>');
        await files.write(ws, 'src/app.js', 'console.log(1)');
        const pushed = await host.push({ repo, workspace: ws, message: 'first', date: DATE });
        expect(pushed.pushed).toBe(true);
        expect(pushed.commit).toMatch(/^[0-9a-f]{7,64}$/);

        const back = await files.newWorkspace('job_push');
        const out = await host.checkout({ repo, workspace: back });
        expect(out.commit).toBe(pushed.commit);
        expect(await files.list(back)).toEqual(['index.html', 'src/app.js']);
        expect(await files.read(back, 'src/app.js')).toBe('console.log(1)');
      });

      it('records deletions and edits, and changes nothing when nothing changed', async () => {
        const { host, files } = use();
        const { repo } = await host.ensureRepo({ jobId: 'job_edit', name: 'edit-mvp', description: 'd' });
        const ws = await files.newWorkspace('job_edit');
        await files.write(ws, 'a.txt', 'a');
        await files.write(ws, 'b.txt', 'b');
        const first = await host.push({ repo, workspace: ws, message: 'first', date: DATE });
        const same = await host.push({ repo, workspace: ws, message: 'nothing', date: DATE });
        expect(same.commit).toBe(first.commit);
        expect(same.pushed).toBe(false);
        await files.remove(ws, 'a.txt');
        await files.write(ws, 'b.txt', 'B');
        const second = await host.push({ repo, workspace: ws, message: 'second', date: DATE });
        expect(second.commit).not.toBe(first.commit);
        const back = await files.newWorkspace('job_edit');
        await host.checkout({ repo, workspace: back });
        expect(await files.list(back)).toEqual(['b.txt']);
        expect(await files.read(back, 'b.txt')).toBe('B');
        const old = await files.newWorkspace('job_edit');
        await host.checkout({ repo, workspace: old, commit: first.commit });
        expect(await files.list(old)).toEqual(['a.txt', 'b.txt']);
      });

      it('gives the same commit for the same content, message and date (a retried push is a no-op)', async () => {
        const { host, files } = use();
        const { repo } = await host.ensureRepo({ jobId: 'job_det', name: 'det-mvp', description: 'd' });
        const make = async () => {
          const ws = await files.newWorkspace('job_det');
          await files.write(ws, 'index.html', 'same');
          return ws;
        };
        const first = await host.push({ repo, workspace: await make(), message: 'Start', date: DATE });
        const retry = await host.push({ repo, workspace: await make(), message: 'Start', date: DATE });
        expect(retry.commit).toBe(first.commit);
        expect(retry.pushed).toBe(false);
      });

      it('rejects with the signal’s reason when aborted before it starts, and changes nothing', async () => {
        const { host, files, repoCount } = use();
        const controller = new AbortController();
        const reason = new CancelledError('Cancelled by the contract suite');
        controller.abort(reason);
        const before = await repoCount();
        const ensured = await settle(
          host.ensureRepo({
            jobId: 'job_ab',
            name: 'abort-mvp',
            description: 'd',
            signal: controller.signal,
          }),
        );
        expect(
          ensured.kind === 'resolved' ? 'resolved' : ensured.error,
          'ensureRepo with an aborted signal must reject with signal.reason',
        ).toBe(reason);
        expect(await repoCount(), 'nothing may be created after the signal aborted').toBe(before);

        const { repo } = await host.ensureRepo({ jobId: 'job_ab', name: 'abort-mvp', description: 'd' });
        const ws = await files.newWorkspace('job_ab');
        await files.write(ws, 'index.html', 'one');
        const first = await host.push({ repo, workspace: ws, message: 'first', date: DATE });
        await files.write(ws, 'index.html', 'two');
        const pushed = await settle(
          host.push({ repo, workspace: ws, message: 'second', date: DATE, signal: controller.signal }),
        );
        expect(
          pushed.kind === 'resolved' ? 'resolved' : pushed.error,
          'push with an aborted signal must reject with signal.reason',
        ).toBe(reason);
        const back = await files.newWorkspace('job_ab');
        expect(
          (await host.checkout({ repo, workspace: back })).commit,
          'an aborted push must push nothing',
        ).toBe(first.commit);
      });

      it('answers a checkout of a commit it does not have with a core error, never a raw one', async () => {
        const { host, files } = use();
        const { repo } = await host.ensureRepo({ jobId: 'job_nc', name: 'nocommit-mvp', description: 'd' });
        const ws = await files.newWorkspace('job_nc');
        await files.write(ws, 'index.html', 'x');
        await host.push({ repo, workspace: ws, message: 'first', date: DATE });
        const outcome = await settle(
          host.checkout({ repo, workspace: await files.newWorkspace('job_nc'), commit: 'f'.repeat(40) }),
        );
        const problem =
          outcome.kind === 'pipeline' && ['NOT_FOUND', 'PERMANENT'].includes(outcome.error.code)
            ? undefined
            : vocabularyProblem(
                outcome,
                'NOT_FOUND',
                "a commit the repository does not have must reject with the core's NotFoundError (or PermanentError)",
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
            await faults().inject(fault as keyof typeof FAULT_EXPECTATIONS);
            const outcome = await settle(
              within(
                use().host.ensureRepo({ jobId: `job_${fault}`, name: 'fault-mvp', description: 'd' }),
                60_000,
                `ensureRepo under ${fault}`,
              ),
            );
            await faults().clear();
            const problem = vocabularyProblem(outcome, code, fix);
            expect(problem, problem).toBeUndefined();
          });
        }

        it('stops a request that hangs when the signal aborts, rejecting with its reason', async () => {
          await faults().inject('hang');
          const controller = new AbortController();
          const reason = new CancelledError('Cancelled by the contract suite');
          const running = settle(
            use().host.ensureRepo({
              jobId: 'job_hang',
              name: 'hang-mvp',
              description: 'd',
              signal: controller.signal,
            }),
          );
          setTimeout(() => controller.abort(reason), 50);
          try {
            const outcome = await within(running, 5_000, 'an ensureRepo aborted while its request hung');
            expect(
              outcome.kind === 'resolved' ? 'resolved' : outcome.error,
              'an abort during a request must reject with signal.reason: pass the signal to every request and wait',
            ).toBe(reason);
          } finally {
            await faults().clear();
          }
        });

        it('creates the repository once when a failed call is retried', async () => {
          const { host, repoCount } = use();
          const before = await repoCount();
          await faults().inject('server-error');
          await settle(host.ensureRepo({ jobId: 'job_rt', name: 'retry-mvp', description: 'd' }));
          await faults().clear();
          const first = await host.ensureRepo({ jobId: 'job_rt', name: 'retry-mvp', description: 'd' });
          const again = await host.ensureRepo({ jobId: 'job_rt', name: 'retry-mvp', description: 'd' });
          expect(again.repo, 'a retry must find the repository the first call made').toEqual(first.repo);
          expect(await repoCount(), 'a retried ensureRepo must create one repository').toBe(before + 1);
        });
      }
    });
  });
}
