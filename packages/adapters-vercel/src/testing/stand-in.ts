import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { VercelReadyState } from '../vercel-deployer.js';

/** A scripted answer, served instead of the normal one to the requests it matches. */
export interface StandInFault {
  method?: string;
  /** Exact path (`/v13/deployments`) or a pattern over it. */
  path: string | RegExp;
  status: number;
  headers?: Record<string, string>;
  /** JSON body; a function sees the request headers (to echo them, as a careless API might). */
  body?: unknown | ((request: { headers: IncomingMessage['headers'] }) => unknown);
  /** How many matching requests get it (default 1). */
  times?: number;
}

/** How the next deployments' builds end in ERROR. */
export interface BuildFailure {
  /** The build output, one line per event (stderr). */
  lines: string[];
  errorCode?: string;
  errorMessage?: string;
  /** How many of the next deployments fail (default 1). */
  count?: number;
}

export interface VercelStandInOptions {
  /** The token the stand-in accepts as `Authorization: Bearer …`. */
  token?: string;
  /** When set, every API call must carry `?teamId=` with this value. */
  teamId?: string;
  /** States a deployment goes through, one step per status poll (default QUEUED → BUILDING → READY). */
  progression?: VercelReadyState[];
  /**
   * Deployments a day (default 100, the Hobby plan's cap). Creates beyond it are refused with
   * Vercel's `api-deployments-free-per-day` and "try again in 24 hours".
   */
  deploymentsPerDay?: number;
  /** The status the cap is answered with (default 402, as reported by users; 429 also maps). */
  capStatus?: 402 | 429;
  /**
   * Every `every`-th status poll (GET /v13/deployments/{id}) is answered 429 with `Retry-After`
   * (default 1 s) and the X-RateLimit-* headers, as a busy API does. Off by default.
   */
  pollRateLimit?: { every: number; retryAfterSeconds?: number };
  /**
   * Deployment Protection as new projects get it (default `standard`, Vercel's default): every
   * deployment URL answers 401 unless the request carries one of the project's automation bypass
   * secrets (`x-vercel-protection-bypass` header or query parameter, or the cookie set with
   * `x-vercel-set-bypass-cookie`); the production alias stays public. `none` serves everything.
   */
  protection?: 'standard' | 'none';
  /** Status polls of a READY production deployment before its alias is assigned (default 0). */
  aliasDelayPolls?: number;
  /** `false`: production aliases are never assigned (a domain Vercel cannot give). Default true. */
  assignAliases?: boolean;
  /** Reported as a READY production deployment's `aliasError` (and no alias is assigned). */
  aliasError?: { code: string; message: string };
  /**
   * Builds and runs a source deployment (one whose project has a framework), as Vercel's build
   * machine and runtime would: given its files written out to `dir`, the project's settings and
   * the environment the project held for the deployment's target when it was created (nothing
   * else). It resolves once the app answers at `url`; a rejection is a build ERROR with the
   * message as its output. The deployment stays BUILDING until then, and its own URL (its own
   * origin, as on Vercel) proxies to `url`. Without it a source deployment fails its build.
   */
  runSource?: (source: SourceRun) => Promise<RunningSource>;
}

/** What {@link VercelStandInOptions.runSource} is given. */
export interface SourceRun {
  deploymentId: string;
  projectName: string;
  target: 'production' | 'preview';
  /** The uploaded files, written out (a fresh folder per deployment). */
  dir: string;
  settings: {
    framework: string;
    installCommand: string | null;
    buildCommand: string | null;
    nodeVersion: string;
  };
  /** The project's environment for the target, decrypted as the runtime sees it. */
  env: Record<string, string>;
}

/** A source deployment's running app. */
export interface RunningSource {
  /** Where it listens, e.g. `http://127.0.0.1:41234`. */
  url: string;
  stop(): Promise<void>;
}

export interface StandInRequest {
  method: string;
  path: string;
  query: Record<string, string>;
}

/** A deployment as the stand-in holds it. */
export interface StandInDeployment {
  id: string;
  name: string;
  projectId: string;
  url: string;
  target: string | null;
  readyState: VercelReadyState;
  meta: Record<string, string>;
  files: { file: string; sha: string; size: number }[];
  createdAt: number;
}

/**
 * A local stand-in of the Vercel REST endpoints the deployer uses, with Vercel's documented
 * shapes and stricter where unsure: POST /v11/projects and GET /v9/projects/{idOrName} (names
 * checked, 409 for a taken one), PATCH /v1/projects/{idOrName}/protection-bypass, POST /v2/files
 * (x-vercel-digest, Content-Length, SHA-1 checked), POST /v13/deployments (`missing_files` with
 * the missing digests, `project` must exist, projectSettings required on a project without
 * settings, the daily cap), GET /v13/deployments/{id} (readyState progressions, production
 * aliases, 429s when asked), GET /v3/deployments/{id}/events (JSON with follow=0, a stream
 * otherwise), GET /v6/deployments (documented filters only), PATCH /v9/projects/{idOrName}
 * (build settings, `nodeVersion`), GET /v9/projects/{idOrName}/domains, POST and GET
 * /v10/projects/{idOrName}/env (upsert, sensitive values never returned).
 * It also serves what it deployed: `url` is `127.0.0.1:<port>/d/<id>/`, behind Standard
 * Deployment Protection by default, and a project's production alias is
 * `127.0.0.1:<port>/p/<project>/` (public: the latest production deployment given the alias).
 * A source deployment (its project has a framework) is built and run by `runSource` and served
 * on an origin of its own (`127.0.0.1:<port>`, protected alike), its project's production domain
 * on another.
 */
