import { execFile, spawn } from 'node:child_process';
import { createPublicKey, createVerify, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Where Debian (and most distributions) install git's CGI program. */
export const GIT_HTTP_BACKEND = '/usr/lib/git-core/git-http-backend';

/** The error bodies GitHub sends, as documented and as seen in its answers. */
export const GITHUB_ERRORS = {
  badCredentials: {
    message: 'Bad credentials',
    documentation_url: 'https://docs.github.com/rest',
    status: '401',
  },
  notFound: {
    message: 'Not Found',
    documentation_url: 'https://docs.github.com/rest/repos/repos#get-a-repository',
    status: '404',
  },
  /** POST /user/repos and POST /orgs/{org}/repos on a taken name. */
  nameExists: {
    message: 'Repository creation failed.',
    errors: [
      {
        resource: 'Repository',
        code: 'custom',
        field: 'name',
        message: 'name already exists on this account',
      },
    ],
    documentation_url:
      'https://docs.github.com/rest/repos/repos#create-a-repository-for-the-authenticated-user',
    status: '422',
  },
  /** POST /repos/{owner}/{repo}/generate on a taken name. */
  generateNameExists: {
    message: 'Could not clone: Name already exists on this account',
    documentation_url: 'https://docs.github.com/rest/repos/repos#create-a-repository-using-a-template',
    status: '422',
  },
  secondaryRateLimit: {
    message:
      'You have exceeded a secondary rate limit and have been temporarily blocked from content creation. Please retry your request again later.',
    documentation_url:
      'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
    status: '403',
  },
  primaryRateLimit: {
    message: 'API rate limit exceeded for user ID 1.',
    documentation_url:
      'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits',
    status: '403',
  },
  forbidden: {
    message: 'Resource not accessible by personal access token',
    documentation_url:
      'https://docs.github.com/rest/repos/repos#create-a-repository-for-the-authenticated-user',
    status: '403',
  },
  validation: {
    message: 'Repository creation failed.',
    errors: [
      {
        resource: 'Repository',
        code: 'custom',
        field: 'description',
        message: 'description control characters are not allowed',
      },
    ],
    documentation_url:
      'https://docs.github.com/rest/repos/repos#create-a-repository-for-the-authenticated-user',
    status: '422',
  },
  serverError: { message: 'Server Error' },
} as const;

/** A scripted answer: the next `times` requests matching method and path get it instead of the real one. */
export interface StandInFault {
  method?: string;
  /** Matched against the path without the query string. */
  path: RegExp;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** How many requests get it. Default 1. */
  times?: number;
  /** Do the real work first, then answer with the fault (a response lost after the side effect). */
  afterHandling?: boolean;
}

/** One request as the stand-in saw it. */
export interface RecordedRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  /** How the request authenticated. */
  auth: 'none' | 'token' | 'bearer' | 'basic' | 'other';
  /** Whether the credentials were the expected token. */
  authorised: boolean;
  /** The JSON body of REST calls, as text. */
  body: string;
  status: number;
}

export interface StandInRepo {
  owner: string;
  name: string;
  description: string | null;
  private: boolean;
  isTemplate: boolean;
  templateOf: string | undefined;
  defaultBranch: string;
  id: number;
  createdAt: string;
}

export interface GitHubStandInOptions {
  /** The only token it accepts. */
  token: string;
  /** The authenticated user's login. Default `octo-user`. */
  login?: string;
  /** Organisations the user may create repositories in. Default `['octo-org']`. */
  orgs?: string[];
  /** Where bare repositories go. Default: a new temporary folder, removed by close(). */
  root?: string;
  /**
   * Whether the token may delete repositories (`DELETE /repos/{owner}/{repo}`: a classic token
   * needs `delete_repo`). Default true; false answers 403 "Must have admin rights to Repository."
   */
  canDelete?: boolean;
  /**
   * A GitHub App installed on one organisation: `POST /app/installations/{id}/access_tokens`
   * (with the App's RS256 JWT: `iss` the App id, at most 10 minutes, not expired) issues
   * `ghs_` tokens that live `tokenTtlMs` and are refused once expired (401, REST and git);
   * `GET /orgs/{org}/installation` and `GET /app/installations/{id}` with the JWT; an
   * installation token gets 403 on `GET /user` and `POST /user/repos`, as on GitHub.
   */
  app?: {
    appId: string;
    /** The App's public key, PEM. */
    publicKey: string;
    installationId: number;
    /** The organisation it is installed on (one of `orgs`). */
    account: string;
    /** How long an installation token lives. Default 1 h. */
    tokenTtlMs?: number;
    /** Milliseconds since the epoch. Default `Date.now`. */
    clock?: () => number;
  };
}

