// Over 400 lines: one RepoHost whose operations (owner resolution, create or find, push, checkout)
// share one Octokit, one token source and one redactor in a closure; the App tokens, git HTTP,
// git retries, names and error mapping are already modules of their own.
import fs from 'node:fs';
import { readdir } from 'node:fs/promises';
import {
  ConfigError,
  createRedactor,
  NotFoundError,
  PermanentError,
  PipelineError,
  type Redactor,
  type RepoHost,
  type RepoRef,
  TransientError,
  ValidationError,
  type Workspace,
} from '@mvp-pipeline/core';
import { commitAll } from '@mvp-pipeline/workspace';
import type { Octokit } from '@octokit/rest';
import git, { type HttpClient } from 'isomorphic-git';
import {
  appTokenSource,
  type GitHubAppSettings,
  type GitHubTokenSource,
  staticTokenSource,
} from './app-auth.js';
import { fromRestError, isNameTaken, isRequestError, RULESET_REFUSAL } from './errors.js';
import { createFetchGitHttp, withSignal } from './git-http.js';
import { defaultSleep, gitAuth, type Sleep, withGitRetries } from './git-ops.js';
import {
  assertRepoName,
  belongsToJob,
  candidateName,
  describeRepo,
  normaliseApiUrl,
  parseRepoSpec,
  type RepoSpec,
} from './names.js';
import { createOctokit, type LogLine } from './octokit.js';

/** The host's name in the record's `resources.repository`. */
const PROVIDER = 'github';

/** Settings of the GitHub RepoHost (environment names in brackets). */
export interface GitHubRepoHostSettings {
  /** A token that may create repositories and push to them (GITHUB_TOKEN). This, or `app`. */
  token?: string | undefined;
  /**
   * A GitHub App (GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY, GITHUB_APP_INSTALLATION_ID): its
   * installation tokens are minted through the API and renewed before they expire, for every
   * REST call and every push. Repositories go to the installation's organisation.
   */
  app?: GitHubAppSettings | undefined;
  /**
   * The organisation to create repositories in (GITHUB_OWNER). Unset, or naming the token's
   * own user: repositories are created for the authenticated user.
   */
  owner?: string | undefined;
  /** The REST API base (GITHUB_API_URL): GitHub Enterprise's `https://host/api/v3`, or a stand-in. */
  apiUrl?: string | undefined;
  /** Whether new repositories are private. Default true. */
  private?: boolean | undefined;
  /** The branch the job's commits go to. Default: the repository's default branch (`main` on GitHub). */
  branch?: string | undefined;
  /**
   * A GitHub template repository (`owner/name`, e.g. TEMPLATE_REPO without a ref) to generate new
   * repositories from (POST /repos/{owner}/{name}/generate) instead of creating empty ones.
   */
  generateFrom?: string | undefined;
  /** Retries of a 5xx or a dropped connection, for REST and git alike. Default 3. */
  retries?: number | undefined;
  /** Retries of a secondary rate limit before the step fails as RATE_LIMITED. Default 2. */
  secondaryRateLimitRetries?: number | undefined;
  /** The longest rate-limit wait sat out in place; longer waits fail as RATE_LIMITED. Default 60 s. */
  maxRateLimitWaitMs?: number | undefined;
  /** How long a new repository may answer 404/409 before it is visible. Default 30 s. */
  settleTimeoutMs?: number | undefined;
  /** Suffixed names tried when the name is taken (`name-2` … `name-N`). Default 20. */
  maxNameAttempts?: number | undefined;
  /** isomorphic-git's HTTP client for clone and push. Default: one built on `fetch`. */
  gitHttp?: HttpClient | undefined;
}

/** What the RepoHost can be given instead of building it. */
export interface GitHubRepoHostDeps {
  /** An Octokit to use as it is (its own auth, plugins and base URL). */
  octokit?: Octokit;
  /** The fetch for REST and (without `gitHttp`) git traffic. */
  fetch?: typeof fetch;
  /** Milliseconds since the epoch, for installation token expiry; `Date.now` by default. */
  clock?: () => number;
  /** Where warnings go (rate-limit waits, taken names); lines are redacted. */
  log?: LogLine;
  sleep?: Sleep;
  /** The process's redactor (it must know the token). Default: one that knows the token. */
  redact?: Redactor;
}

