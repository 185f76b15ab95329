import fs from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ValidationError } from '@mvp-pipeline/core';
import git from 'isomorphic-git';

/** Who our commits are by. The noreply address keeps them attributable without a real mailbox. */
export const COMMIT_AUTHOR = {
  name: 'mvp-pipeline',
  email: 'mvp-pipeline@users.noreply.github.com',
} as const;

/** Git's own rules for a branch name, in the subset we accept. */
const BRANCH = /^(?![/.-]|.*\/\/|.*\/$|.*\.\.|.*\.lock$|.*@\{|.*\/[.-])[A-Za-z0-9._/-]{1,200}$/;

/** Throws ValidationError unless `branch` is a plain git branch name. */
export function assertBranchName(branch: string): void {
  if (!BRANCH.test(branch)) {
    throw new ValidationError('branch name', [
      { path: JSON.stringify(branch), message: 'is not a valid branch' },
    ]);
  }
}

/** node_modules is never committed, whatever the workspace's .gitignore says. */
const EXCLUDES = ['node_modules'];

async function ensureExcludes(gitdir: string): Promise<void> {
  const file = path.join(gitdir, 'info', 'exclude');
  const current = await readFile(file, 'utf8').catch(() => '');
  const lines = current.split('\n');
  const missing = EXCLUDES.filter((e) => !lines.includes(e));
  if (missing.length === 0) return;
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${current}${current && !current.endsWith('\n') ? '\n' : ''}${missing.join('\n')}\n`);
}

export interface CommitAllOptions {
  /** The working tree. Its `.git` is created when missing. */
  dir: string;
  message: string;
  /** Author and committer date (whole seconds, UTC). */
  date: Date;
  /** The branch to commit on. Default `main`. */
  branch?: string;
}

/**
 * Stages every change in dir (adds, edits, deletions; `git init` with branch `main` if there is no
 * .git), and commits with author/committer {name:'mvp-pipeline', email:'mvp-pipeline@users.noreply.github.com'}
 * at `date`. No commit when the tree equals HEAD's (changed: false, commit = HEAD). A fresh dir with
 * the same files, message and date yields the same commit id (deterministic). `.gitignore` files
 * are honoured and `node_modules` is never committed. Uses isomorphic-git.
 * Errors: ValidationError for a bad branch name or date.
 */
export async function commitAll(options: CommitAllOptions): Promise<{ commit: string; changed: boolean }> {
  const { dir, message } = options;
  const branch = options.branch ?? 'main';
  assertBranchName(branch);
  const time = options.date.getTime();
  if (!Number.isFinite(time)) {
    throw new ValidationError('commit', [{ path: 'date', message: 'is not a valid date' }]);
  }
  const gitdir = path.join(dir, '.git');
  const ref = `refs/heads/${branch}`;
  const hasGit = await stat(gitdir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!hasGit) await git.init({ fs, dir, defaultBranch: branch });
  else await git.writeRef({ fs, gitdir, ref: 'HEAD', value: ref, symbolic: true, force: true });
  await ensureExcludes(gitdir);

  const cache = {};
  const head = await git.resolveRef({ fs, gitdir, ref }).catch(() => undefined);
  // Rows are [path, head, workdir, stage]: 0 absent, 1 same as HEAD, 2 different (see statusMatrix).
  const rows = await git.statusMatrix({ fs, dir, gitdir, cache, ref: head ? ref : 'HEAD' });
  const toAdd: string[] = [];
  const toRemove: string[] = [];
  let changed = !head;
  for (const [filepath, headStatus, workdirStatus, stageStatus] of rows) {
    if (workdirStatus === 0) {
      if (stageStatus !== 0) toRemove.push(filepath);
      if (headStatus !== 0) changed = true;
    } else {
      if (!(headStatus === 1 && workdirStatus === 1 && stageStatus === 1)) toAdd.push(filepath);
      if (!(headStatus === 1 && workdirStatus === 1)) changed = true;
    }
  }
  for (const filepath of toRemove) await git.remove({ fs, dir, gitdir, filepath, cache });
  if (toAdd.length > 0) await git.add({ fs, dir, gitdir, filepath: toAdd, cache });
  if (head && !changed) return { commit: head, changed: false };

  const signature = { ...COMMIT_AUTHOR, timestamp: Math.floor(time / 1000), timezoneOffset: 0 };
  const commit = await git.commit({
    fs,
    dir,
    gitdir,
    ref,
    message: message.endsWith('\n') ? message : `${message}\n`,
    author: signature,
    committer: signature,
    cache,
  });
  return { commit, changed: true };
}