/**
 * A local stand-in for the parts of GitHub the adapters use: the REST endpoints (GET /user,
 * GET /users/{name}, POST /user/repos, POST /orgs/{org}/repos, GET /repos/{owner}/{repo},
 * POST /repos/{owner}/{repo}/generate, DELETE /repos/{owner}/{repo}) with GitHub's answer and error shapes and rate-limit
 * headers, and git smart HTTP for clone and push, served by the real `git http-backend`. The
 * token must arrive as `Authorization: token|Bearer` on REST and as HTTP basic auth on git.
 */
export interface GitHubStandIn {
  /** Base URL of both the REST API and git (`http://127.0.0.1:port`). */
  readonly url: string;
  readonly root: string;
  readonly login: string;
  readonly requests: RecordedRequest[];
  repos(): StandInRepo[];
  /** The bare repository on disk for `owner/name`. */
  bareDir(fullName: string): string;
  /** Adds a repository (with files committed on `main` when given) as if made on GitHub by someone else. */
  addRepo(options: {
    owner?: string;
    name: string;
    description?: string;
    private?: boolean;
    isTemplate?: boolean;
    files?: Record<string, string>;
  }): Promise<StandInRepo>;
  /** Scripts failures (see StandInFault). */
  fail(fault: StandInFault): void;
  /** The next `count` REST reads and git requests for `owner/name` answer 404, as GitHub does right after creation. */
  lag(fullName: string, count: number): void;
  close(): Promise<void>;
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8',
    ...headers,
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Someone Else',
  GIT_AUTHOR_EMAIL: 'someone@example.com',
  GIT_COMMITTER_NAME: 'Someone Else',
  GIT_COMMITTER_EMAIL: 'someone@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  HOME: tmpdir(),
};

