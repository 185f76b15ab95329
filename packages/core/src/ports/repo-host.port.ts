import type { RepoRef } from '../domain/job.js';
import type { Workspace } from './workspace.port.js';

/**
 * Hosts the job's code repository.
 *
 * **Abort.** When `signal` aborts, stop (no further requests, no push started) and reject with
 * `signal.reason`: the core aborts with its own CancelledError, InterruptedError or
 * DeadlineExceededError.
 *
 * **Errors.** Reject only with the core's errors, never a raw SDK, fetch, git or `fs` error (the
 * core treats an unknown error as permanent): TransientError for connection refused or reset,
 * timeouts and 5xx; RateLimitedError (with `retryAfterMs`) for 429 and secondary rate limits;
 * PermanentError for other 4xx (bad credentials, no permission, a name the host refuses);
 * NotFoundError for a commit or repository that is not there on `checkout`. Messages carry no
 * token and no credentials of a clone URL.
 */
export interface RepoHost {
  readonly specificationVersion: 'v1';
  /**
   * The job's repository, created on first call. Idempotent per `jobId`: a later call (a
   * retry, a resumed job) returns the same repository with `created: false`. When `name` is
   * taken by a repository that is not this job's, a suffixed name is used. `provider` names the
   * host for the record's provider-neutral `resources.repository` (e.g. `github`, `local-git`).
   */
  ensureRepo(options: {
    jobId: string;
    name: string;
    description: string;
    signal?: AbortSignal;
  }): Promise<{ repo: RepoRef; created: boolean; provider: string }>;
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
  /**
   * Deletes the job's repository (`mvp cleanup --repo`): only one that carries this job's mark
   * (a repository of that name that is not the job's is a PermanentError, left alone).
   * `{ removed: false }` when there is none (idempotent). Optional: a host without it leaves the
   * repository to the operator.
   */
  remove?(options: {
    jobId: string;
    repo: Pick<RepoRef, 'name' | 'fullName'>;
    signal?: AbortSignal;
  }): Promise<{
    removed: boolean;
  }>;
}
