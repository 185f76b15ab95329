import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  NotFoundError,
  PermanentError,
  type Redactor,
  type RepoHost,
  type RepoRef,
  ValidationError,
} from '@mvp-pipeline/core';
import { assertBranchName, commitAll } from '@mvp-pipeline/workspace';
import git from 'isomorphic-git';
import { asPipelineError, assertJobId } from './errors.js';
import { copyObjects } from './git-objects.js';

/** The host's name in the record's `resources.repository`. */
const PROVIDER = 'local-git';

export interface GitRepoHostSettings {
  /** The directory holding the bare repositories (`<root>/<name>.git`), created when missing. */
  root: string;
  /**
   * Where people open the repositories when they are served (e.g. by `git http-backend`):
   * `url` becomes `<baseUrl>/<name>.git`. Without it, `url` is the repository's `file://` URL.
   */
  baseUrl?: string;
  /** The process's redactor, for error messages. Default: one that knows only the token shapes. */
  redact?: Redactor;
}

/** A repository name: a slug (see the core's `slugify`), optionally with a numeric suffix. */
const REPO_NAME = /^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$/;
const COMMIT_ID = /^[0-9a-f]{40}$/;
/** The git config entry naming the job that owns a repository. */
const OWNER_KEY = 'mvp.jobId';
const BRANCH = 'main';
/** How many suffixes (`-2` … ) are tried before giving up on a name. */
const MAX_SUFFIX = 1000;

/** Throws ValidationError unless `name` is a repository slug. */
export function assertRepoName(name: string): void {
  if (typeof name !== 'string' || !REPO_NAME.test(name) || name.includes('--')) {
    throw new ValidationError('repository name', [
      {
        path: JSON.stringify(String(name)),
        message: 'must be a slug: lowercase letters, digits, single dashes',
      },
    ]);
  }
}

/**
 * The embedded RepoHost: bare git repositories on disk, written with isomorphic-git (no `git`
 * binary needed; Debian's `git clone` and `git fsck --full` accept what it writes).
 *
 * - `ensureRepo` creates `<root>/<name>.git` once per job: the owning job id is kept in the bare
 *   repository's config (`mvp.jobId`), so a re-run finds it; a name owned by another job gets a
 *   suffix (`-2`, `-3` …). A repository appears atomically (built aside, then renamed).
 * - `push` commits the workspace with `commitAll` and copies the missing objects into the bare
 *   repository, then moves the branch (forced: the job owns its branch).
 * - `checkout` fills an empty workspace with a `.git` and the files at a commit, so that a resumed
 *   job commits and pushes on top of it.
 * The repository is located from `repo.name` under `root` (never from a path in the record).
 */
