import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDiskFiles } from '@mvp-pipeline/adapters-local/testing';
import { PipelineError, type RepoHost } from '@mvp-pipeline/core';
import { faultyFetch, repoHostContract } from '@mvp-pipeline/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createGitHubRepoHost, type GitHubRepoHostSettings } from './index.js';
import {
  GITHUB_ERRORS,
  type GitHubStandIn,
  gitCliClone,
  gitIn,
  startGitHubStandIn,
} from './testing/index.js';

const TOKEN = 'ghp_' + 'StandInToken0123456789abcdefABCDEF01';
const DATE = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));

repoHostContract(
  { describe, it, expect, beforeEach, afterEach },
  'GitHub (user repositories)',
  async () => {
    const github = await startGitHubStandIn({ token: TOKEN });
    const files = tempDiskFiles();
    // Faults between the host and GitHub (REST and git over HTTP), as Node's fetch raises them.
    const faults = faultyFetch();
    return {
      host: createGitHubRepoHost({ token: TOKEN, apiUrl: github.url }, { fetch: faults.fetch }),
      files,
      faults,
      repoCount: async () => github.repos().length,
      async dispose() {
        await faults.clear();
        await files.dispose();
        await github.close();
      },
    };
  },
  { network: true },
);

repoHostContract(
  { describe, it, expect, beforeEach, afterEach },
  'GitHub (organisation repositories)',
  async () => {
    const github = await startGitHubStandIn({ token: TOKEN, orgs: ['acme'] });
    const files = tempDiskFiles();
    return {
      host: createGitHubRepoHost({ token: TOKEN, apiUrl: github.url, owner: 'acme' }),
      files,
      repoCount: async () => github.repos().length,
      async dispose() {
        await files.dispose();
        await github.close();
      },
    };
  },
);

