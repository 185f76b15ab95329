import { ConfigError, ValidationError } from '@mvp-pipeline/core';

/** GitHub's public API, used when GITHUB_API_URL is not set. */
export const DEFAULT_API_URL = 'https://api.github.com';

/** GitHub caps repository names at 100 characters of letters, digits, `.`, `_` and `-`. */
const REPO_NAME = /^[A-Za-z0-9._-]{1,100}$/;
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
/** GitHub rejects longer descriptions; the marker must survive, so the text before it is cut. */
const MAX_DESCRIPTION = 350;

/** Throws ValidationError unless `name` is a repository name GitHub accepts (and not `.`/`..`). */
export function assertRepoName(name: string): void {
  if (!REPO_NAME.test(name) || name === '.' || name === '..' || name.endsWith('.git')) {
    throw new ValidationError('repository name', [
      { path: JSON.stringify(name), message: 'must be 1-100 letters, digits, ".", "_" or "-"' },
    ]);
  }
}

/** The n-th name to try for `base`: the base itself, then `base-2`, `base-3`, … within 100 characters. */
export function candidateName(base: string, attempt: number): string {
  if (attempt <= 1) return base;
  const suffix = `-${attempt}`;
  return `${base.slice(0, 100 - suffix.length)}${suffix}`;
}

/** The text a repository's description carries to say which job it belongs to. */
export function jobMarker(jobId: string): string {
  return `[mvp-pipeline:${jobId}]`;
}

/** The description we give the job's repository: the caller's text, then the job marker. */
export function describeRepo(description: string, jobId: string): string {
  const marker = jobMarker(jobId);
  // GitHub refuses control characters in descriptions.
  const text = description.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  const room = MAX_DESCRIPTION - marker.length - 1;
  const kept = text.length > room ? `${text.slice(0, room - 1).trimEnd()}…` : text;
  return kept ? `${kept} ${marker}` : marker;
}

/** Whether a repository's description says it belongs to `jobId`. */
export function belongsToJob(description: string | null | undefined, jobId: string): boolean {
  return typeof description === 'string' && description.includes(jobMarker(jobId));
}

/** A repository named as `owner/name`, with an optional git ref after `@`. */
export interface RepoSpec {
  owner: string;
  name: string;
  ref: string | undefined;
}

/**
 * Parses `owner/name[@ref]` (the TEMPLATE_REPO format). A trailing `.git` on the name is dropped.
 * Throws ConfigError naming `variable` when the value has another shape.
 */
export function parseRepoSpec(value: string, variable = 'TEMPLATE_REPO'): RepoSpec {
  const match = /^([^/@\s]+)\/([^/@\s]+?)(?:\.git)?(?:@([^\s]+))?$/.exec(value.trim());
  const owner = match?.[1];
  const name = match?.[2];
  if (!match || !owner || !name || !OWNER.test(owner) || !REPO_NAME.test(name)) {
    throw new ConfigError(variable, 'must be owner/name or owner/name@ref (e.g. acme/mvp-templates@main)');
  }
  return { owner, name, ref: match[3] };
}

/** The API base without a trailing slash. */
export function normaliseApiUrl(apiUrl: string | undefined): string {
  const url = (apiUrl ?? DEFAULT_API_URL).trim().replace(/\/+$/, '');
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error('not http');
    if (parsed.username || parsed.password) throw new Error('credentials in URL');
  } catch {
    throw new ConfigError('GITHUB_API_URL', 'must be an http(s) URL without credentials');
  }
  return url;
}

/**
 * Where git is served for an API base: github.com for api.github.com, the host for GitHub
 * Enterprise (`https://host/api/v3`), the same origin otherwise (a stand-in serving both).
 */
export function gitBaseFor(apiUrl: string): string {
  const url = new URL(apiUrl);
  if (url.hostname === 'api.github.com') return 'https://github.com';
  const path = url.pathname.replace(/\/+$/, '').replace(/\/api\/v3$/, '');
  return `${url.origin}${path}`;
}
