import type { RepoHost } from '../ports/repo-host.port.js';
import type { FilesAccess } from './files-access.js';
import { type Harness, type TestApi, withHarness } from './test-api.js';

export interface RepoHostHarness extends Harness {
  host: RepoHost;
  files: FilesAccess;
  /** How many repositories the host holds (to prove nothing is created twice). */
  repoCount(): Promise<number>;
}

const DATE = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));

export function repoHostContract(
  t: TestApi,
  name: string,
  create: () => Promise<RepoHostHarness> | RepoHostHarness,
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
        expect(again.created).toBe(false);
        expect(again.repo).toEqual(first.repo);
        expect(await repoCount()).toBe(before + 1);
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
    });
  });
}
