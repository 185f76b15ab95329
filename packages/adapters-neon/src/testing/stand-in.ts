import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';

/**
 * A local Neon API v2 on a real PostgreSQL server: each Neon project is a real database owned by
 * a real LOGIN role (Neon's owner role, with CREATEROLE as neon_superuser has), so the URLs it
 * hands out work. Stricter than Neon where it must be: the server is shared, so database and role
 * names are unique across projects (Neon keeps them per project).
 */
export interface NeonStandInOptions {
  /** The admin connection to the server that backs the projects (TEST_DATABASE_URL). */
  adminUrl: string;
  /** The bearer token the stand-in accepts. */
  apiKey: string;
  /** Query appended to the URIs it returns (Neon's is `sslmode=require&channel_binding=require`). */
  uriQuery?: string;
}

export interface StandInRequest {
  method: string;
  path: string;
  status: number;
  authorization: string | undefined;
}

export interface StandInOperation {
  id: string;
  project_id: string;
  branch_id: string;
  action: string;
  status: 'running' | 'finished';
  created_at: string;
  updated_at: string;
  /** Polls answered `running` before it finishes. */
  pollsLeft: number;
}

interface StandInProject {
  id: string;
  name: string;
  region_id: string;
  created_at: string;
  branchId: string;
  endpointId: string;
  /** Neon-known roles (the owner) and their passwords. */
  roles: Map<string, string>;
  databases: Map<string, { owner: string; created_at: string }>;
  operations: StandInOperation[];
  /** Refuse the next mutating call once with 423, as a system operation (a compute start) would. */
  lockOnce: boolean;
}

export interface NeonStandIn {
  url: string;
  /** The API base to configure as NEON_API_URL. */
  apiUrl: string;
  requests: StandInRequest[];
  projects(): { id: string; name: string; databases: string[]; roles: string[] }[];
  close(): Promise<void>;
}

const id = pg.escapeIdentifier;
const word = () => randomBytes(4).toString('hex');
const now = () => new Date().toISOString();

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A Neon-like generated password (letters and digits). */
function neonPassword(): string {
  return (
    randomBytes(12)
      .toString('base64')
      .replace(/[^a-zA-Z0-9]/g, '')
      .slice(0, 12) || 'Pw0rdPw0rdPw'
  );
}

