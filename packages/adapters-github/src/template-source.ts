import fs from 'node:fs';
import { copyFile, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createRedactor,
  NotFoundError,
  PipelineError,
  parseTemplateManifest,
  type Redactor,
  TEMPLATE_MANIFEST_FILE,
  type TemplateManifest,
  type TemplateSource,
  ValidationError,
} from '@mvp-pipeline/core';
import git, { type HttpClient } from 'isomorphic-git';
import {
  appTokenSource,
  type GitHubAppSettings,
  type GitHubTokenSource,
  staticTokenSource,
} from './app-auth.js';
import { createFetchGitHttp, withSignal } from './git-http.js';
import { defaultSleep, gitAuth, type Sleep, withGitRetries } from './git-ops.js';
import { gitBaseFor, normaliseApiUrl, parseRepoSpec } from './names.js';

/** Settings of the git template source (environment names in brackets). */
export interface GitTemplateSourceSettings {
  /** `owner/name[@ref]` (TEMPLATE_REPO): the repository holding the templates, and the branch, tag or commit to use. */
  templateRepo: string;
  /** A token that can read the repository (GITHUB_TOKEN); not needed for a public one. */
  token?: string | undefined;
  /**
   * A GitHub App instead of `token` (GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY,
   * GITHUB_APP_INSTALLATION_ID), as for the repo host: a live installation token is asked for on
   * every git request. The installation is `installationId`, or the one on the template
   * repository's owner.
   */
  app?: GitHubAppSettings | undefined;
  /** The REST API base (GITHUB_API_URL); git is served from the matching host. */
  apiUrl?: string | undefined;
  /** The git base URL, when it is not derived from `apiUrl` (e.g. `https://github.example.com`). */
  gitUrl?: string | undefined;
  /** Retries of a 5xx or a dropped connection. Default 3. */
  retries?: number | undefined;
  /** isomorphic-git's HTTP client. Default: one built on `fetch`. */
  gitHttp?: HttpClient | undefined;
}

export interface GitTemplateSourceDeps {
  fetch?: typeof fetch;
  sleep?: Sleep;
  /** Milliseconds since the epoch, for installation token expiry; `Date.now` by default. */
  clock?: () => number;
  /** The process's redactor; every token this source uses (each installation token too) is redacted on top. */
  redact?: Redactor;
}

const TEMPLATE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const COMMIT = /^[0-9a-f]{7,40}$/i;

/**
 * A TemplateSource reading templates from a git repository (TEMPLATE_REPO) over HTTPS with
 * isomorphic-git: a shallow clone of the ref (a full one when the ref is a commit id), then the
 * template's files are copied into the workspace without `.git`. The repository holds either
 * several templates, each in `templates/<name>/` or `<name>/` with its own `mvp.template.json`,
 * or one template at its root (served under the manifest's `name` or the repository's name).
 * `ref` in the result is the commit the files came from.
 */
