import { createPrivateKey, createSign, type KeyObject } from 'node:crypto';
import { ConfigError, PermanentError, TransientError } from '@mvp-pipeline/core';

/** A GitHub App that mints installation tokens (GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY). */
export interface GitHubAppSettings {
  appId: string;
  /** The App's private key, PEM (a secret). */
  privateKey: string;
  /** The installation (GITHUB_APP_INSTALLATION_ID); unset, it is looked up from `owner`. */
  installationId?: number | undefined;
}

/** Where the adapters get a token from, for every REST call and every git request. */
export interface GitHubTokenSource {
  /** A token good for at least the next few minutes. */
  token(signal?: AbortSignal): Promise<string>;
  /** The account the installation belongs to (an App has no `GET /user`); undefined for a plain token. */
  installationOwner(signal?: AbortSignal): Promise<string | undefined>;
  /** Every token handed out so far (for the redactor). */
  readonly issued: readonly string[];
}

/** A fixed token (GITHUB_TOKEN): a personal access token, or one minted elsewhere. */
export function staticTokenSource(token: string): GitHubTokenSource {
  return { token: async () => token, installationOwner: async () => undefined, issued: [token] };
}

/** A token is renewed when it has less than this left: a push late in a long job still gets a live one. */
export const REFRESH_BEFORE_MS = 5 * 60_000;

/**
 * Installation tokens of a GitHub App, minted through the API (`POST
 * /app/installations/{id}/access_tokens` with a 10-minute RS256 JWT of the App) and renewed
 * before they expire (GitHub makes them last an hour). The installation is `installationId`, or
 * the one on `owner` (`GET /orgs/{owner}/installation`, then `/users/{owner}/installation`).
 */
export function appTokenSource(
  app: GitHubAppSettings,
  options: {
    apiUrl: string;
    owner?: string | undefined;
    fetch?: typeof fetch | undefined;
    clock?: (() => number) | undefined;
    refreshBeforeMs?: number | undefined;
  },
): GitHubTokenSource {
  if (!/^\d+$/.test(app.appId)) throw new ConfigError('GITHUB_APP_ID', 'must be the numeric App id');
  let key: KeyObject;
  try {
    key = createPrivateKey(app.privateKey);
  } catch {
    throw new ConfigError('GITHUB_APP_PRIVATE_KEY', 'is not a PEM private key');
  }
  if (app.installationId === undefined && !options.owner) {
    throw new ConfigError(
      'GITHUB_OWNER',
      'is required with a GitHub App unless GITHUB_APP_INSTALLATION_ID is set (an App token has no user to default to)',
    );
  }
  const doFetch = options.fetch ?? globalThis.fetch;
  const now = options.clock ?? Date.now;
  const refreshBefore = options.refreshBeforeMs ?? REFRESH_BEFORE_MS;
  const issued: string[] = [];
  let current: { token: string; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;
  let installation: Promise<{ id: number; owner: string }> | undefined;

  const jwt = () => {
    const seconds = Math.floor(now() / 1000);
    // Backdated a minute against clock drift; GitHub allows at most 10 minutes.
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const body = `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ iat: seconds - 60, exp: seconds + 540, iss: app.appId })}`;
    return `${body}.${createSign('RSA-SHA256').update(body).sign(key).toString('base64url')}`;
  };

  const call = async (method: string, path: string, signal?: AbortSignal) => {
    let response: Response;
    try {
      response = await doFetch(`${options.apiUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${jwt()}`,
          accept: 'application/vnd.github+json',
          'user-agent': 'mvp-pipeline',
        },
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw new TransientError(`GitHub App: ${method} ${path} did not answer: ${(error as Error).message}`);
    }
    const text = await response.text();
    if (response.ok) return JSON.parse(text) as Record<string, unknown>;
    const message = (() => {
      try {
        return String((JSON.parse(text) as { message?: unknown }).message ?? text);
      } catch {
        return text.slice(0, 200);
      }
    })();
    const failure = `GitHub App ${app.appId}: ${method} ${path} answered ${response.status} ${message}`;
    if (response.status >= 500 || response.status === 429) throw new TransientError(failure);
    return { status: response.status, failure } as Record<string, unknown>;
  };

  const resolveInstallation = async (signal?: AbortSignal) => {
    if (app.installationId !== undefined) {
      const found = await call('GET', `/app/installations/${app.installationId}`, signal);
      if (found.failure) throw new PermanentError(String(found.failure));
      return { id: app.installationId, owner: String((found.account as { login?: unknown })?.login) };
    }
    const owner = encodeURIComponent(options.owner!);
    for (const kind of ['orgs', 'users']) {
      const found = await call('GET', `/${kind}/${owner}/installation`, signal);
      if (!found.failure)
        return { id: Number(found.id), owner: String((found.account as { login?: unknown })?.login) };
      if (found.status !== 404) throw new PermanentError(String(found.failure));
    }
    throw new ConfigError('GITHUB_OWNER', `GitHub App ${app.appId} is not installed on "${options.owner}"`);
  };

  const install = (signal?: AbortSignal) => {
    installation ??= resolveInstallation(signal).catch((error: unknown) => {
      installation = undefined;
      throw error;
    });
    return installation;
  };

  const mint = async (signal?: AbortSignal) => {
    const { id } = await install(signal);
    const made = await call('POST', `/app/installations/${id}/access_tokens`, signal);
    if (made.failure) throw new PermanentError(String(made.failure));
    const token = String(made.token);
    issued.push(token);
    current = { token, expiresAt: Date.parse(String(made.expires_at)) };
    return token;
  };

  return {
    issued,
    async token(signal) {
      if (current && current.expiresAt - now() > refreshBefore) return current.token;
      pending ??= mint(signal).finally(() => {
        pending = undefined;
      });
      return pending;
    },
    async installationOwner(signal) {
      return (await install(signal)).owner;
    },
  };
}