export function createGitRepoHost(settings: GitRepoHostSettings): RepoHost {
  const root = path.resolve(settings.root);
  const baseUrl = settings.baseUrl?.replace(/\/+$/, '');

  const gitdirOf = (name: string) => path.join(root, `${name}.git`);
  const refOf = (name: string): RepoRef => {
    const gitdir = gitdirOf(name);
    return {
      name,
      fullName: name,
      url: baseUrl ? `${baseUrl}/${name}.git` : pathToFileURL(gitdir).href,
      cloneUrl: gitdir,
      branch: BRANCH,
    };
  };
  const ownerOf = async (gitdir: string): Promise<string | undefined> => {
    try {
      const value: unknown = await git.getConfig({ fs, gitdir, path: OWNER_KEY });
      return typeof value === 'string' ? value : undefined;
    } catch {
      return undefined;
    }
  };
  const isDir = (p: string) =>
    stat(p).then(
      (s) => s.isDirectory(),
      () => false,
    );

  /** The bare repository of `repo`, which must exist. */
  const existingGitdir = async (repo: RepoRef): Promise<string> => {
    assertRepoName(repo.name);
    assertBranchName(repo.branch);
    const gitdir = gitdirOf(repo.name);
    if (!(await isDir(gitdir))) throw new NotFoundError(`Repository ${repo.name} not found in ${root}`);
    return gitdir;
  };

  /** Builds a bare repository aside and renames it into place; false when the name was taken meanwhile. */
  const createBare = async (name: string, jobId: string, description: string): Promise<boolean> => {
    const tmp = path.join(root, `.creating-${name}-${randomBytes(6).toString('hex')}`);
    try {
      await git.init({ fs, dir: tmp, bare: true, defaultBranch: BRANCH });
      await git.setConfig({ fs, gitdir: tmp, path: OWNER_KEY, value: jobId });
      await writeFile(
        path.join(tmp, 'description'),
        `${description.replace(/[\r\n]+/g, ' ').slice(0, 500)}\n`,
      );
      // rename(2) does not replace a non-empty directory: whoever renames first owns the name.
      await rename(tmp, gitdirOf(name));
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ENOTEMPTY') return false;
      throw error;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  };

  return {
    specificationVersion: 'v1',

    async ensureRepo({ jobId, name, description, signal }) {
      signal?.throwIfAborted();
      assertJobId(jobId);
      assertRepoName(name);
      try {
        await mkdir(root, { recursive: true });
        // This job's repository may carry any suffix: look at all of them first.
        const pattern = new RegExp(`^${name}(?:-(\\d+))?\\.git$`);
        const candidates = (await readdir(root)).filter((entry) => pattern.test(entry)).sort();
        for (const entry of candidates) {
          if ((await ownerOf(path.join(root, entry))) === jobId) {
            return { repo: refOf(entry.slice(0, -'.git'.length)), created: false, provider: PROVIDER };
          }
        }
        for (let n = 1; n <= MAX_SUFFIX; n++) {
          signal?.throwIfAborted();
          const candidate = n === 1 ? name : `${name}-${n}`;
          assertRepoName(candidate);
          const gitdir = gitdirOf(candidate);
          if (!(await isDir(gitdir)) && (await createBare(candidate, jobId, description))) {
            return { repo: refOf(candidate), created: true, provider: PROVIDER };
          }
          // Taken, possibly a moment ago by another attempt of this same job.
          if ((await ownerOf(gitdir)) === jobId)
            return { repo: refOf(candidate), created: false, provider: PROVIDER };
        }
        throw new ValidationError('repository name', [
          { path: JSON.stringify(name), message: `is taken with every suffix up to -${MAX_SUFFIX}` },
        ]);
      } catch (error) {
        throw asPipelineError(`Cannot create the repository ${name}`, error, settings.redact);
      }
    },

    async remove({ jobId, repo, signal }) {
      signal?.throwIfAborted();
      assertJobId(jobId);
      assertRepoName(repo.name);
      const gitdir = gitdirOf(repo.name);
      if (!(await isDir(gitdir))) return { removed: false };
      if ((await ownerOf(gitdir)) !== jobId) {
        throw new PermanentError(`Repository ${repo.name} in ${root} is not job ${jobId}'s: left alone`);
      }
      // Renamed aside first: the name is free at once, and a crash leaves no half-deleted repository.
      const doomed = path.join(root, `.removing-${repo.name}-${randomBytes(6).toString('hex')}`);
      try {
        await rename(gitdir, doomed);
        await rm(doomed, { recursive: true, force: true });
        return { removed: true };
      } catch (error) {
        throw asPipelineError(`Cannot remove the repository ${repo.name}`, error, settings.redact);
      }
    },

    async push({ repo, workspace, message, date, signal }) {
      signal?.throwIfAborted();
      const gitdir = await existingGitdir(repo);
      try {
        const { commit } = await commitAll({ dir: workspace.dir, message, date, branch: repo.branch });
        await copyObjects({ from: path.join(workspace.dir, '.git'), to: gitdir, oid: commit, signal });
        const ref = `refs/heads/${repo.branch}`;
        const before = await git.resolveRef({ fs, gitdir, ref }).catch(() => undefined);
        if (before === commit) return { commit, pushed: false };
        // Objects first, ref last: a crash in between leaves unreferenced objects, never a broken branch.
        await git.writeRef({ fs, gitdir, ref, value: commit, force: true });
        return { commit, pushed: true };
      } catch (error) {
        throw asPipelineError(`Cannot push to ${repo.name}`, error, settings.redact);
      }
    },

    async checkout({ repo, workspace, commit, signal }) {
      signal?.throwIfAborted();
      const gitdir = await existingGitdir(repo);
      if (commit !== undefined && !COMMIT_ID.test(commit)) {
        throw new ValidationError('commit', [
          { path: JSON.stringify(commit), message: 'is not a full commit id' },
        ]);
      }
      try {
        const ref = `refs/heads/${repo.branch}`;
        const target = commit ?? (await git.resolveRef({ fs, gitdir, ref }).catch(() => undefined));
        if (!target) throw new NotFoundError(`Repository ${repo.name} has no commits on ${repo.branch}`);
        const found = await git.readCommit({ fs, gitdir, oid: target }).then(
          () => true,
          () => false,
        );
        if (!found) throw new NotFoundError(`Commit ${target} not found in ${repo.name}`);

        const dir = workspace.dir;
        const workGitdir = path.join(dir, '.git');
        if (!(await isDir(workGitdir))) await git.init({ fs, dir, defaultBranch: repo.branch });
        await copyObjects({ from: gitdir, to: workGitdir, oid: target, signal });
        await git.writeRef({ fs, gitdir: workGitdir, ref, value: target, force: true });
        await git.writeRef({ fs, gitdir: workGitdir, ref: 'HEAD', value: ref, symbolic: true, force: true });
        await git.addRemote({ fs, gitdir: workGitdir, remote: 'origin', url: gitdir, force: true });
        await git.checkout({ fs, dir, gitdir: workGitdir, ref: repo.branch, force: true });
        return { commit: target };
      } catch (error) {
        throw asPipelineError(`Cannot check out ${repo.name}`, error, settings.redact);
      }
    },
  };
}