export async function startGitHubStandIn(options: GitHubStandInOptions): Promise<GitHubStandIn> {
  const login = options.login ?? 'octo-user';
  const orgs = new Set((options.orgs ?? ['octo-org']).map((o) => o.toLowerCase()));
  const root = options.root ?? (await mkdtemp(path.join(tmpdir(), 'github-stand-in-')));
  const ownsRoot = options.root === undefined;
  const repos = new Map<string, StandInRepo>();
  const canDelete = options.canDelete ?? true;
  const app = options.app;
  const appClock = app?.clock ?? Date.now;
  /** Installation tokens issued, with their expiry. */
  const installationTokens = new Map<string, number>();
  const liveInstallationToken = (value: string) => (installationTokens.get(value) ?? 0) > appClock();

  /** Whether `value` is a valid JWT of the App now (RS256, iss, at most 10 minutes, not expired). */
  function validAppJwt(value: string): boolean {
    if (!app) return false;
    const [head, body, signature] = value.split('.');
    if (!head || !body || !signature) return false;
    try {
      const header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8')) as { alg?: string };
      const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as {
        iss?: unknown;
        iat?: number;
        exp?: number;
      };
      const verified = createVerify('RSA-SHA256')
        .update(`${head}.${body}`)
        .verify(createPublicKey(app.publicKey), Buffer.from(signature, 'base64url'));
      const now = appClock() / 1000;
      return (
        verified &&
        header.alg === 'RS256' &&
        String(claims.iss) === app.appId &&
        typeof claims.iat === 'number' &&
        typeof claims.exp === 'number' &&
        claims.exp > now &&
        claims.iat <= now + 60 &&
        claims.exp - claims.iat <= 600
      );
    } catch {
      return false;
    }
  }
  const faults: StandInFault[] = [];
  const lags = new Map<string, number>();
  const requests: RecordedRequest[] = [];
  let nextId = 1000;
  let remaining = 5000;
  let base = '';

  const key = (owner: string, name: string) => `${owner}/${name}`.toLowerCase();
  const bareDir = (fullName: string) => {
    const repo = repos.get(fullName.toLowerCase());
    const [owner, name] = repo ? [repo.owner, repo.name] : fullName.split('/');
    return path.join(root, `${owner}`, `${name}.git`);
  };

  const ownerJson = (ownerLogin: string) => ({
    login: ownerLogin,
    id: orgs.has(ownerLogin.toLowerCase()) ? 2 : 1,
    type: orgs.has(ownerLogin.toLowerCase()) ? 'Organization' : 'User',
    html_url: `${base}/${ownerLogin}`,
  });

  const repoJson = (repo: StandInRepo) => ({
    id: repo.id,
    node_id: `R_${repo.id}`,
    name: repo.name,
    full_name: `${repo.owner}/${repo.name}`,
    private: repo.private,
    visibility: repo.private ? 'private' : 'public',
    owner: ownerJson(repo.owner),
    html_url: `${base}/${repo.owner}/${repo.name}`,
    description: repo.description,
    fork: false,
    url: `${base}/repos/${repo.owner}/${repo.name}`,
    git_url: `git://127.0.0.1/${repo.owner}/${repo.name}.git`,
    ssh_url: `git@127.0.0.1:${repo.owner}/${repo.name}.git`,
    clone_url: `${base}/${repo.owner}/${repo.name}.git`,
    default_branch: repo.defaultBranch,
    is_template: repo.isTemplate,
    ...(repo.templateOf
      ? { template_repository: { full_name: repo.templateOf, name: repo.templateOf.split('/')[1] } }
      : {}),
    created_at: repo.createdAt,
    updated_at: repo.createdAt,
    pushed_at: repo.createdAt,
    permissions: { admin: true, maintain: true, push: true, triage: true, pull: true },
  });

  async function initBare(dir: string): Promise<void> {
    await mkdir(path.dirname(dir), { recursive: true });
    await run('git', ['init', '--quiet', '--bare', '--initial-branch=main', dir], {
      env: { ...process.env, ...GIT_ENV },
    });
    await run('git', ['-C', dir, 'config', 'http.receivepack', 'true']);
  }

  async function createRepo(fields: {
    owner: string;
    name: string;
    description: string | null;
    private: boolean;
    isTemplate?: boolean;
    templateOf?: string;
  }): Promise<StandInRepo> {
    const repo: StandInRepo = {
      owner: fields.owner,
      name: fields.name,
      description: fields.description,
      private: fields.private,
      isTemplate: fields.isTemplate ?? false,
      templateOf: fields.templateOf,
      defaultBranch: 'main',
      id: nextId++,
      createdAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    };
    repos.set(key(repo.owner, repo.name), repo);
    const dir = path.join(root, repo.owner, `${repo.name}.git`);
    if (fields.templateOf) {
      await mkdir(path.dirname(dir), { recursive: true });
      await run('git', ['clone', '--quiet', '--bare', '--single-branch', bareDir(fields.templateOf), dir], {
        env: { ...process.env, ...GIT_ENV },
      });
      await run('git', ['-C', dir, 'config', 'http.receivepack', 'true']);
    } else {
      await initBare(dir);
    }
    return repo;
  }

  function rateHeaders(): Record<string, string> {
    remaining = Math.max(1, remaining - 1);
    return {
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': String(remaining),
      'x-ratelimit-used': String(5000 - remaining),
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      'x-ratelimit-resource': 'core',
      'x-github-request-id': `STANDIN:${requests.length}`,
    };
  }

  function takeFault(method: string, pathname: string): StandInFault | undefined {
    const index = faults.findIndex((f) => (!f.method || f.method === method) && f.path.test(pathname));
    if (index < 0) return undefined;
    const fault = faults[index]!;
    const times = (fault.times ?? 1) - 1;
    if (times <= 0) faults.splice(index, 1);
    else faults[index] = { ...fault, times };
    return fault;
  }

  function takeLag(fullName: string): boolean {
    const count = lags.get(fullName.toLowerCase()) ?? 0;
    if (count <= 0) return false;
    lags.set(fullName.toLowerCase(), count - 1);
    return true;
  }

  function authOf(req: IncomingMessage): Pick<RecordedRequest, 'auth' | 'authorised'> {
    const header = req.headers.authorization;
    if (!header) return { auth: 'none', authorised: false };
    const [scheme = '', value = ''] = header.split(/\s+/, 2);
    switch (scheme.toLowerCase()) {
      case 'token':
        return { auth: 'token', authorised: value === options.token || liveInstallationToken(value) };
      case 'bearer':
        return { auth: 'bearer', authorised: value === options.token || liveInstallationToken(value) };
      case 'basic': {
        const decoded = Buffer.from(value, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        const user = colon < 0 ? decoded : decoded.slice(0, colon);
        const password = colon < 0 ? '' : decoded.slice(colon + 1);
        return {
          auth: 'basic',
          authorised:
            password === options.token ||
            liveInstallationToken(password) ||
            (user === options.token && !password),
        };
      }
      default:
        return { auth: 'other', authorised: false };
    }
  }

  async function handleRest(
    method: string,
    pathname: string,
    body: string,
    authorised: boolean,
    credential = '',
  ): Promise<{ status: number; body: unknown }> {
    const json = () => (body ? (JSON.parse(body) as Record<string, unknown>) : {});
    const route = (verb: string, pattern: RegExp) => (method === verb ? pattern.exec(pathname) : null);
    if (app && (pathname.startsWith('/app/') || /^\/(orgs|users)\/[^/]+\/installation$/.test(pathname))) {
      if (!validAppJwt(credential)) {
        return { status: 401, body: { message: 'A JSON web token could not be decoded', status: '401' } };
      }
      const installationJson = { id: app.installationId, account: ownerJson(app.account) };
      let found = route('GET', /^\/(?:orgs|users)\/([^/]+)\/installation$/);
      if (found) {
        return decodeURIComponent(found[1]!).toLowerCase() === app.account.toLowerCase()
          ? { status: 200, body: installationJson }
          : { status: 404, body: GITHUB_ERRORS.notFound };
      }
      found = route('GET', /^\/app\/installations\/(\d+)$/);
      if (found) {
        return Number(found[1]) === app.installationId
          ? { status: 200, body: installationJson }
          : { status: 404, body: GITHUB_ERRORS.notFound };
      }
      found = route('POST', /^\/app\/installations\/(\d+)\/access_tokens$/);
      if (found && Number(found[1]) === app.installationId) {
        const token = `ghs_${randomBytes(18).toString('hex')}`;
        const expiresAt = appClock() + (app.tokenTtlMs ?? 3_600_000);
        installationTokens.set(token, expiresAt);
        return { status: 201, body: { token, expires_at: new Date(expiresAt).toISOString() } };
      }
      return { status: 404, body: GITHUB_ERRORS.notFound };
    }
    const installation = liveInstallationToken(credential);
    if (installation && ((method === 'GET' && pathname === '/user') || pathname === '/user/repos')) {
      return { status: 403, body: { message: 'Resource not accessible by integration', status: '403' } };
    }
    if (installation && /^\/orgs\/([^/]+)\/repos$/.test(pathname)) {
      const org = decodeURIComponent(pathname.split('/')[2]!);
      if (org.toLowerCase() !== app!.account.toLowerCase()) {
        return { status: 403, body: { message: 'Resource not accessible by integration', status: '403' } };
      }
    }
    let m = route('GET', /^\/users\/([^/]+)$/);
    if (m) {
      const name = decodeURIComponent(m[1]!);
      if (name.toLowerCase() !== login.toLowerCase() && !orgs.has(name.toLowerCase())) {
        return { status: 404, body: GITHUB_ERRORS.notFound };
      }
      return { status: 200, body: ownerJson(name.toLowerCase() === login.toLowerCase() ? login : name) };
    }
    if (!authorised) return { status: 401, body: GITHUB_ERRORS.badCredentials };
    if (method === 'GET' && pathname === '/user') return { status: 200, body: ownerJson(login) };
    const createIn = async (owner: string) => {
      const input = json();
      const name = String(input['name'] ?? '');
      if (repos.has(key(owner, name))) return { status: 422, body: GITHUB_ERRORS.nameExists };
      const repo = await createRepo({
        owner,
        name,
        description: typeof input['description'] === 'string' ? input['description'] : null,
        private: input['private'] !== false,
      });
      return { status: 201, body: repoJson(repo) };
    };
    if (method === 'POST' && pathname === '/user/repos') return createIn(login);
    m = route('POST', /^\/orgs\/([^/]+)\/repos$/);
    if (m) {
      const org = decodeURIComponent(m[1]!);
      if (!orgs.has(org.toLowerCase())) return { status: 404, body: GITHUB_ERRORS.notFound };
      return createIn(org);
    }
    m = route('GET', /^\/repos\/([^/]+)\/([^/]+)$/);
    if (m) {
      const full = `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`;
      const repo = repos.get(full.toLowerCase());
      if (!repo || takeLag(full)) return { status: 404, body: GITHUB_ERRORS.notFound };
      return { status: 200, body: repoJson(repo) };
    }
    m = route('DELETE', /^\/repos\/([^/]+)\/([^/]+)$/);
    if (m) {
      const full = `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`;
      const repo = repos.get(full.toLowerCase());
      if (!repo) return { status: 404, body: GITHUB_ERRORS.notFound };
      if (!canDelete) {
        return {
          status: 403,
          body: {
            message: 'Must have admin rights to Repository.',
            documentation_url: 'https://docs.github.com/rest/repos/repos#delete-a-repository',
            status: '403',
          },
        };
      }
      repos.delete(full.toLowerCase());
      await rm(bareDir(full), { recursive: true, force: true });
      return { status: 204, body: undefined };
    }
    m = route('POST', /^\/repos\/([^/]+)\/([^/]+)\/generate$/);
    if (m) {
      const template = repos.get(`${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`.toLowerCase());
      if (!template) return { status: 404, body: GITHUB_ERRORS.notFound };
      if (!template.isTemplate) {
        return {
          status: 422,
          body: {
            ...GITHUB_ERRORS.generateNameExists,
            message: `${template.owner}/${template.name} is not a template repository`,
          },
        };
      }
      const input = json();
      const owner = typeof input['owner'] === 'string' ? input['owner'] : login;
      const name = String(input['name'] ?? '');
      if (owner.toLowerCase() !== login.toLowerCase() && !orgs.has(owner.toLowerCase())) {
        return { status: 404, body: GITHUB_ERRORS.notFound };
      }
      if (repos.has(key(owner, name))) return { status: 422, body: GITHUB_ERRORS.generateNameExists };
      const repo = await createRepo({
        owner,
        name,
        description: typeof input['description'] === 'string' ? input['description'] : null,
        private: input['private'] === true,
        templateOf: `${template.owner}/${template.name}`,
      });
      return { status: 201, body: repoJson(repo) };
    }
    return {
      status: 404,
      body: { ...GITHUB_ERRORS.notFound, documentation_url: 'https://docs.github.com/rest' },
    };
  }

  /** Hands a git smart-HTTP request to `git http-backend` (CGI) and relays its answer. */
  function handleGit(
    req: IncomingMessage,
    res: ServerResponse,
    repo: StandInRepo,
    service: string,
    query: string,
    record: RecordedRequest,
  ): void {
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: tmpdir(),
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: `/${repo.owner}/${repo.name}.git/${service}`,
      REQUEST_METHOD: req.method ?? 'GET',
      QUERY_STRING: query,
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_USER: record.authorised ? login : '',
      REMOTE_ADDR: '127.0.0.1',
    };
    if (req.headers['content-length']) env['CONTENT_LENGTH'] = req.headers['content-length'];
    const encoding = req.headers['content-encoding'];
    if (typeof encoding === 'string') env['HTTP_CONTENT_ENCODING'] = encoding;
    const protocol = req.headers['git-protocol'];
    if (typeof protocol === 'string') env['GIT_PROTOCOL'] = protocol;
    const child = spawn(GIT_HTTP_BACKEND, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    req.pipe(child.stdin);
    child.stdin.on('error', () => undefined);
    let head = Buffer.alloc(0);
    let headersDone = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      let end = head.indexOf('\r\n\r\n');
      let sep = 4;
      if (end < 0) {
        end = head.indexOf('\n\n');
        sep = 2;
      }
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon < 0) continue;
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        if (name === 'status') status = Number.parseInt(value, 10) || 200;
        else headers[name] = value;
      }
      record.status = status;
      res.writeHead(status, headers);
      res.write(head.subarray(end + sep));
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('close', (code) => {
      if (!headersDone) {
        record.status = 500;
        send(res, 500, `git http-backend failed (${code}): ${stderr}`);
        return;
      }
      res.end();
    });
  }

  const server: Server = createServer((req, res) => {
    void (async () => {
      const method = req.method ?? 'GET';
      const url = req.url ?? '/';
      const [pathname = '/', query = ''] = url.split('?', 2);
      const record: RecordedRequest = { method, url, ...authOf(req), body: '', status: 0 };
      requests.push(record);
      const gitMatch = /^\/([^/]+)\/([^/]+?)(?:\.git)?\/(info\/refs|git-upload-pack|git-receive-pack)$/.exec(
        pathname,
      );
      if (gitMatch) {
        const full = `${decodeURIComponent(gitMatch[1]!)}/${decodeURIComponent(gitMatch[2]!)}`;
        const repo = repos.get(full.toLowerCase());
        const service = gitMatch[3]!;
        const pushing = service === 'git-receive-pack' || query.includes('service=git-receive-pack');
        const fault = takeFault(method, pathname);
        if (fault) {
          record.status = fault.status;
          await readBody(req);
          send(res, fault.status, fault.body ?? '', fault.headers);
          return;
        }
        // Like GitHub: anonymous access to anything private (or missing) asks for credentials.
        if (!record.authorised && (pushing || !repo || repo.private)) {
          record.status = 401;
          await readBody(req);
          send(res, 401, 'Authentication required\n', { 'www-authenticate': 'Basic realm="GitHub"' });
          return;
        }
        if (!repo || takeLag(full)) {
          record.status = 404;
          await readBody(req);
          send(res, 404, 'Repository not found.\n');
          return;
        }
        handleGit(req, res, repo, service, query, record);
        return;
      }
      const body = (await readBody(req)).toString('utf8');
      record.body = body;
      const fault = takeFault(method, pathname);
      if (fault && !fault.afterHandling) {
        record.status = fault.status;
        send(res, fault.status, fault.body ?? GITHUB_ERRORS.serverError, {
          ...rateHeaders(),
          ...fault.headers,
        });
        return;
      }
      let answer: { status: number; body: unknown };
      try {
        const credential = (req.headers.authorization ?? '').split(/\s+/, 2)[1] ?? '';
        answer = await handleRest(method, pathname, body, record.authorised, credential);
      } catch (error) {
        answer = { status: 500, body: { message: `Server Error: ${(error as Error).message}` } };
      }
      if (fault) answer = { status: fault.status, body: fault.body ?? GITHUB_ERRORS.serverError };
      record.status = answer.status;
      send(res, answer.status, answer.body, { ...rateHeaders(), ...fault?.headers });
    })().catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { message: String(error) });
      else res.destroy();
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    root,
    login,
    requests,
    repos: () => [...repos.values()],
    bareDir,
    async addRepo(input) {
      const owner = input.owner ?? login;
      const repo = await createRepo({
        owner,
        name: input.name,
        description: input.description ?? null,
        private: input.private ?? false,
        isTemplate: input.isTemplate ?? false,
      });
      if (input.files) {
        const work = await mkdtemp(path.join(tmpdir(), 'stand-in-work-'));
        try {
          for (const [file, content] of Object.entries(input.files)) {
            await mkdir(path.dirname(path.join(work, file)), { recursive: true });
            await writeFile(path.join(work, file), content);
          }
          const env = { ...process.env, ...GIT_ENV };
          await run('git', ['init', '--quiet', '--initial-branch=main', work], { env });
          await run('git', ['-C', work, 'add', '--all'], { env });
          await run('git', ['-C', work, 'commit', '--quiet', '-m', 'Initial commit'], { env });
          await run('git', ['-C', work, 'push', '--quiet', bareDir(`${owner}/${input.name}`), 'main'], {
            env,
          });
        } finally {
          await rm(work, { recursive: true, force: true });
        }
      }
      return repo;
    },
    fail(fault) {
      faults.push(fault);
    },
    lag(fullName, count) {
      lags.set(fullName.toLowerCase(), count);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownsRoot) await rm(root, { recursive: true, force: true });
    },
  };
}