describe('GitHub RepoHost', () => {
  let github: GitHubStandIn;
  let files: ReturnType<typeof tempDiskFiles>;
  const host = (settings: Partial<GitHubRepoHostSettings> = {}): RepoHost =>
    createGitHubRepoHost({ token: TOKEN, apiUrl: github.url, ...settings });

  beforeEach(async () => {
    github = await startGitHubStandIn({ token: TOKEN, orgs: ['acme'] });
    files = tempDiskFiles();
  });
  afterEach(async () => {
    await files.dispose();
    await github.close();
  });

  it('deletes the job’s repository with DELETE /repos/{owner}/{repo}, and names the scope it needs', async () => {
    const { repo } = await host().ensureRepo({ jobId: 'job_del', name: 'del-mvp', description: 'd' });
    expect(await host().remove!({ jobId: 'job_del', repo })).toEqual({ removed: true });
    expect(github.requests.filter((r) => r.method === 'DELETE').map((r) => [r.url, r.status])).toEqual([
      ['/repos/octo-user/del-mvp', 204],
    ]);
    expect(github.repos().some((r) => r.name === 'del-mvp')).toBe(false);
    expect(await host().remove!({ jobId: 'job_del', repo })).toEqual({ removed: false });

    const denied = await startGitHubStandIn({ token: TOKEN, canDelete: false });
    try {
      const strict = createGitHubRepoHost({ token: TOKEN, apiUrl: denied.url });
      const made = await strict.ensureRepo({ jobId: 'job_del', name: 'del-mvp', description: 'd' });
      const error = await strict.remove!({ jobId: 'job_del', repo: made.repo }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'PERMANENT' });
      expect((error as Error).message).toMatch(/needs the delete_repo scope/);
      expect((error as Error).message).not.toContain(TOKEN);
    } finally {
      await denied.close();
    }
  });

  it('creates a private repository carrying the job marker, for the user or in the organisation', async () => {
    const mine = await host().ensureRepo({
      jobId: 'job_u',
      name: 'eventhub-mvp',
      description: 'EventHub MVP',
    });
    expect(mine.repo).toMatchObject({
      name: 'eventhub-mvp',
      fullName: 'octo-user/eventhub-mvp',
      url: `${github.url}/octo-user/eventhub-mvp`,
      cloneUrl: `${github.url}/octo-user/eventhub-mvp.git`,
      branch: 'main',
    });
    const org = await host({ owner: 'acme' }).ensureRepo({
      jobId: 'job_o',
      name: 'eventhub-mvp',
      description: 'x',
    });
    expect(org.repo.fullName).toBe('acme/eventhub-mvp');
    expect(github.requests.some((r) => r.method === 'POST' && r.url === '/orgs/acme/repos')).toBe(true);
    const [a, b] = github.repos();
    expect(a).toMatchObject({ private: true, description: 'EventHub MVP [mvp-pipeline:job_u]' });
    expect(b).toMatchObject({ owner: 'acme', private: true, description: 'x [mvp-pipeline:job_o]' });
    await host({ private: false }).ensureRepo({ jobId: 'job_p', name: 'public-mvp', description: 'x' });
    expect(github.repos().find((r) => r.name === 'public-mvp')?.private).toBe(false);
  });

  it('GITHUB_OWNER naming the token’s own user creates for the user; another user is a config error', async () => {
    const own = await host({ owner: 'octo-user' }).ensureRepo({
      jobId: 'j',
      name: 'own-mvp',
      description: 'd',
    });
    expect(own.repo.fullName).toBe('octo-user/own-mvp');
    await github.addRepo({ owner: 'acme', name: 'unrelated' });
    const error = await host({ owner: 'nobody-here' })
      .ensureRepo({ jobId: 'j', name: 'x-mvp', description: 'd' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONFIG', variable: 'GITHUB_OWNER' });
  });

  it('skips names taken by repositories that are not this job’s', async () => {
    await github.addRepo({ name: 'taken-mvp', description: 'Somebody else’s project' });
    await github.addRepo({ name: 'taken-mvp-2', description: 'Another [mvp-pipeline:job_other]' });
    const { repo, created } = await host().ensureRepo({
      jobId: 'job_t',
      name: 'taken-mvp',
      description: 'd',
    });
    expect(created).toBe(true);
    expect(repo.name).toBe('taken-mvp-3');
    const again = await host().ensureRepo({ jobId: 'job_t', name: 'taken-mvp', description: 'd' });
    expect(again).toEqual({ repo, created: false, provider: 'github' });
    // A job id that is a prefix of another is not mistaken for it.
    const prefix = await host().ensureRepo({ jobId: 'job_oth', name: 'taken-mvp', description: 'd' });
    expect(prefix.repo.name).toBe('taken-mvp-4');
  });

  it('a retried job (crash after creation, before push) ends with one repository holding its push', async () => {
    // First runner: creates the repository, then dies before pushing.
    const first = await host().ensureRepo({ jobId: 'job_crash', name: 'crash-mvp', description: 'd' });
    expect(first.created).toBe(true);
    // Second runner: a new process, a new client.
    const second = host();
    const again = await second.ensureRepo({ jobId: 'job_crash', name: 'crash-mvp', description: 'd' });
    expect(again).toEqual({ repo: first.repo, created: false, provider: 'github' });
    const ws = await files.newWorkspace('job_crash');
    await files.write(ws, 'index.html', '<h1>Crash</h1>');
    const pushed = await second.push({ repo: again.repo, workspace: ws, message: 'Start', date: DATE });
    expect(pushed.pushed).toBe(true);
    expect(github.repos()).toHaveLength(1);
    const clone = await gitCliClone(again.repo.cloneUrl, TOKEN);
    try {
      expect(clone.commits).toEqual([pushed.commit]);
    } finally {
      await clone.dispose();
    }
  });

  it('a creation whose answer was lost (created, then a 502) is found, not made twice', async () => {
    github.fail({
      method: 'POST',
      path: /^\/user\/repos$/,
      status: 502,
      body: '<html>Bad Gateway</html>',
      afterHandling: true,
    });
    const { repo } = await host({ retries: 1 }).ensureRepo({
      jobId: 'job_lost',
      name: 'lost-mvp',
      description: 'd',
    });
    expect(repo.name).toBe('lost-mvp');
    expect(github.repos()).toHaveLength(1);
  });

  it('waits out the 404 window after creation, for the API and for git', async () => {
    const h = host();
    const made = await h.ensureRepo({ jobId: 'job_lag', name: 'lag-mvp', description: 'd' });
    // The next reads of the new repository answer 404, as GitHub's replicas may for a moment.
    github.lag('octo-user/lag-mvp', 3);
    const ws = await files.newWorkspace('job_lag');
    await files.write(ws, 'a.txt', 'a');
    const pushed = await h.push({ repo: made.repo, workspace: ws, message: 'm', date: DATE });
    expect(pushed.pushed).toBe(true);
    github.lag('octo-user/lag-mvp', 2);
    const again = await h.ensureRepo({ jobId: 'job_lag', name: 'lag-mvp', description: 'd' });
    // GET said 404, POST said the name exists: the adapter waits until the repository shows and claims it.
    expect(again).toEqual({ repo: made.repo, created: false, provider: 'github' });
    expect(github.repos()).toHaveLength(1);
  });

  it('a name GitHub says exists but never shows us (another team’s private repository) is skipped', async () => {
    github.fail({ method: 'POST', path: /^\/user\/repos$/, status: 422, body: GITHUB_ERRORS.nameExists });
    const { repo, created } = await host({ settleTimeoutMs: 600 }).ensureRepo({
      jobId: 'job_ghost',
      name: 'ghost-mvp',
      description: 'd',
    });
    expect({ name: repo.name, created }).toEqual({ name: 'ghost-mvp-2', created: true });
  });

  it('after a push, the real git clones the repository, fsck passes, and our commits are there', async () => {
    const h = host();
    const { repo } = await h.ensureRepo({ jobId: 'job_fsck', name: 'fsck-mvp', description: 'd' });
    const ws = await files.newWorkspace('job_fsck');
    await files.write(ws, 'index.html', '<h1>One</h1>');
    await files.write(ws, 'bin/run.sh', '#!/bin/sh\necho hi\n');
    const first = await h.push({ repo, workspace: ws, message: 'Start from the template', date: DATE });
    await files.write(ws, 'index.html', '<h1>Two</h1>');
    const second = await h.push({ repo, workspace: ws, message: 'Generate the MVP', date: DATE });
    const clone = await gitCliClone(repo.cloneUrl, TOKEN);
    try {
      expect(clone.commits).toEqual([second.commit, first.commit]);
      expect(await readFile(path.join(clone.dir, 'index.html'), 'utf8')).toBe('<h1>Two</h1>');
      expect(await gitIn(clone.dir, ['log', '-1', '--format=%an <%ae> %at %s'])).toBe(
        `mvp-pipeline <mvp-pipeline@users.noreply.github.com> ${DATE.getTime() / 1000} Generate the MVP\n`,
      );
    } finally {
      await clone.dispose();
    }
    // The git traffic carried the token as basic auth, and only after the server asked.
    const git = github.requests.filter((r) => r.url.includes('.git/'));
    expect(git.some((r) => r.auth === 'basic' && r.authorised && r.url.includes('git-receive-pack'))).toBe(
      true,
    );
    expect(git.every((r) => r.auth === 'none' || r.auth === 'basic')).toBe(true);
  });

  it('a checkout leaves a .git that later commits and pushes continue from', async () => {
    const h = host();
    const { repo } = await h.ensureRepo({ jobId: 'job_co', name: 'co-mvp', description: 'd' });
    const ws = await files.newWorkspace('job_co');
    await files.write(ws, 'a.txt', 'a');
    const first = await h.push({ repo, workspace: ws, message: 'first', date: DATE });
    // A resumed job: a fresh runner clones its repository back and carries on.
    const back = await files.newWorkspace('job_co');
    await host().checkout({ repo, workspace: back, commit: first.commit });
    await files.write(back, 'b.txt', 'b');
    const second = await host().push({ repo, workspace: back, message: 'second', date: DATE });
    expect(second.pushed).toBe(true);
    expect((await gitIn(back.dir, ['rev-parse', `${second.commit}^`])).trim()).toBe(first.commit);
    expect((await gitIn(back.dir, ['symbolic-ref', 'HEAD'])).trim()).toBe('refs/heads/main');
    expect(await readFile(path.join(back.dir, '.git', 'config'), 'utf8')).not.toContain(TOKEN);
  });

  it('a checkout of a repository with nothing pushed, or of an unknown commit, is NOT_FOUND', async () => {
    const h = host({ settleTimeoutMs: 0 });
    const { repo } = await h.ensureRepo({ jobId: 'job_nf', name: 'nf-mvp', description: 'd' });
    const empty = await h.checkout({ repo, workspace: await files.newWorkspace() }).catch((e: unknown) => e);
    expect(PipelineError.isInstance(empty) && empty.code).toBe('NOT_FOUND');
    const ws = await files.newWorkspace();
    await files.write(ws, 'a.txt', 'a');
    await h.push({ repo, workspace: ws, message: 'm', date: DATE });
    const unknown = await h
      .checkout({ repo, workspace: await files.newWorkspace(), commit: 'deadbeef'.repeat(5) })
      .catch((e: unknown) => e);
    expect(PipelineError.isInstance(unknown) && unknown.code).toBe('NOT_FOUND');
  });

  it('generates the repository from a GitHub template repository when asked', async () => {
    await github.addRepo({
      owner: 'acme',
      name: 'mvp-template',
      isTemplate: true,
      files: { 'mvp.template.json': '{}', 'README.md': 'template' },
    });
    await github.addRepo({ name: 'gen-mvp', description: 'not ours' });
    const h = host({ generateFrom: 'acme/mvp-template' });
    const { repo, created } = await h.ensureRepo({ jobId: 'job_gen', name: 'gen-mvp', description: 'd' });
    expect(created).toBe(true);
    expect(repo.name).toBe('gen-mvp-2');
    expect(github.repos().find((r) => r.name === 'gen-mvp-2')).toMatchObject({
      templateOf: 'acme/mvp-template',
      private: true,
    });
    expect(
      github.requests.some((r) => r.method === 'POST' && r.url === '/repos/acme/mvp-template/generate'),
    ).toBe(true);
    // A retry finds it.
    expect((await h.ensureRepo({ jobId: 'job_gen', name: 'gen-mvp', description: 'd' })).created).toBe(false);
    // The job's first push goes on top of the generated commit (no force: rulesets refuse
    // forced pushes), with the job's own tree.
    const ws = await files.newWorkspace('job_gen');
    await files.write(ws, 'index.html', 'mine');
    const pushed = await h.push({ repo, workspace: ws, message: 'Start', date: DATE });
    const clone = await gitCliClone(repo.cloneUrl, TOKEN);
    try {
      expect(clone.commits[0]).toEqual(pushed.commit);
      expect(clone.commits).toHaveLength(2);
      expect(await readFile(path.join(clone.dir, 'index.html'), 'utf8')).toBe('mine');
    } finally {
      await clone.dispose();
    }
  });

  /** A pre-receive hook on the stand-in's bare repository, as a branch ruleset acts. */
  const ruleset = async (fullName: string, script: string) => {
    const hook = path.join(github.bareDir(fullName), 'hooks', 'pre-receive');
    await writeFile(hook, `#!/bin/sh\n${script}\n`);
    await chmod(hook, 0o755);
  };

  it('pushes without force when an earlier attempt moved the branch on (a ruleset blocks forced pushes)', async () => {
    const h = host();
    const { repo } = await h.ensureRepo({ jobId: 'job_ff', name: 'ff-mvp', description: 'd' });
    const first = await files.newWorkspace('job_ff_1');
    await files.write(first, 'index.html', 'template');
    const checkpoint = await h.push({ repo, workspace: first, message: 'Template', date: DATE });
    await files.write(first, 'index.html', 'attempt 1, never checkpointed');
    const lost = await h.push({ repo, workspace: first, message: 'Generated (attempt 1)', date: DATE });
    // "Block force pushes": refuse any update that is not a fast-forward.
    await ruleset(
      'octo-user/ff-mvp',
      'while read old new ref; do git merge-base --is-ancestor "$old" "$new" || { echo "GH013: Cannot force-push to this branch" >&2; exit 1; }; done',
    );
    // Attempt 2 resumes from the checkpoint, not from attempt 1's push.
    const second = await files.newWorkspace('job_ff_2');
    await h.checkout({ repo, workspace: second, commit: checkpoint.commit });
    await files.write(second, 'index.html', 'attempt 2');
    const pushed = await h.push({ repo, workspace: second, message: 'Generated (attempt 2)', date: DATE });
    expect(pushed.pushed).toBe(true);
    const clone = await gitCliClone(repo.cloneUrl, TOKEN);
    try {
      expect(clone.commits).toEqual([pushed.commit, lost.commit, checkpoint.commit]);
      expect(await readFile(path.join(clone.dir, 'index.html'), 'utf8')).toBe('attempt 2');
    } finally {
      await clone.dispose();
    }
  });

  it('reports a push a ruleset refused as such', async () => {
    const h = host();
    const { repo } = await h.ensureRepo({ jobId: 'job_rule', name: 'rule-mvp', description: 'd' });
    await ruleset(
      'octo-user/rule-mvp',
      'echo "GH013: Repository rule violations found for refs/heads/main." >&2; exit 1',
    );
    const ws = await files.newWorkspace('job_rule');
    await files.write(ws, 'index.html', 'x');
    const error = await h.push({ repo, workspace: ws, message: 'm', date: DATE }).catch((e: unknown) => e);
    expect(PipelineError.isInstance(error) && error.code).toBe('PERMANENT');
    expect((error as Error).message).toMatch(
      /refused the push.*: a branch ruleset or protection rule forbids it/,
    );
  });

  it('the generate endpoint’s own “name already exists” answer leads to a suffixed name', async () => {
    await github.addRepo({ owner: 'acme', name: 'tpl', isTemplate: true, files: { 'a.txt': 'a' } });
    // The GET misses the existing repository (the window), the generate call then says the name exists.
    await github.addRepo({ name: 'race-mvp', description: 'someone else' });
    github.lag('octo-user/race-mvp', 1);
    const { repo } = await host({ generateFrom: 'acme/tpl' }).ensureRepo({
      jobId: 'job_race',
      name: 'race-mvp',
      description: 'd',
    });
    expect(repo.name).toBe('race-mvp-2');
    const answered = github.requests.find((r) => r.url === '/repos/acme/tpl/generate');
    expect(answered?.status).toBe(422);
  });

  it('refuses to generate from a repository that is not a template', async () => {
    await github.addRepo({ owner: 'acme', name: 'plain', files: { 'a.txt': 'a' } });
    const error = await host({ generateFrom: 'acme/plain' })
      .ensureRepo({ jobId: 'j', name: 'x-mvp', description: 'd' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PERMANENT' });
    expect(String((error as Error).message)).toContain('not a template repository');
  });

  it('rejects names GitHub would not accept, before calling it', async () => {
    const error = await host()
      .ensureRepo({ jobId: 'j', name: '../evil', description: 'd' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'VALIDATION' });
    expect(github.requests).toHaveLength(0);
  });
});