export async function startNeonStandIn(options: NeonStandInOptions): Promise<NeonStandIn> {
  const admin = new URL(options.adminUrl);
  const projects = new Map<string, StandInProject>();
  const requests: StandInRequest[] = [];

  async function sql(text: string, params: unknown[] = [], database?: string) {
    const url = new URL(options.adminUrl);
    if (database) url.pathname = `/${database}`;
    const client = new pg.Client({ connectionString: url.toString() });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await client.query(text, params);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async function taken(name: string): Promise<boolean> {
    const r = await sql(
      'SELECT 1 FROM pg_database WHERE datname = $1 UNION ALL SELECT 1 FROM pg_roles WHERE rolname = $1',
      [name],
    );
    return (r.rowCount ?? 0) > 0;
  }

  function operation(p: StandInProject, action: string): StandInOperation {
    const op: StandInOperation = {
      id: randomUUID(),
      project_id: p.id,
      branch_id: p.branchId,
      action,
      status: 'running',
      created_at: now(),
      updated_at: now(),
      pollsLeft: 1,
    };
    p.operations.push(op);
    return op;
  }

  const shown = ({ pollsLeft: _, ...op }: StandInOperation) => op;

  /** 423 while an operation runs, and once after a project is created. */
  function assertUnlocked(p: StandInProject) {
    if (p.lockOnce) {
      p.lockOnce = false;
      operation(p, 'start_compute');
    }
    if (p.operations.some((o) => o.status !== 'finished'))
      throw new HttpError(
        423,
        'project already has running operations, scheduling of new ones is prohibited',
      );
  }

  async function createDatabase(name: string, owner: string) {
    await sql(`CREATE DATABASE ${id(name)} OWNER ${id(owner)}`);
    await sql(`REVOKE ALL ON DATABASE ${id(name)} FROM PUBLIC`);
  }

  function projectJson(p: StandInProject) {
    return {
      id: p.id,
      name: p.name,
      region_id: p.region_id,
      platform_id: 'aws',
      pg_version: 17,
      created_at: p.created_at,
      updated_at: p.created_at,
      default_endpoint_settings: {},
    };
  }

  function branchJson(p: StandInProject) {
    return {
      id: p.branchId,
      project_id: p.id,
      name: 'main',
      current_state: 'ready',
      default: true,
      primary: true,
      protected: false,
      created_at: p.created_at,
      updated_at: p.created_at,
    };
  }

  function uri(role: string, password: string, database: string) {
    const u = new URL(`postgresql://${admin.host}/`);
    u.username = role;
    u.password = password;
    u.pathname = `/${database}`;
    if (options.uriQuery) u.search = options.uriQuery;
    return u.toString();
  }

  function projectOf(projectId: string): StandInProject {
    const p = projects.get(projectId);
    if (!p) throw new HttpError(404, `project ${projectId} not found`);
    return p;
  }

  function branchOf(p: StandInProject, branchId: string) {
    if (branchId !== p.branchId) throw new HttpError(404, `branch ${branchId} not found`);
  }

  async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (chunks.length === 0) return {};
    try {
      const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (parsed && typeof parsed === 'object') return parsed as Record<string, unknown>;
    } catch {
      // falls through
    }
    throw new HttpError(400, 'request body is not valid JSON');
  }

  const NAME = /^[a-z0-9_]{1,63}$/;

  async function route(req: IncomingMessage, url: URL): Promise<[number, unknown]> {
    const method = req.method ?? 'GET';
    const parts = url.pathname
      .replace(/^\/api\/v2/, '')
      .split('/')
      .filter(Boolean)
      .map(decodeURIComponent);
    if (parts[0] !== 'projects') throw new HttpError(404, 'not found');

    if (parts.length === 1 && method === 'GET') {
      const search = url.searchParams.get('search') ?? '';
      const limit = Math.min(400, Number(url.searchParams.get('limit') ?? 10) || 10);
      const start = Number(url.searchParams.get('cursor') ?? 0) || 0;
      const all = [...projects.values()].filter((p) => p.name.includes(search) || p.id.includes(search));
      const page = all.slice(start, start + limit);
      return [200, { projects: page.map(projectJson), pagination: { cursor: String(start + page.length) } }];
    }
    if (parts.length === 1 && method === 'POST') {
      const body = (await readBody(req)).project as Record<string, unknown> | undefined;
      const branch = (body?.['branch'] ?? {}) as Record<string, unknown>;
      const name = typeof body?.['name'] === 'string' ? body['name'] : `project-${word()}`;
      const database = typeof branch['database_name'] === 'string' ? branch['database_name'] : 'neondb';
      const role = typeof branch['role_name'] === 'string' ? branch['role_name'] : `${database}_owner`;
      if (!NAME.test(database) || !NAME.test(role)) throw new HttpError(400, 'invalid database or role name');
      if (name.length > 64) throw new HttpError(400, 'project name is too long');
      if ((await taken(database)) || (await taken(role)))
        throw new HttpError(409, `database or role name already exists on this server: ${database}, ${role}`);
      const password = neonPassword();
      await sql(`CREATE ROLE ${id(role)} LOGIN CREATEROLE PASSWORD ${pg.escapeLiteral(password)}`);
      await createDatabase(database, role);
      const p: StandInProject = {
        id: `${['calm', 'cool', 'quiet'][projects.size % 3]}-${word()}-${word().slice(0, 6)}`,
        name,
        region_id: typeof body?.['region_id'] === 'string' ? body['region_id'] : 'aws-us-east-2',
        created_at: now(),
        branchId: `br-${word()}-${word()}`,
        endpointId: `ep-${word()}-${word()}`,
        roles: new Map([[role, password]]),
        databases: new Map([[database, { owner: role, created_at: now() }]]),
        operations: [],
        lockOnce: true,
      };
      projects.set(p.id, p);
      const ops = [operation(p, 'create_timeline'), operation(p, 'start_compute')];
      return [
        201,
        {
          project: projectJson(p),
          branch: branchJson(p),
          roles: [{ branch_id: p.branchId, name: role, password, protected: false }],
          databases: [{ id: 1, branch_id: p.branchId, name: database, owner_name: role }],
          endpoints: [{ id: p.endpointId, host: admin.hostname, branch_id: p.branchId, type: 'read_write' }],
          operations: ops.map(shown),
          connection_uris: [
            {
              connection_uri: uri(role, password, database),
              connection_parameters: { database, password, role, host: admin.hostname },
            },
          ],
        },
      ];
    }

    const p = projectOf(parts[1] ?? '');
    const rest = parts.slice(2);
    if (rest.length === 0 && method === 'GET') return [200, { project: projectJson(p) }];
    if (rest.length === 0 && method === 'DELETE') {
      assertUnlocked(p);
      for (const database of p.databases.keys()) {
        // The roles made over SQL in the project: those granted rights on its databases.
        const grantees = await sql(
          `SELECT DISTINCT r.rolname FROM pg_database d, aclexplode(d.datacl) a JOIN pg_roles r ON r.oid = a.grantee
           WHERE d.datname = $1 AND r.rolname <> ALL($2)`,
          [database, [...p.roles.keys()]],
        );
        await sql(`DROP DATABASE IF EXISTS ${id(database)} WITH (FORCE)`);
        for (const row of grantees.rows as { rolname: string }[])
          await sql(`DROP ROLE IF EXISTS ${id(row.rolname)}`);
      }
      for (const role of p.roles.keys()) await sql(`DROP ROLE IF EXISTS ${id(role)}`);
      projects.delete(p.id);
      return [200, { project: projectJson(p) }];
    }
    if (rest[0] === 'operations' && method === 'GET') {
      const poll = (op: StandInOperation) => {
        if (op.status === 'running' && op.pollsLeft-- <= 0) {
          op.status = 'finished';
          op.updated_at = now();
        }
        return shown(op);
      };
      if (rest.length === 1)
        return [200, { operations: [...p.operations].reverse().map(shown), pagination: { cursor: '' } }];
      const op = p.operations.find((o) => o.id === rest[1]);
      if (!op) throw new HttpError(404, `operation ${rest[1]} not found`);
      return [200, { operation: poll(op) }];
    }
    if (rest[0] === 'branches' && rest.length === 1 && method === 'GET')
      return [200, { branches: [branchJson(p)], annotations: {} }];
    if (rest[0] === 'connection_uri' && method === 'GET') {
      const q = url.searchParams;
      const database = q.get('database_name');
      const role = q.get('role_name');
      if (!database || !role) throw new HttpError(400, 'database_name and role_name are required');
      if (q.get('branch_id')) branchOf(p, q.get('branch_id') ?? '');
      const password = p.roles.get(role);
      if (!p.databases.has(database) || password === undefined)
        throw new HttpError(404, `database ${database} or role ${role} not found`);
      return [200, { uri: uri(role, password, database) }];
    }
    if (rest[0] === 'branches' && rest[2] === 'databases') {
      branchOf(p, rest[1] ?? '');
      const name = rest[3];
      if (name === undefined && method === 'GET')
        return [
          200,
          {
            databases: [...p.databases].map(([n, d]) => ({
              branch_id: p.branchId,
              name: n,
              owner_name: d.owner,
            })),
          },
        ];
      if (name === undefined && method === 'POST') {
        assertUnlocked(p);
        const body = (await readBody(req)).database as Record<string, unknown> | undefined;
        const dbName = body?.['name'];
        const owner = body?.['owner_name'];
        if (typeof dbName !== 'string' || !NAME.test(dbName) || typeof owner !== 'string')
          throw new HttpError(400, 'database.name and database.owner_name are required');
        if (!p.roles.has(owner)) throw new HttpError(404, `role ${owner} not found`);
        if (p.databases.has(dbName) || (await taken(dbName)))
          throw new HttpError(409, `database ${dbName} already exists`);
        await createDatabase(dbName, owner);
        p.databases.set(dbName, { owner, created_at: now() });
        return [
          201,
          {
            database: { branch_id: p.branchId, name: dbName, owner_name: owner },
            operations: [shown(operation(p, 'apply_config'))],
          },
        ];
      }
      const db = name === undefined ? undefined : p.databases.get(name);
      if (!db || name === undefined) throw new HttpError(404, `database ${name} not found`);
      const json = { branch_id: p.branchId, name, owner_name: db.owner, created_at: db.created_at };
      if (method === 'GET') return [200, { database: json }];
      if (method === 'DELETE') {
        assertUnlocked(p);
        await sql(`DROP DATABASE IF EXISTS ${id(name)} WITH (FORCE)`);
        p.databases.delete(name);
        return [200, { database: json, operations: [shown(operation(p, 'apply_config'))] }];
      }
    }
    throw new HttpError(404, 'not found');
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const authorization = req.headers.authorization;
    let status = 500;
    let body: unknown;
    try {
      if (authorization !== `Bearer ${options.apiKey}`) throw new HttpError(401, 'authorization failed');
      [status, body] = await route(req, url);
    } catch (error) {
      status = error instanceof HttpError ? error.status : 500;
      body = { code: '', message: error instanceof Error ? error.message : String(error) };
    }
    requests.push({ method: req.method ?? 'GET', path: url.pathname + url.search, status, authorization });
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  return {
    url: base,
    apiUrl: `${base}/api/v2`,
    requests,
    projects: () =>
      [...projects.values()].map((p) => ({
        id: p.id,
        name: p.name,
        databases: [...p.databases.keys()],
        roles: [...p.roles.keys()],
      })),
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