export interface VercelStandIn {
  /** The base URL to give the deployer as `apiUrl` (VERCEL_API_URL). */
  readonly apiUrl: string;
  readonly token: string;
  /** Every API request, in order (query included, headers left out). */
  readonly requests: StandInRequest[];
  /** Every accepted upload, in order: one entry per POST /v2/files. */
  readonly uploads: { sha: string; size: number }[];
  /** A project's environment variables as stored (values included: the stand-in's own view). */
  env(idOrName: string): StandInEnv[];
  deployments(): StandInDeployment[];
  /** The projects, in the order they were made (by POST /v11/projects or a deployment by name). */
  projects(): { id: string; name: string; bypassSecrets: string[]; nodeVersion: string }[];
  /** Serves `fault` to the next matching request(s). */
  fail(fault: StandInFault): void;
  /** Makes the next deployment build(s) end in ERROR with this output. */
  failBuilds(failure: BuildFailure): void;
  close(): Promise<void>;
}

interface Project {
  id: string;
  name: string;
  /** Build settings given at creation or with the first deployment; undefined until then. */
  settings: unknown;
  production: string | undefined;
  createdAt: number;
  /** Protection Bypass for Automation secrets, keyed by the secret as Vercel's API returns them. */
  protectionBypass: Record<
    string,
    { createdAt: number; createdBy: string; scope: 'automation-bypass'; isEnvVar: boolean }
  >;
  protected: boolean;
  nodeVersion: string;
  env: StandInEnv[];
  /** The project's production domain, its own origin (made for source deployments). */
  domain: Listener | undefined;
}

/** An environment variable as the stand-in keeps it. */
export interface StandInEnv {
  id: string;
  key: string;
  value: string;
  type: 'plain' | 'encrypted' | 'sensitive' | 'secret' | 'system';
  target: string[];
  createdAt: number;
  updatedAt: number;
}

interface Listener {
  server: Server;
  host: string;
}

/** Node versions PATCH /v9/projects takes (Vercel's list; 24.x is a new project's default). */
const NODE_VERSIONS = new Set(['24.x', '22.x', '20.x']);
/** The body fields PATCH /v9/projects/{idOrName} takes here (a subset of Vercel's). */
const PROJECT_UPDATE_FIELDS = new Set([
  'nodeVersion',
  'framework',
  'buildCommand',
  'installCommand',
  'devCommand',
  'outputDirectory',
  'rootDirectory',
]);
const ENV_FIELDS = new Set([
  'key',
  'value',
  'type',
  'target',
  'gitBranch',
  'comment',
  'customEnvironmentIds',
]);
const ENV_TYPES = new Set(['plain', 'encrypted', 'sensitive', 'secret', 'system']);
const ENV_TARGETS = new Set(['production', 'preview', 'development']);

/** The body fields POST /v11/projects takes (a subset of Vercel's; others are refused). */
const PROJECT_FIELDS = new Set([
  'name',
  'framework',
  'buildCommand',
  'installCommand',
  'devCommand',
  'outputDirectory',
  'rootDirectory',
  'publicSource',
  'serverlessFunctionRegion',
  'skipGitConnectDuringLink',
  'commandForIgnoringBuildStep',
]);
/** The documented query parameters of GET /v6/deployments. */
const LIST_PARAMS = new Set([
  'app',
  'from',
  'limit',
  'projectId',
  'projectIds',
  'target',
  'to',
  'users',
  'since',
  'until',
  'state',
  'rollbackCandidate',
  'teamId',
  'slug',
]);
const SETTING_FIELDS = [
  'framework',
  'buildCommand',
  'installCommand',
  'devCommand',
  'outputDirectory',
  'rootDirectory',
];

interface Held extends StandInDeployment {
  states: VercelReadyState[];
  step: number;
  /** Status polls answered since it became READY (the alias comes after `aliasDelayPolls`). */
  readyPolls: number;
  events: { type: string; created: number; text: string }[];
  failure: BuildFailure | undefined;
  /** A source deployment: its build (runSource) and, once running, its app and origin. */
  source?: {
    state: 'building' | 'ready' | 'failed';
    app?: RunningSource;
    listener: Listener;
    dir: string;
    error?: string;
  };
}

const DEFAULT_TOKEN = 'vercel_standin_token_5f2c9a7e41';