export function createGitTemplateSource(
  settings: GitTemplateSourceSettings,
  deps: GitTemplateSourceDeps = {},
): TemplateSource {
  const spec = parseRepoSpec(settings.templateRepo, 'TEMPLATE_REPO');
  const apiUrl = normaliseApiUrl(settings.apiUrl);
  const tokens: GitHubTokenSource | undefined = settings.app
    ? appTokenSource(settings.app, { apiUrl, owner: spec.owner, fetch: deps.fetch, clock: deps.clock })
    : settings.token
      ? staticTokenSource(settings.token)
      : undefined;
  // Installation tokens change: the redactor knows every one issued (and the ghs_ shape anyway).
  const redact: Redactor = (text) =>
    createRedactor(tokens?.issued ?? [])(deps.redact ? deps.redact(text) : text);
  const gitBase = (settings.gitUrl ?? gitBaseFor(apiUrl)).replace(/\/+$/, '');
  const url = `${gitBase}/${spec.owner}/${spec.name}.git`;
  const http = settings.gitHttp ?? createFetchGitHttp(deps.fetch);
  const sleep = deps.sleep ?? defaultSleep;
  const auth = gitAuth(tokens);
  const label = `${spec.owner}/${spec.name}${spec.ref ? `@${spec.ref}` : ''}`;

  async function cloneInto(dir: string, signal: AbortSignal | undefined): Promise<string> {
    const byCommit = spec.ref !== undefined && COMMIT.test(spec.ref);
    const options = {
      what: `cloning the template repository ${label}`,
      redact,
      sleep,
      signal,
      retries: settings.retries ?? 3,
      settleMs: 0,
    };
    await withGitRetries(
      () =>
        git.clone({
          fs,
          http: withSignal(http, signal),
          dir,
          url,
          // Servers will not hand out an arbitrary commit shallowly: clone the history and pick it.
          ...(spec.ref && !byCommit ? { ref: spec.ref } : {}),
          ...(byCommit ? {} : { depth: 1, singleBranch: true }),
          noTags: !spec.ref || byCommit,
          noCheckout: true,
          ...auth,
        }),
      options,
    );
    try {
      const oid = byCommit
        ? await git.expandOid({ fs, dir, oid: spec.ref! })
        : await git.resolveRef({ fs, dir, ref: 'HEAD' });
      await git.checkout({ fs, dir, ref: oid, force: true });
      return oid;
    } catch (error) {
      if (PipelineError.isInstance(error)) throw error;
      throw new NotFoundError(redact(`The template repository ${label} has no such commit`));
    }
  }

  /** The folder of the clone that holds `template`, or undefined. */
  async function locate(clone: string, template: string): Promise<string | undefined> {
    for (const candidate of [path.join('templates', template), template]) {
      if (await isFile(path.join(clone, candidate, TEMPLATE_MANIFEST_FILE)))
        return path.join(clone, candidate);
    }
    const rootManifest = path.join(clone, TEMPLATE_MANIFEST_FILE);
    if (await isFile(rootManifest)) {
      const name = (JSON.parse(await readFile(rootManifest, 'utf8')) as { name?: unknown }).name;
      if (name === template || spec.name.toLowerCase() === template) return clone;
    }
    return undefined;
  }

  async function readManifestIn(dir: string, template: string): Promise<TemplateManifest> {
    let text: string;
    try {
      text = await readFile(path.join(dir, TEMPLATE_MANIFEST_FILE), 'utf8');
    } catch {
      throw new NotFoundError(`The workspace holds no ${TEMPLATE_MANIFEST_FILE}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new ValidationError(`template manifest of "${template}"`, [
        { path: TEMPLATE_MANIFEST_FILE, message: `is not JSON: ${(error as Error).message}` },
      ]);
    }
    return parseTemplateManifest(json, template);
  }

  return {
    specificationVersion: 'v1',

    async fetchTemplate({ template, workspace, signal }) {
      if (!TEMPLATE_NAME.test(template)) {
        throw new ValidationError('template name', [
          { path: JSON.stringify(template), message: 'must be lowercase letters, digits and -' },
        ]);
      }
      const clone = await mkdtemp(path.join(tmpdir(), 'mvp-template-'));
      try {
        const commit = await cloneInto(clone, signal);
        const folder = await locate(clone, template);
        if (!folder) {
          throw new NotFoundError(
            `The template repository ${label} has no template "${template}" (looked for templates/${template}/${TEMPLATE_MANIFEST_FILE}, ${template}/${TEMPLATE_MANIFEST_FILE} and a root manifest named "${template}")`,
          );
        }
        const manifest = await readManifestIn(folder, template);
        await mkdir(workspace.dir, { recursive: true });
        await copyTree(folder, workspace.dir, folder);
        return { manifest, ref: commit };
      } finally {
        await rm(clone, { recursive: true, force: true });
      }
    },

    async readManifest({ workspace }) {
      const text = await readFile(path.join(workspace.dir, TEMPLATE_MANIFEST_FILE), 'utf8').catch(
        () => undefined,
      );
      const name = text
        ? String((safeParse(text) as { name?: unknown } | undefined)?.name ?? 'workspace')
        : 'workspace';
      return { manifest: await readManifestIn(workspace.dir, name) };
    },
  };
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function isFile(file: string): Promise<boolean> {
  return lstat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

/**
 * Copies files, folders and symlinks that stay inside the template, skipping VCS metadata.
 * A symlink pointing outside the template is dropped: a template cannot reach the runner's files.
 */
async function copyTree(from: string, to: string, top: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (entry.name === '.git') continue;
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) {
      await copyTree(source, target, top);
    } else if (entry.isSymbolicLink()) {
      const link = await readlink(source);
      const resolved = path.resolve(path.dirname(source), link);
      if (!path.isAbsolute(link) && (resolved === top || resolved.startsWith(`${top}${path.sep}`))) {
        await symlink(link, target);
      }
    } else if (entry.isFile()) {
      await copyFile(source, target);
      const { mode } = await lstat(source);
      await fs.promises.chmod(target, mode & 0o777);
    }
  }
}
