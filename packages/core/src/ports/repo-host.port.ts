import type { RepoRef } from '../domain/job.js';
import type { Workspace } from './workspace.port.js';

/** Hosts the job's code repository. */
export interface RepoHost {
  readonly specificationVersion: 'v1';
  /**
   * The job's repository, created on first call. Idempotent per `jobId`: a later call (a
   * retry, a resumed job) returns the same repository with `created: false`. When `name` is
   * taken by a repository that is not this job's, a suffixed name is used.
   */
  ensureRepo(options: {
    jobId: string;
    name: string;
    description: string;
    signal?: AbortSignal;
  }): Promise<{ repo: RepoRef; created: boolean }>;
  /**
   * Commits everything in the workspace (additions, edits, deletions) on `repo.branch` and
   * pushes it. With nothing changed, no commit is made and the current head is returned. The
   * same tree, parent, message and `date` give the same commit id, and pushing a commit the
   * remote already has changes nothing (`pushed: false`). The job owns its branch: the push
   * replaces whatever an unfinished earlier attempt left there.
   */
  push(options: {
    repo: RepoRef;
    workspace: Workspace;
    message: string;
    date: Date;
    signal?: AbortSignal;
  }): Promise<{ commit: string; pushed: boolean }>;
  /** Fills an empty workspace with the repository at `commit` (the branch head when omitted). */
  checkout(options: {
    repo: RepoRef;
    workspace: Workspace;
    commit?: string;
    signal?: AbortSignal;
  }): Promise<{ commit: string }>;
}