export async function startVercelStandIn(options: VercelStandInOptions = {}): Promise<VercelStandIn> {
  const token = options.token ?? DEFAULT_TOKEN;
  const progression = options.progression ?? ['QUEUED', 'BUILDING', 'READY'];
  const aliasDelayPolls = options.aliasDelayPolls ?? 0;
  const deploymentsPerDay = options.deploymentsPerDay ?? 100;
  let statusPolls = 0;
  const protectNew = (options.protection ?? 'standard') === 'standard';
  /** Cookies handed out by `x-vercel-set-bypass-cookie`, and the project each one opens. */
  const bypassCookies = new Map<string, string>();
  const blobs = new Map<string, Buffer>();
  const projects = new Map<string, Project>();
  const deployments = new Map<string, Held>();
  const requests: StandInRequest[] = [];
  const uploads: { sha: string; size: number }[] = [];
  const faults: (StandInFault & { left: number })[] = [];
  const buildFailures: BuildFailure[] = [];
  const listeners: Listener[] = [];
  let sourceRoot: string | undefined;
  let clock = Date.UTC(2026, 0, 1);
  let closed = false;
  const tick = () => ++clock;
  let host = '';

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      send(res, 500, { error: { code: 'internal_server_error', message: String(error) } });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<undefined> {
    const url = new URL(req.url ?? '/', `http://${host}`);
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const serving = /^\/(d|p)\/([^/]+)(\/.*)?$/.exec(path);
    if (serving && (method === 'GET' || method === 'HEAD'))
      return serve(req, res, url, serving[1]!, serving[2]!, serving[3] ?? '/');

    const body = await readBody(req);
    requests.push({ method, path, query: Object.fromEntries(url.searchParams) });
    if (req.headers.authorization !== `Bearer ${token}`) {
      return send(res, 403, { error: { code: 'forbidden', message: 'Not authorized', invalidToken: true } });
    }
    if (options.teamId && url.searchParams.get('teamId') !== options.teamId) {
      return send(res, 403, { error: { code: 'forbidden', message: 'You do not have access to this team' } });
    }
    const fault = faults.find(
      (f) =>
        (!f.method || f.method === method) &&
        (typeof f.path === 'string' ? f.path === path : f.path.test(path)),
    );
    if (fault) {
      if (--fault.left <= 0) faults.splice(faults.indexOf(fault), 1);
      const payload = typeof fault.body === 'function' ? fault.body({ headers: req.headers }) : fault.body;
      return send(
        res,
        fault.status,
        payload ?? { error: { code: 'scripted', message: 'Scripted failure' } },
        fault.headers,
      );
    }

    if (method === 'POST' && path === '/v2/files') return uploadFile(req, res, body);
    if (method === 'POST' && path === '/v11/projects') return createProject(res, body);
    if (method === 'POST' && path === '/v13/deployments') return createDeployment(res, body);
    if (method === 'GET' && path === '/v6/deployments') return listDeployments(res, url.searchParams);
    let match = /^\/v9\/projects\/([^/]+)$/.exec(path);
    if (method === 'GET' && match) return getProject(res, decodeURIComponent(match[1]!));
    if (method === 'PATCH' && match) return updateProject(res, decodeURIComponent(match[1]!), body);
    if (method === 'DELETE' && match) return deleteProject(res, decodeURIComponent(match[1]!));
    match = /^\/v9\/projects\/([^/]+)\/domains$/.exec(path);
    if (method === 'GET' && match) return listDomains(res, decodeURIComponent(match[1]!));
    match = /^\/v10\/projects\/([^/]+)\/env$/.exec(path);
    if (method === 'POST' && match)
      return createEnv(res, decodeURIComponent(match[1]!), body, url.searchParams.get('upsert') === 'true');
    if (method === 'GET' && match) return listEnv(res, decodeURIComponent(match[1]!));
    match = /^\/v1\/projects\/([^/]+)\/protection-bypass$/.exec(path);
    if (method === 'PATCH' && match) return updateBypass(res, decodeURIComponent(match[1]!), body);
    match = /^\/v13\/deployments\/([^/]+)$/.exec(path);
    if (method === 'GET' && match) return getDeployment(res, decodeURIComponent(match[1]!));
    match = /^\/v3\/deployments\/([^/]+)\/events$/.exec(path);
    if (method === 'GET' && match) return getEvents(res, decodeURIComponent(match[1]!), url.searchParams);
    return send(res, 404, { error: { code: 'not_found', message: 'The requested endpoint was not found' } });
  }

  /** DELETE /v9/projects/{idOrName}: 204, the project and its deployments gone (their URLs 404). */
  async function deleteProject(res: ServerResponse, idOrName: string): Promise<undefined> {
    const project = findProject(idOrName);
    if (!project) return send(res, 404, { error: { code: 'not_found', message: 'Project not found' } });
    projects.delete(project.id);
    for (const [id, held] of deployments) {
      if (held.projectId !== project.id) continue;
      deployments.delete(id);
      await held.source?.app?.stop().catch(() => undefined);
    }
    res.writeHead(204).end();
    return undefined;
  }

  function findProject(idOrName: string): Project | undefined {
    return projects.get(idOrName) ?? [...projects.values()].find((p) => p.name === idOrName);
  }

  function projectView(project: Project) {
    const settings = (project.settings ?? {}) as Record<string, unknown>;
    return {
      id: project.id,
      name: project.name,
      accountId: options.teamId ?? 'user_standin',
      createdAt: project.createdAt,
      updatedAt: project.createdAt,
      framework: settings.framework ?? null,
      buildCommand: settings.buildCommand ?? null,
      installCommand: settings.installCommand ?? null,
      devCommand: settings.devCommand ?? null,
      outputDirectory: settings.outputDirectory ?? null,
      rootDirectory: settings.rootDirectory ?? null,
      nodeVersion: project.nodeVersion,
      directoryListing: false,
      targets: project.production ? { production: { id: project.production } } : {},
      protectionBypass: { ...project.protectionBypass },
      ssoProtection: project.protected ? { deploymentType: 'all_except_custom_domains' } : null,
    };
  }

  function newBypass(project: Project, secret = randomSecret()): void {
    const isEnvVar = !Object.values(project.protectionBypass).some((b) => b.isEnvVar);
    project.protectionBypass[secret] = {
      createdAt: tick(),
      createdBy: 'user_standin',
      scope: 'automation-bypass',
      isEnvVar,
    };
  }

  /** PATCH /v1/projects/{idOrName}/protection-bypass: `generate` and/or `revoke`, nothing else. */
  function updateBypass(res: ServerResponse, idOrName: string, raw: Buffer): undefined {
    const project = findProject(idOrName);
    if (!project) return send(res, 404, { error: { code: 'not_found', message: 'Project not found' } });
    let body: { generate?: { secret?: unknown }; revoke?: { secret?: unknown; regenerate?: unknown } };
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return send(res, 400, { error: { code: 'bad_request', message: 'Invalid JSON' } });
    }
    const invalid = (message: string) => send(res, 400, { error: { code: 'bad_request', message } });
    if (!body || typeof body !== 'object' || Array.isArray(body)) return invalid('Invalid request body');
    const extra = Object.keys(body).find((key) => key !== 'generate' && key !== 'revoke');
    if (extra) return invalid(`Invalid request: should NOT have additional property \`${extra}\`.`);
    const { generate, revoke } = body;
    if (revoke !== undefined) {
      if (typeof revoke?.secret !== 'string' || typeof revoke.regenerate !== 'boolean')
        return invalid('Invalid request: `revoke` needs `secret` and `regenerate`.');
      if (!project.protectionBypass[revoke.secret])
        return send(res, 404, { error: { code: 'not_found', message: 'Bypass not found' } });
      delete project.protectionBypass[revoke.secret];
      if (revoke.regenerate) newBypass(project);
    }
    if (generate !== undefined) {
      if (!generate || typeof generate !== 'object')
        return invalid('Invalid request: `generate` should be object.');
      const secret = generate.secret;
      if (secret !== undefined && (typeof secret !== 'string' || !/^[a-zA-Z0-9]{32}$/.test(secret)))
        return invalid('Invalid request: `generate.secret` should match pattern "^[a-zA-Z0-9]{32}$".');
      newBypass(project, secret);
    }
    if (generate === undefined && revoke === undefined) newBypass(project);
    send(res, 200, { protectionBypass: { ...project.protectionBypass } });
  }

  function createProject(res: ServerResponse, raw: Buffer): undefined {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return send(res, 400, { error: { code: 'bad_request', message: 'Invalid JSON' } });
    }
    const extra = Object.keys(body).find((key) => !PROJECT_FIELDS.has(key));
    if (extra) {
      return send(res, 400, {
        error: {
          code: 'bad_request',
          message: `Invalid request: should NOT have additional property \`${extra}\`.`,
        },
      });
    }
    const name = body.name;
    // Vercel's rule: lowercase, up to 100 characters, letters, digits, `.`, `_`, `-`, no `---`.
    if (typeof name !== 'string' || !/^[a-z0-9._-]{1,100}$/.test(name) || name.includes('---')) {
      return send(res, 400, {
        error: {
          code: 'bad_request',
          message:
            'Project names can be up to 100 characters long and must be lowercase. They can include letters, digits, and the following characters: ".", "_", "-". However, they cannot contain the sequence "---".',
        },
      });
    }
    if (findProject(name)) {
      return send(res, 409, {
        error: { code: 'conflict', message: `A project with the name ${name} already exists.` },
      });
    }
    const settings = Object.fromEntries(
      SETTING_FIELDS.filter((key) => key in body).map((key) => [key, body[key]]),
    );
    const project: Project = {
      id: `prj_${randomBytes(12).toString('hex')}`,
      name,
      settings: Object.keys(settings).length ? settings : undefined,
      production: undefined,
      createdAt: tick(),
      protectionBypass: {},
      protected: protectNew,
      nodeVersion: '24.x',
      env: [],
      domain: undefined,
    };
    projects.set(project.id, project);
    send(res, 200, projectView(project));
  }

  function badRequest(res: ServerResponse, message: string): undefined {
    return send(res, 400, { error: { code: 'bad_request', message } });
  }

  function parseJson(raw: Buffer): { ok: true; value: unknown } | { ok: false } {
    try {
      return { ok: true, value: JSON.parse(raw.toString('utf8')) };
    } catch {
      return { ok: false };
    }
  }

  /** PATCH /v9/projects/{idOrName}: the build settings and `nodeVersion` (24.x, 22.x, 20.x). */
  function updateProject(res: ServerResponse, idOrName: string, raw: Buffer): undefined {
    const project = findProject(idOrName);
    if (!project) return send(res, 404, { error: { code: 'not_found', message: 'Project not found' } });
    const parsed = parseJson(raw);
    if (!parsed.ok || !parsed.value || typeof parsed.value !== 'object' || Array.isArray(parsed.value))
      return badRequest(res, 'Invalid JSON');
    const body = parsed.value as Record<string, unknown>;
    const extra = Object.keys(body).find((key) => !PROJECT_UPDATE_FIELDS.has(key));
    if (extra) return badRequest(res, `Invalid request: should NOT have additional property \`${extra}\`.`);
    if (body.nodeVersion !== undefined) {
      if (typeof body.nodeVersion !== 'string' || !NODE_VERSIONS.has(body.nodeVersion))
        return badRequest(
          res,
          `Invalid request: \`nodeVersion\` should be one of ${[...NODE_VERSIONS].join(', ')}.`,
        );
      project.nodeVersion = body.nodeVersion;
    }
    const settings = Object.fromEntries(
      SETTING_FIELDS.filter((key) => key in body).map((key) => [key, body[key]]),
    );
    if (Object.keys(settings).length)
      project.settings = { ...((project.settings ?? {}) as Record<string, unknown>), ...settings };
    send(res, 200, projectView(project));
  }

  /** GET /v9/projects/{idOrName}/domains: the project's production domain (its own origin here). */
  async function listDomains(res: ServerResponse, idOrName: string): Promise<undefined> {
    const project = findProject(idOrName);
    if (!project) return send(res, 404, { error: { code: 'not_found', message: 'Project not found' } });
    const domain = await domainOf(project);
    send(res, 200, {
      domains: [
        {
          name: domain.host,
          apexName: domain.host,
          projectId: project.id,
          redirect: null,
          redirectStatusCode: null,
          gitBranch: null,
          customEnvironmentId: null,
          updatedAt: project.createdAt,
          createdAt: project.createdAt,
          verified: true,
        },
      ],
      pagination: { count: 1, next: null, prev: null },
    });
  }

  /**
   * POST /v10/projects/{idOrName}/env: one variable or an array. A key that exists for one of
   * the targets is a `failed` entry (ENV_ALREADY_EXISTS) unless `upsert=true`, which replaces
   * its value. Sensitive values are refused for development, as Vercel does.
   */
  function createEnv(res: ServerResponse, idOrName: string, raw: Buffer, upsert: boolean): undefined {
    const project = findProject(idOrName);
    if (!project) return send(res, 404, { error: { code: 'not_found', message: 'Project not found' } });
    const parsed = parseJson(raw);
    if (!parsed.ok || !parsed.value || typeof parsed.value !== 'object')
      return badRequest(res, 'Invalid JSON');
    const items = (Array.isArray(parsed.value) ? parsed.value : [parsed.value]) as Record<string, unknown>[];
    if (items.length === 0)
      return badRequest(res, 'Invalid request: body should NOT have fewer than 1 items.');
    for (const item of items) {
      if (!item || typeof item !== 'object' || Array.isArray(item))
        return badRequest(res, 'Invalid request body');
      const extra = Object.keys(item).find((key) => !ENV_FIELDS.has(key));
      if (extra) return badRequest(res, `Invalid request: should NOT have additional property \`${extra}\`.`);
      if (typeof item.key !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(item.key))
        return badRequest(res, 'Invalid request: `key` should be a valid environment variable name.');
      if (typeof item.value !== 'string')
        return badRequest(res, 'Invalid request: `value` should be string.');
      if (typeof item.type !== 'string' || !ENV_TYPES.has(item.type))
        return badRequest(
          res,
          'Invalid request: `type` should be one of plain, encrypted, sensitive, secret, system.',
        );
      if (
        !Array.isArray(item.target) ||
        item.target.length === 0 ||
        item.target.some((t) => !ENV_TARGETS.has(t))
      )
        return badRequest(
          res,
          'Invalid request: `target` should be an array of production, preview, development.',
        );
      if (item.type === 'sensitive' && item.target.includes('development'))
        return badRequest(
          res,
          'Sensitive environment variables cannot be created in the Development environment.',
        );
    }
    const created: unknown[] = [];
    const failed: unknown[] = [];
    for (const item of items) {
      const key = item.key as string;
      const target = item.target as string[];
      const existing = project.env.find((e) => e.key === key && e.target.some((t) => target.includes(t)));
      if (existing && !upsert) {
        failed.push({
          error: {
            code: 'ENV_ALREADY_EXISTS',
            message: `A variable with the name \`${key}\` already exists for the target ${target.join(', ')}.`,
            key,
            target,
          },
        });
        continue;
      }
      const now = tick();
      const env: StandInEnv = existing ?? {
        id: randomBytes(8).toString('hex'),
        key,
        value: '',
        type: 'plain',
        target: [],
        createdAt: now,
        updatedAt: now,
      };
      env.value = item.value as string;
      env.type = item.type as StandInEnv['type'];
      env.target = [...target];
      env.updatedAt = now;
      if (!existing) project.env.push(env);
      created.push(envView(env));
    }
    send(res, 201, { created: Array.isArray(parsed.value) ? created : created[0], failed });
  }

  /** GET /v10/projects/{idOrName}/env: sensitive values are never returned. */
  function listEnv(res: ServerResponse, idOrName: string): undefined {
    const project = findProject(idOrName);
    if (!project) return send(res, 404, { error: { code: 'not_found', message: 'Project not found' } });
    send(res, 200, { envs: project.env.map(envView) });
  }

  function envView(env: StandInEnv) {
    const { value, ...rest } = env;
    // Sensitive (and secret) values are write-only: Vercel never returns them.
    return env.type === 'sensitive' || env.type === 'secret'
      ? { ...rest, decrypted: false }
      : { ...rest, value };
  }

  function getProject(res: ServerResponse, idOrName: string): undefined {
    const project = findProject(idOrName);
    if (!project) return send(res, 404, { error: { code: 'not_found', message: 'Project not found' } });
    send(res, 200, projectView(project));
  }

  function uploadFile(req: IncomingMessage, res: ServerResponse, body: Buffer): undefined {
    const digest = String(req.headers['x-vercel-digest'] ?? req.headers['x-now-digest'] ?? '');
    const length = Number(req.headers['content-length'] ?? req.headers['x-now-size']);
    if (!/^[0-9a-f]{40}$/.test(digest)) {
      return send(res, 400, {
        error: { code: 'invalid_digest', message: 'The x-vercel-digest header must be a SHA-1' },
      });
    }
    if (!Number.isFinite(length) || length !== body.byteLength) {
      return send(res, 400, {
        error: { code: 'invalid_file_size', message: 'Content-Length does not match the body' },
      });
    }
    const actual = createHash('sha1').update(body).digest('hex');
    if (actual !== digest) {
      return send(res, 400, {
        error: { code: 'incorrect_file_sha', message: `File SHA ${actual} does not match ${digest}` },
      });
    }
    blobs.set(digest, body);
    uploads.push({ sha: digest, size: body.byteLength });
    res.writeHead(200, { 'Content-Length': '0' }).end();
  }

  async function createDeployment(res: ServerResponse, raw: Buffer): Promise<undefined> {
    let body: {
      name?: unknown;
      project?: unknown;
      files?: { file?: unknown; sha?: unknown; size?: unknown }[];
      projectSettings?: unknown;
      target?: unknown;
      meta?: Record<string, string>;
    };
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return send(res, 400, { error: { code: 'bad_request', message: 'Invalid JSON' } });
    }
    if (typeof body.name !== 'string' || !body.name) {
      return send(res, 400, {
        error: { code: 'bad_request', message: 'Invalid request: missing required property `name`.' },
      });
    }
    // `project` (id or name) overrides `name`, and must exist.
    if (body.project !== undefined && (typeof body.project !== 'string' || !findProject(body.project))) {
      return send(res, 404, { error: { code: 'not_found', message: 'Project not found' } });
    }
    if (!Array.isArray(body.files) || body.files.length === 0) {
      return send(res, 400, {
        error: { code: 'bad_request', message: 'Invalid request: `files` should be a non-empty array.' },
      });
    }
    const files: StandInDeployment['files'] = [];
    for (const f of body.files) {
      if (typeof f.file !== 'string' || typeof f.sha !== 'string' || typeof f.size !== 'number') {
        return send(res, 400, {
          error: {
            code: 'bad_request',
            message: 'Invalid request: each file needs `file`, `sha` and `size`.',
          },
        });
      }
      files.push({ file: f.file, sha: f.sha, size: f.size });
    }
    const missing = [...new Set(files.filter((f) => !blobs.has(f.sha)).map((f) => f.sha))];
    if (missing.length)
      return send(res, 400, { error: { code: 'missing_files', message: 'Missing files', missing } });
    const wrongSize = files.find((f) => blobs.get(f.sha)?.byteLength !== f.size);
    if (wrongSize) {
      return send(res, 400, {
        error: { code: 'invalid_file_size', message: `Wrong size for ${wrongSize.file}` },
      });
    }
    let project: Project | undefined;
    if (body.project !== undefined) {
      project = typeof body.project === 'string' ? findProject(body.project) : undefined;
    } else {
      // A deployment by `name` alone creates the project implicitly, as Vercel does.
      project = [...projects.values()].find((p) => p.name === body.name);
    }
    if (!project?.settings) {
      if (!body.projectSettings || typeof body.projectSettings !== 'object') {
        return send(res, 400, {
          error: {
            code: 'missing_project_settings',
            message:
              'The `projectSettings` object is required for new projects, but is missing in the deployment payload',
          },
        });
      }
      if (project) {
        project.settings = body.projectSettings;
      } else {
        project = {
          id: `prj_${randomBytes(12).toString('hex')}`,
          name: body.name,
          settings: body.projectSettings,
          production: undefined,
          createdAt: tick(),
          protectionBypass: {},
          protected: protectNew,
          nodeVersion: '24.x',
          env: [],
          domain: undefined,
        };
        projects.set(project.id, project);
      }
    }
    if (deployments.size >= deploymentsPerDay) {
      return send(res, options.capStatus ?? 402, {
        error: {
          code: 'api-deployments-free-per-day',
          message: `Resource is limited - try again in 24 hours (more than ${deploymentsPerDay}, code: "api-deployments-free-per-day").`,
        },
      });
    }
    const failure = buildFailures[0];
    if (failure && --(failure as { count: number }).count <= 0) buildFailures.shift();
    const id = `dpl_${randomBytes(12).toString('hex')}`;
    const states = failure ? (['QUEUED', 'BUILDING', 'ERROR'] as VercelReadyState[]) : progression;
    const created = tick();
    const held: Held = {
      id,
      name: project.name,
      projectId: project.id,
      // A trailing slash, so pages resolve relative links inside the deployment as on a real host.
      url: `${host}/d/${id}/`,
      target: body.target === undefined || body.target === null ? null : String(body.target),
      readyState: states[0]!,
      meta: { ...body.meta },
      files,
      createdAt: created,
      states,
      step: 0,
      readyPolls: 0,
      events: [
        { type: 'command', created: tick(), text: 'Running build in Washington, D.C., USA (East) – iad1' },
        { type: 'stdout', created: tick(), text: `Downloading ${files.length} deployment files...` },
      ],
      failure,
    };
    const framework = (project.settings as { framework?: unknown } | undefined)?.framework;
    if (typeof framework === 'string' && framework && !failure) {
      held.source = { state: 'building', listener: await listen(), dir: '' };
      held.url = held.source.listener.host;
      held.states = ['QUEUED', 'BUILDING', 'READY'];
      await domainOf(project);
      void buildSource(held, project, framework);
    }
    deployments.set(id, held);
    send(res, 200, view(held));
  }

  /** The project's production domain: a listener of its own, made on first need. */
  async function domainOf(project: Project): Promise<Listener> {
    project.domain ??= await listen((req, res) => {
      const live = project.production ? deployments.get(project.production) : undefined;
      if (!live?.source?.app) {
        res
          .writeHead(404, { 'Content-Type': 'text/plain' })
          .end('The deployment could not be found on Vercel.\n\nDEPLOYMENT_NOT_FOUND');
        return;
      }
      proxy(req, res, live.source.app.url);
    });
    return project.domain;
  }

  /** Writes the files out, then runs runSource with the env the project holds for the target now. */
  async function buildSource(held: Held, project: Project, framework: string): Promise<void> {
    const source = held.source!;
    const target = held.target === 'production' ? 'production' : 'preview';
    // Vercel gives a deployment the environment of its creation.
    const env = Object.fromEntries(
      project.env.filter((e) => e.target.includes(target)).map((e) => [e.key, e.value]),
    );
    try {
      sourceRoot ??= await mkdtemp(path.join(tmpdir(), 'vercel-standin-src-'));
      source.dir = path.join(sourceRoot, held.id);
      for (const file of held.files) {
        const to = path.join(source.dir, ...file.file.split('/'));
        await mkdir(path.dirname(to), { recursive: true });
        await writeFile(to, blobs.get(file.sha)!);
      }
      if (!options.runSource)
        throw new Error(`The stand-in cannot build a ${framework} deployment: no runSource was given`);
      const settings = (project.settings ?? {}) as Record<string, string | null>;
      source.app = await options.runSource({
        deploymentId: held.id,
        projectName: project.name,
        target,
        dir: source.dir,
        settings: {
          framework,
          installCommand: settings.installCommand ?? null,
          buildCommand: settings.buildCommand ?? null,
          nodeVersion: project.nodeVersion,
        },
        env,
      });
      if (closed) {
        await source.app.stop();
        return;
      }
      source.state = 'ready';
    } catch (error) {
      source.state = 'failed';
      source.error = error instanceof Error ? error.message : String(error);
      held.failure = {
        lines: source.error.split('\n'),
        errorCode: 'BUILD_FAILED',
        errorMessage: 'Command failed',
      };
      held.states = ['QUEUED', 'BUILDING', 'ERROR'];
    }
  }

  /** A server on a port of its own: the deployment's (or project's) origin. */
  async function listen(
    handler: (req: IncomingMessage, res: ServerResponse) => void = (req, res) => serveSource(req, res),
  ): Promise<Listener> {
    const server = createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const listener = { server, host: `127.0.0.1:${(server.address() as AddressInfo).port}` };
    listeners.push(listener);
    return listener;
  }

  /** A source deployment's own URL: behind protection as any deployment URL, then its app. */
  function serveSource(req: IncomingMessage, res: ServerResponse): void {
    const port = req.socket.localPort;
    const held = [...deployments.values()].find((d) => d.source && d.url.endsWith(`:${port}`));
    if (!held?.source?.app || held.readyState !== 'READY') {
      res
        .writeHead(404, { 'Content-Type': 'text/plain' })
        .end('The deployment could not be found on Vercel.\n\nDEPLOYMENT_NOT_FOUND');
      return;
    }
    const url = new URL(req.url ?? '/', `http://${held.url}`);
    const extraHeaders = protect(req, res, url, projects.get(held.projectId)!);
    if (!extraHeaders) return;
    proxy(req, res, held.source.app.url, extraHeaders);
  }

  /** Forwards the request as it came (its Host kept, so the app sees its own origin). */
  function proxy(
    req: IncomingMessage,
    res: ServerResponse,
    to: string,
    extraHeaders: Record<string, string> = {},
  ): void {
    const target = new URL(req.url ?? '/', to);
    const headers: Record<string, string | string[] | undefined> = {
      ...req.headers,
      'x-forwarded-host': req.headers.host ?? '',
      'x-forwarded-proto': 'http',
    };
    delete headers['x-vercel-protection-bypass'];
    delete headers['x-vercel-set-bypass-cookie'];
    const upstream = httpRequest(target, { method: req.method ?? 'GET', headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, { ...answer.headers, ...extraHeaders });
      answer.pipe(res);
    });
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end(`The deployment's app did not answer: ${error.message}\n\nFUNCTION_INVOCATION_FAILED`);
    });
    req.pipe(upstream);
  }

  function getDeployment(res: ServerResponse, id: string): undefined {
    const held = deployments.get(id) ?? [...deployments.values()].find((d) => d.url === id);
    if (!held) return send(res, 404, { error: { code: 'not_found', message: 'Deployment not found' } });
    const limited = options.pollRateLimit;
    if (limited && ++statusPolls % limited.every === 0) {
      const wait = limited.retryAfterSeconds ?? 1;
      return send(
        res,
        429,
        { error: { code: 'rate_limited', message: 'Rate limit exceeded' } },
        {
          'Retry-After': String(wait),
          'X-RateLimit-Limit': String(limited.every - 1),
          'X-RateLimit-Remaining': '0',
          'X-RateLimit-Reset': String(Math.ceil(Date.now() / 1000) + wait),
        },
      );
    }
    const building = held.source?.state === 'building' && held.states[held.step + 1] === 'READY';
    if (held.readyState === 'READY') {
      held.readyPolls++;
    } else if (held.source?.state === 'failed' && held.readyState !== 'ERROR') {
      held.states = ['QUEUED', 'BUILDING', 'ERROR'];
      held.step = 2;
      held.readyState = 'ERROR';
      for (const line of held.failure?.lines ?? [])
        held.events.push({ type: 'stderr', created: tick(), text: line });
    } else if (!building && held.step < held.states.length - 1) {
      held.step++;
      held.readyState = held.states[held.step]!;
      if (held.readyState === 'READY') {
        held.events.push({ type: 'stdout', created: tick(), text: 'Build Completed in /vercel/output [1s]' });
      } else if (held.readyState === 'ERROR') {
        for (const line of held.failure?.lines ?? [])
          held.events.push({ type: 'stderr', created: tick(), text: line });
      }
    }
    if (aliased(held)) projects.get(held.projectId)!.production = held.id;
    send(res, 200, view(held));
  }

  /** A production deployment gets the project's alias some polls after READY, if at all. */
  function aliased(held: Held): boolean {
    return (
      held.readyState === 'READY' &&
      held.target === 'production' &&
      options.assignAliases !== false &&
      !options.aliasError &&
      held.readyPolls >= aliasDelayPolls
    );
  }

  function view(held: Held) {
    const ready = held.readyState === 'READY';
    const project = projects.get(held.projectId)!;
    const production = held.target === 'production';
    return {
      id: held.id,
      url: held.url,
      name: held.name,
      projectId: held.projectId,
      readyState: held.readyState,
      readyStateReason: held.readyState === 'ERROR' ? held.failure?.errorMessage : undefined,
      target: held.target,
      type: 'LAMBDAS',
      version: 2,
      meta: held.meta,
      createdAt: held.createdAt,
      alias: aliased(held)
        ? [project.domain && held.source ? project.domain.host : `${host}/p/${project.name}/`]
        : [],
      aliasAssigned: (production ? aliased(held) : ready) ? held.createdAt : null,
      aliasError: ready && production && options.aliasError ? options.aliasError : null,
      ...(held.readyState === 'ERROR'
        ? {
            errorCode: held.failure?.errorCode ?? 'BUILD_FAILED',
            errorMessage: held.failure?.errorMessage ?? 'The build failed',
          }
        : {}),
      inspectorUrl: `https://vercel.com/stand-in/${project.name}/${held.id}`,
    };
  }

  function getEvents(res: ServerResponse, id: string, query: URLSearchParams): undefined {
    const held = deployments.get(id);
    if (!held) return send(res, 404, { error: { code: 'not_found', message: 'Deployment not found' } });
    const follow = query.get('follow');
    if (follow !== null && follow !== '0' && follow !== '1') {
      return send(res, 400, {
        error: { code: 'bad_request', message: 'Invalid query: `follow` should be 0 or 1' },
      });
    }
    let events = held.events.map((e, serial) => ({
      type: e.type,
      created: e.created,
      payload: {
        id: `${held.id}-${serial}`,
        date: e.created,
        deploymentId: held.id,
        serial: String(serial),
        text: e.text,
      },
    }));
    if (query.get('direction') === 'backward') events = events.reverse();
    const limit = Number(query.get('limit') ?? -1);
    if (limit > 0) events = events.slice(0, limit);
    if (follow !== '0') {
      // Without follow=0 the endpoint is a stream of events, one JSON object a line, not a JSON array.
      res.writeHead(200, { 'Content-Type': 'application/stream+json' });
      for (const event of events) res.write(`${JSON.stringify(event)}\n`);
      res.end();
      return;
    }
    send(res, 200, events);
  }

  function listDeployments(res: ServerResponse, query: URLSearchParams): undefined {
    // Only the documented filters: the CLI's `meta-*` ones are not in the API reference.
    const unknown = [...query.keys()].find((key) => !LIST_PARAMS.has(key));
    if (unknown) {
      return send(res, 400, {
        error: { code: 'bad_request', message: `Invalid query parameter \`${unknown}\`` },
      });
    }
    let list = [...deployments.values()];
    const projectId = query.get('projectId');
    if (projectId) {
      const project = projects.get(projectId) ?? [...projects.values()].find((p) => p.name === projectId);
      if (!project) return send(res, 404, { error: { code: 'not_found', message: 'Project not found' } });
      list = list.filter((d) => d.projectId === project.id);
    }
    const app = query.get('app');
    if (app) list = list.filter((d) => d.name === app);
    const target = query.get('target');
    if (target) list = list.filter((d) => (d.target ?? 'preview') === target);
    const state = query.get('state');
    if (state) list = list.filter((d) => state.split(',').includes(d.readyState));
    const since = Number(query.get('since') ?? Number.NaN);
    if (Number.isFinite(since)) list = list.filter((d) => d.createdAt > since);
    const until = Number(query.get('until') ?? Number.NaN);
    if (Number.isFinite(until)) list = list.filter((d) => d.createdAt < until);
    list.sort((a, b) => b.createdAt - a.createdAt);
    const limit = Math.max(1, Math.min(100, Number(query.get('limit') ?? 20) || 20));
    const page = list.slice(0, limit);
    send(res, 200, {
      deployments: page.map((d) => ({
        uid: d.id,
        name: d.name,
        url: d.url,
        created: d.createdAt,
        createdAt: d.createdAt,
        state: d.readyState,
        readyState: d.readyState,
        type: 'LAMBDAS',
        target: d.target,
        meta: d.meta,
        projectId: d.projectId,
      })),
      pagination: {
        count: page.length,
        next: list.length > limit ? page.at(-1)!.createdAt : null,
        prev: null,
      },
    });
  }

  function serve(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    kind: string,
    key: string,
    rest: string,
  ): undefined {
    let id: string | undefined = key;
    if (kind === 'p') id = [...projects.values()].find((p) => p.name === key)?.production;
    const held = id ? deployments.get(id) : undefined;
    if (held?.readyState !== 'READY') {
      res
        .writeHead(404, { 'Content-Type': 'text/plain' })
        .end('The deployment could not be found on Vercel.\n\nDEPLOYMENT_NOT_FOUND');
      return;
    }
    // Standard Protection: a deployment's own URL is private, the production alias (/p/) public.
    const project = projects.get(held.projectId)!;
    const extraHeaders = kind === 'd' ? protect(req, res, url, project) : {};
    if (!extraHeaders) return;
    let wanted = decodeURIComponent(rest).replace(/^\/+/, '');
    if (wanted === '' || wanted.endsWith('/')) wanted += 'index.html';
    const file =
      held.files.find((f) => f.file === wanted) ?? held.files.find((f) => f.file === `${wanted}/index.html`);
    const content = file && blobs.get(file.sha);
    if (!file || !content) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('The page could not be found.\n\nNOT_FOUND');
      return;
    }
    res
      .writeHead(200, {
        'Content-Type': contentType(file.file),
        'Content-Length': String(content.byteLength),
        ...extraHeaders,
      })
      .end(content);
  }

  /**
   * Standard Protection on a deployment URL: the headers to add (a bypass cookie when asked), or
   * undefined once it answered 401 (no or a wrong automation bypass).
   */
  function protect(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    project: Project,
  ): Record<string, string> | undefined {
    const extraHeaders: Record<string, string> = {};
    if (!project.protected) return extraHeaders;
    const given = String(
      req.headers['x-vercel-protection-bypass'] ?? url.searchParams.get('x-vercel-protection-bypass') ?? '',
    );
    const cookie = /(?:^|;\s*)_vercel_jwt=([^;]+)/.exec(String(req.headers.cookie ?? ''))?.[1];
    const bySecret = given !== '' && project.protectionBypass[given] !== undefined;
    if (!bySecret && !(cookie && bypassCookies.get(cookie) === project.id)) {
      res
        .writeHead(401, { 'Content-Type': 'text/html; charset=utf-8' })
        .end(
          '<!doctype html><title>Authentication Required</title><h1>Authentication Required</h1><p>Vercel Authentication</p>',
        );
      return undefined;
    }
    const setCookie = String(req.headers['x-vercel-set-bypass-cookie'] ?? '');
    if (bySecret && (setCookie === 'true' || setCookie === 'samesitenone')) {
      const jwt = randomBytes(16).toString('hex');
      bypassCookies.set(jwt, project.id);
      extraHeaders['Set-Cookie'] =
        `_vercel_jwt=${jwt}; Path=/; HttpOnly${setCookie === 'samesitenone' ? '; SameSite=None; Secure' : ''}`;
    }
    return extraHeaders;
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    apiUrl: `http://${host}`,
    token,
    requests,
    uploads,
    deployments: () =>
      [...deployments.values()].map(({ states: _s, step: _p, events: _e, failure: _f, ...rest }) => ({
        ...rest,
        meta: { ...rest.meta },
        files: [...rest.files],
      })),
    projects: () =>
      [...projects.values()].map(({ id, name, protectionBypass, nodeVersion }) => ({
        id,
        name,
        bypassSecrets: Object.keys(protectionBypass),
        nodeVersion,
      })),
    env: (idOrName) => (findProject(idOrName)?.env ?? []).map((e) => ({ ...e, target: [...e.target] })),
    fail: (fault) => void faults.push({ ...fault, left: fault.times ?? 1 }),
    failBuilds: (failure) => void buildFailures.push({ ...failure, count: failure.count ?? 1 }),
    async close() {
      closed = true;
      const apps = [...deployments.values()].flatMap((d) => (d.source?.app ? [d.source.app] : []));
      await Promise.allSettled(apps.map((app) => app.stop()));
      for (const { server: s } of listeners) {
        s.closeAllConnections();
        s.close();
      }
      if (sourceRoot) await rm(sourceRoot, { recursive: true, force: true });
      await new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      });
    },
  };
}

/** A bypass secret as Vercel makes them: 32 letters and digits. */
function randomSecret(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(32)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): undefined {
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(text)),
      ...headers,
    })
    .end(text);
}

function contentType(file: string): string {
  const ext = file.slice(file.lastIndexOf('.') + 1).toLowerCase();
  const types: Record<string, string> = {
    html: 'text/html; charset=utf-8',
    css: 'text/css; charset=utf-8',
    js: 'text/javascript; charset=utf-8',
    json: 'application/json',
    svg: 'image/svg+xml',
    png: 'image/png',
    txt: 'text/plain; charset=utf-8',
  };
  return types[ext] ?? 'application/octet-stream';
}