/** A repository as the REST API returns it, the fields we read. */
interface RepoJson {
  name: string;
  full_name: string;
  html_url: string;
  clone_url: string;
  description: string | null;
  default_branch?: string | undefined;
  owner: { login: string };
  is_template?: boolean | undefined;
}

interface Owner {
  login: string;
  kind: 'user' | 'org';
}

/**
 * A RepoHost on GitHub: the job's repository is created (private by default) for the
 * authenticated user or in the organisation `owner`, and carries the job's marker in its
 * description, so that a retried job finds its repository instead of making a second one.
 * Commits are made with the workspace package's deterministic `commitAll` and pushed with
 * isomorphic-git over HTTPS, the token given through `onAuth` only.
 */
export function createGitHubRepoHost(
  settings: GitHubRepoHostSettings,
  deps: GitHubRepoHostDeps = {},
): RepoHost {
  if (!settings.token && !settings.app) {
    throw new ConfigError('GITHUB_TOKEN', 'is required to create repositories on GitHub (or GITHUB_APP_ID)');
  }
  const apiUrl = normaliseApiUrl(settings.apiUrl);
  const tokens: GitHubTokenSource = settings.app
    ? appTokenSource(settings.app, { apiUrl, owner: settings.owner, fetch: deps.fetch, clock: deps.clock })
    : staticTokenSource(settings.token!);
  // Installation tokens change: the redactor knows every one issued (and the ghs_ shape anyway).
  // The application's redactor (when given) knows every other secret; the ghs_ shape is caught by both.
  const redact: Redactor = (text) => createRedactor(tokens.issued)(deps.redact ? deps.redact(text) : text);
  const template: RepoSpec | undefined = settings.generateFrom
    ? parseRepoSpec(settings.generateFrom, 'TEMPLATE_REPO')
    : undefined;
  if (template?.ref) {
    throw new ConfigError(
      'TEMPLATE_REPO',
      'generation copies the default branch: drop the @ref to generate from it',
    );
  }
  const octokit: Octokit =
    deps.octokit ??
    createOctokit(
      {
        token: settings.token,
        apiUrl,
        retries: settings.retries,
        secondaryRateLimitRetries: settings.secondaryRateLimitRetries,
        maxRateLimitWaitMs: settings.maxRateLimitWaitMs,
      },
      { fetch: deps.fetch, log: deps.log, redact },
    );
  if (settings.app) {
    // A live installation token on every call, renewed before it expires.
    octokit.hook.before('request', async (options) => {
      const signal = (options.request as { signal?: AbortSignal } | undefined)?.signal;
      options.headers.authorization = `token ${await tokens.token(signal)}`;
    });
  }
  const http = settings.gitHttp ?? createFetchGitHttp(deps.fetch);
  const sleep = deps.sleep ?? defaultSleep;
  const log = (line: string) => deps.log?.(redact(line));
  const auth = gitAuth(tokens);
  const settleMs = settings.settleTimeoutMs ?? 30_000;
  const retries = settings.retries ?? 3;
  const maxNames = settings.maxNameAttempts ?? 20;
  const isPrivate = settings.private ?? true;

  let ownerPromise: Promise<Owner> | undefined;
  let templateChecked: Promise<void> | undefined;

  const rest = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      throw fromRestError(error, what, redact);
    }
  };

  async function resolveOwner(signal: AbortSignal | undefined): Promise<Owner> {
    const request = signal ? { signal } : {};
    const me = () =>
      rest('reading the authenticated user', () => octokit.rest.users.getAuthenticated({ request }));
    // An App's installation token has no user: the owner is named, or the installation's account.
    const installed = await tokens.installationOwner(signal);
    const name = settings.owner ?? installed;
    if (!name) return { login: (await me()).data.login, kind: 'user' };
    let account: { login: string; type: string };
    try {
      account = (await octokit.rest.users.getByUsername({ username: name, request })).data;
    } catch (error) {
      if (isRequestError(error) && error.status === 404) {
        throw new ConfigError('GITHUB_OWNER', `GitHub has no user or organisation named "${name}"`);
      }
      throw fromRestError(error, `reading the account ${name}`, redact);
    }
    if (account.type === 'Organization') return { login: account.login, kind: 'org' };
    if (installed !== undefined) {
      throw new ConfigError(
        'GITHUB_OWNER',
        `names the user ${account.login}: a GitHub App creates repositories in an organisation it is installed on`,
      );
    }
    const login = (await me()).data.login;
    if (login.toLowerCase() !== account.login.toLowerCase()) {
      throw new ConfigError(
        'GITHUB_OWNER',
        `names the user ${account.login}, but the token belongs to ${login}: name an organisation, or leave it unset`,
      );
    }
    return { login, kind: 'user' };
  }

  function owner(signal: AbortSignal | undefined): Promise<Owner> {
    ownerPromise ??= resolveOwner(signal).catch((error: unknown) => {
      ownerPromise = undefined;
      throw error;
    });
    return ownerPromise;
  }

  function checkTemplate(spec: RepoSpec, signal: AbortSignal | undefined): Promise<void> {
    templateChecked ??= (async () => {
      const found = await getRepo(spec.owner, spec.name, signal);
      if (!found) {
        throw new PermanentError(
          `TEMPLATE_REPO ${spec.owner}/${spec.name} does not exist or the token cannot read it`,
        );
      }
      if (!found.is_template) {
        throw new PermanentError(
          `${spec.owner}/${spec.name} is not a template repository: tick "Template repository" in its settings, or clone it instead of generating from it`,
        );
      }
    })().catch((error: unknown) => {
      templateChecked = undefined;
      throw error;
    });
    return templateChecked;
  }

  /** The repository, or undefined on 404. */
  async function getRepo(
    login: string,
    name: string,
    signal: AbortSignal | undefined,
  ): Promise<RepoJson | undefined> {
    try {
      const { data } = await octokit.rest.repos.get({
        owner: login,
        repo: name,
        ...(signal ? { request: { signal } } : {}),
      });
      return data as RepoJson;
    } catch (error) {
      if (isRequestError(error) && error.status === 404) return undefined;
      throw fromRestError(error, `reading repository ${login}/${name}`, redact);
    }
  }

  /**
   * GitHub may answer 404 for a short while after a repository is created: read it until it
   * shows, for at most `settleMs`. Undefined when it never showed.
   */
  async function settled(
    login: string,
    name: string,
    signal: AbortSignal | undefined,
  ): Promise<RepoJson | undefined> {
    const deadline = Date.now() + settleMs;
    let wait = 250;
    for (;;) {
      let found: RepoJson | undefined;
      try {
        found = await getRepo(login, name, signal);
      } catch (error) {
        if (!PipelineError.isInstance(error) || error.code !== 'TRANSIENT' || Date.now() + wait > deadline) {
          throw error;
        }
      }
      if (found || Date.now() + wait > deadline) return found;
      await sleep(wait, signal);
      wait = Math.min(wait * 2, 4000);
    }
  }

  async function create(
    account: Owner,
    name: string,
    description: string,
    signal: AbortSignal | undefined,
  ): Promise<RepoJson> {
    const request = signal ? { signal } : {};
    if (template) {
      await checkTemplate(template, signal);
      const { data } = await octokit.rest.repos.createUsingTemplate({
        template_owner: template.owner,
        template_repo: template.name,
        owner: account.login,
        name,
        description,
        private: isPrivate,
        include_all_branches: false,
        request,
      });
      return data as RepoJson;
    }
    const body = { name, description, private: isPrivate, auto_init: false, request };
    const { data } =
      account.kind === 'org'
        ? await octokit.rest.repos.createInOrg({ org: account.login, ...body })
        : await octokit.rest.repos.createForAuthenticatedUser(body);
    return data as RepoJson;
  }

  const toRef = (repo: RepoJson): RepoRef => ({
    name: repo.name,
    fullName: repo.full_name,
    url: repo.html_url,
    cloneUrl: repo.clone_url,
    branch: settings.branch ?? repo.default_branch ?? 'main',
  });

  const gitOptions = (what: string, signal: AbortSignal | undefined) => ({
    what,
    redact,
    sleep,
    signal,
    retries,
    settleMs,
  });

  /**
   * `local`, when it descends from the branch's head `remote`; else a commit with `local`'s tree,
   * message and dates whose parent is `remote` (fetched first), made the branch's head here.
   */
  async function onTopOf(
    remote: string,
    local: string,
    repo: RepoRef,
    dir: string,
    signal: AbortSignal | undefined,
  ): Promise<string> {
    const known = await git.readCommit({ fs, dir, oid: remote }).then(
      () => true,
      () => false,
    );
    if (known && (await git.isDescendent({ fs, dir, oid: local, ancestor: remote, depth: -1 }))) return local;
    if (!known) {
      // isomorphic-git fetches through a configured remote (the URL alone: no credentials in it).
      await git.addRemote({ fs, dir, remote: 'origin', url: repo.cloneUrl, force: true });
      await withGitRetries(
        () =>
          git.fetch({
            fs,
            http: withSignal(http, signal),
            dir,
            remote: 'origin',
            ref: repo.branch,
            remoteRef: repo.branch,
            singleBranch: true,
            tags: false,
            ...auth,
          }),
        gitOptions(`fetching ${repo.fullName}`, signal),
      );
    }
    const { commit } = await git.readCommit({ fs, dir, oid: local });
    const oid = await git.writeCommit({ fs, dir, commit: { ...commit, parent: [remote] } });
    await git.writeRef({ fs, dir, ref: `refs/heads/${repo.branch}`, value: oid, force: true });
    log(`${repo.fullName}: ${repo.branch} had moved on to ${remote.slice(0, 7)}; committed on top of it`);
    return oid;
  }

  async function remoteHead(repo: RepoRef, signal: AbortSignal | undefined): Promise<string | undefined> {
    const ref = `refs/heads/${repo.branch}`;
    const refs = await withGitRetries(
      () => git.listServerRefs({ http: withSignal(http, signal), url: repo.cloneUrl, prefix: ref, ...auth }),
      gitOptions(`reading ${repo.fullName}`, signal),
    );
    return refs.find((r) => r.ref === ref)?.oid;
  }

  const host: RepoHost = {
    specificationVersion: 'v1',

    async ensureRepo({ jobId, name, description, signal }) {
      signal?.throwIfAborted();
      assertRepoName(name);
      if (!jobId.trim()) throw new ValidationError('job', [{ path: 'jobId', message: 'must not be empty' }]);
      const account = await owner(signal);
      const text = describeRepo(description, jobId);
      for (let attempt = 1; attempt <= maxNames; attempt++) {
        const candidate = candidateName(name, attempt);
        const existing = await getRepo(account.login, candidate, signal);
        if (existing) {
          if (belongsToJob(existing.description, jobId))
            return { repo: toRef(existing), created: false, provider: PROVIDER };
          log(`Repository ${existing.full_name} belongs to someone else; trying another name`);
          continue;
        }
        let made: RepoJson;
        try {
          made = await create(account, candidate, text, signal);
        } catch (error) {
          if (PipelineError.isInstance(error)) throw error;
          if (!isNameTaken(error)) {
            throw fromRestError(error, `creating repository ${account.login}/${candidate}`, redact);
          }
          // Taken, though GET said 404: made moments ago (perhaps by this job's last attempt) and not yet visible.
          const taken = await settled(account.login, candidate, signal);
          if (taken && belongsToJob(taken.description, jobId))
            return { repo: toRef(taken), created: false, provider: PROVIDER };
          // Not ours, or not one we can see at all (another team's private repository): move on.
          log(`Repository ${account.login}/${candidate} belongs to someone else; trying another name`);
          continue;
        }
        const visible = await settled(made.owner.login, made.name, signal);
        if (!visible) {
          // The next attempt's GET finds it (and its marker): nothing is created twice.
          throw new TransientError(
            redact(
              `Repository ${made.full_name} was created but is not visible yet after ${Math.round(settleMs / 1000)} s`,
            ),
          );
        }
        return {
          repo: toRef({ ...made, default_branch: visible.default_branch ?? made.default_branch }),
          created: true,
          provider: PROVIDER,
        };
      }
      throw new PermanentError(
        redact(
          `No free repository name for ${account.login}/${name}: ${maxNames} names are taken by other repositories`,
        ),
      );
    },

    async remove({ jobId, repo, signal }) {
      signal?.throwIfAborted();
      const [login, name] = repo.fullName.split('/');
      if (!login || !name) {
        throw new ValidationError('repository', [{ path: 'fullName', message: 'must be owner/name' }]);
      }
      assertRepoName(name);
      const found = await getRepo(login, name, signal);
      if (!found) return { removed: false };
      if (!belongsToJob(found.description, jobId)) {
        throw new PermanentError(redact(`Repository ${found.full_name} is not job ${jobId}'s: left alone`));
      }
      try {
        // DELETE /repos/{owner}/{repo}: 204; the token needs delete_repo (Administration: write for an app).
        await octokit.rest.repos.delete({
          owner: login,
          repo: name,
          ...(signal ? { request: { signal } } : {}),
        });
        return { removed: true };
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (isRequestError(error) && error.status === 404) return { removed: false };
        if (isRequestError(error) && error.status === 403) {
          throw new PermanentError(
            redact(
              `GitHub refused deleting repository ${found.full_name} (403): the token needs the delete_repo scope (Administration: write for an app)`,
            ),
          );
        }
        throw fromRestError(error, `deleting repository ${found.full_name}`, redact);
      }
    },

    async push({ repo, workspace, message, date, signal }) {
      signal?.throwIfAborted();
      const dir = workspace.dir;
      const { commit: local } = await commitAll({ dir, message, date, branch: repo.branch });
      const remote = await remoteHead(repo, signal);
      if (remote === local) return { commit: local, pushed: false };
      // A push that needs no force (branch rulesets refuse forced pushes): when the branch moved
      // on past the commit this workspace started from (an earlier attempt pushed and died before
      // its checkpoint), this commit's tree goes on top of the branch's head instead.
      const commit = remote ? await onTopOf(remote, local, repo, dir, signal) : local;
      const result = await withGitRetries(
        () =>
          git.push({
            fs,
            http: withSignal(http, signal),
            dir,
            url: repo.cloneUrl,
            ref: repo.branch,
            remoteRef: repo.branch,
            ...auth,
            ...(signal ? { signal } : {}),
          }),
        gitOptions(`pushing to ${repo.fullName}`, signal),
      );
      const refResult = result.refs[`refs/heads/${repo.branch}`];
      if (!result.ok || (refResult && !refResult.ok)) {
        const reason = refResult?.error ?? result.error ?? 'no reason given';
        throw new PermanentError(
          redact(
            RULESET_REFUSAL.test(reason)
              ? `${repo.fullName} refused the push to ${repo.branch}: a branch ruleset or protection rule forbids it (${reason}); exempt the job's branch or let this token bypass the rule`
              : `${repo.fullName} refused the push to ${repo.branch}: ${reason}`,
          ),
        );
      }
      return { commit, pushed: true };
    },

    async checkout({ repo, workspace, commit, signal }) {
      await assertEmpty(workspace);
      const dir = workspace.dir;
      await withGitRetries(
        () =>
          git.clone({
            fs,
            http: withSignal(http, signal),
            dir,
            url: repo.cloneUrl,
            ref: repo.branch,
            // A named commit may sit on another branch (an unfinished attempt's): fetch them all.
            singleBranch: commit === undefined,
            noCheckout: true,
            noTags: true,
            ...auth,
          }),
        gitOptions(`cloning ${repo.fullName}`, signal),
      );
      let oid: string;
      try {
        oid = commit
          ? await git.expandOid({ fs, dir, oid: commit })
          : await git.resolveRef({ fs, dir, ref: `refs/heads/${repo.branch}` });
        await git.readCommit({ fs, dir, oid });
      } catch {
        throw new NotFoundError(
          redact(`${repo.fullName} has no ${commit ? `commit ${commit}` : `commits on ${repo.branch}`}`),
        );
      }
      // Later commits continue from here, on the job's branch.
      await git.writeRef({ fs, dir, ref: `refs/heads/${repo.branch}`, value: oid, force: true });
      await git.checkout({ fs, dir, ref: repo.branch, force: true });
      return { commit: oid };
    },
  };
  // Every call ends in signal.reason once aborted, whatever octokit or git made of the abort.
  return {
    specificationVersion: 'v1',
    ensureRepo: (options) => abortable(options.signal, () => host.ensureRepo(options)),
    push: (options) => abortable(options.signal, () => host.push(options)),
    checkout: (options) => abortable(options.signal, () => host.checkout(options)),
    remove: (options) => abortable(options.signal, () => host.remove!(options)),
  };
}

async function assertEmpty(workspace: Workspace): Promise<void> {
  const entries = await readdir(workspace.dir).catch(() => [] as string[]);
  if (entries.length > 0) {
    throw new ValidationError('workspace', [
      { path: workspace.dir, message: 'must be empty to check a repository out into it' },
    ]);
  }
}

async function abortable<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw error;
  }
}
