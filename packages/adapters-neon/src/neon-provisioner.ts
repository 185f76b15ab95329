import {
  generatePassword,
  type PasswordStore,
  scramVerifier,
  toDatabaseError,
  urlSecrets,
  // biome-ignore lint/style/noRestrictedImports: adapters-local holds the PasswordStore port and the PostgreSQL helpers; reused, not copied.
} from '@mvp-pipeline/adapters-local';
import {
  createRedactor,
  type DatabaseProvisioner,
  type DatabasePurpose,
  type DatabaseResource,
  databaseName,
  PermanentError,
  type ProvisionedDatabase,
} from '@mvp-pipeline/core';
import pg from 'pg';
import { createNeonApi, type FetchLike, type NeonOperation, type SleepLike } from './api.js';

export const NEON_PROVIDER = 'neon';

export interface NeonProvisionerSettings {
  /** NEON_API_KEY: a secret, registered with the redactor, never in a message. */
  apiKey: string;
  /** NEON_API_URL; Neon's own API by default. */
  apiUrl?: string | undefined;
  /** NEON_REGION_ID for new projects (e.g. `aws-us-east-2`); Neon's default when unset. */
  regionId?: string | undefined;
  /** NEON_ORG_ID: the organization new projects go to (Neon asks for it when a key reaches several). */
  orgId?: string | undefined;
  /** Where the app roles' passwords are kept (a 0600 file per role locally, a secrets manager in AWS). */
  passwords: PasswordStore;
  registerSecret?: ((value: string) => void) | undefined;
  /** CONNECTION LIMIT of the app's role (default 20). */
  connectionLimit?: number | undefined;
  fetch?: FetchLike | undefined;
  sleep?: SleepLike | undefined;
  operationsTimeoutMs?: number | undefined;
}

interface NeonProject {
  id: string;
  name: string;
  created_at: string;
}

interface NeonBranch {
  id: string;
  name: string;
  default?: boolean;
  primary?: boolean;
}

/** The names one job's Neon things get: the project and app role are the core's `app` database name. */
function namesOf(jobId: string) {
  const app = databaseName(jobId, 'app');
  return {
    project: app,
    app,
    check: databaseName(jobId, 'check'),
    role: app,
    // Neon's own role, the project's owner: it administers the project and is never the app's.
    owner: app.replace(/_app$/, '_own'),
  };
}

/**
 * One Neon project per MVP, through Neon's API v2. The project's default branch holds the
 * `app` database, owned by the project's owner role (Neon's, a member of neon_superuser); the
 * app connects as a role of its own, created over SQL without CREATEDB/CREATEROLE and with a
 * password we generate and store. The `check` database is a second database on the same branch,
 * deleted and created again on each provision.
 */
export function createNeonProvisioner(settings: NeonProvisionerSettings): DatabaseProvisioner {
  const secrets = new Set<string>();
  const register = (value: string) => {
    for (const secret of urlSecrets(value)) {
      secrets.add(secret);
      settings.registerSecret?.(secret);
    }
  };
  register(settings.apiKey);
  const redact = (text: string) => createRedactor(secrets)(text);
  const api = createNeonApi({
    apiKey: settings.apiKey,
    apiUrl: settings.apiUrl,
    fetch: settings.fetch,
    sleep: settings.sleep,
    redact,
    operationsTimeoutMs: settings.operationsTimeoutMs,
  });
  const connectionLimit = settings.connectionLimit ?? 20;
  const project = (id: string) => `/projects/${encodeURIComponent(id)}`;

  // Neon does not keep project names unique: calls for one job in this process take turns, so
  // two racing attempts end with one project.
  const turns = new Map<string, Promise<unknown>>();
  function inTurn<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = turns.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    turns.set(key, next);
    next
      .finally(() => {
        if (turns.get(key) === next) turns.delete(key);
      })
      .catch(() => undefined); // the caller gets the rejection from `next` itself

    return next;
  }

  /** The job's project, found by name (the oldest when there are several), or undefined. */
  async function findProject(name: string, signal?: AbortSignal): Promise<NeonProject | undefined> {
    const found: NeonProject[] = [];
    let cursor: string | undefined;
    for (;;) {
      const query = new URLSearchParams({ search: name, limit: '100' });
      if (settings.orgId) query.set('org_id', settings.orgId);
      if (cursor) query.set('cursor', cursor);
      const page = await api.request<{ projects: NeonProject[]; pagination?: { cursor?: string } }>({
        method: 'GET',
        path: `/projects?${query}`,
        signal,
      });
      // `search` matches parts of names too: only the exact name is the job's.
      found.push(...page.projects.filter((p) => p.name === name));
      const nextCursor = page.pagination?.cursor;
      if (page.projects.length < 100 || !nextCursor || nextCursor === cursor) break;
      cursor = nextCursor;
    }
    return found.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id))[0];
  }

  async function defaultBranch(projectId: string, signal?: AbortSignal): Promise<NeonBranch> {
    const { branches } = await api.request<{ branches: NeonBranch[] }>({
      method: 'GET',
      path: `${project(projectId)}/branches`,
      signal,
    });
    const branch = branches.find((b) => b.default) ?? branches.find((b) => b.primary);
    if (!branch) throw new PermanentError(`Neon project ${projectId} has no default branch`);
    return branch;
  }

  /** The owner's URL for `database` (it holds the owner's password: registered at once). */
  async function ownerUrl(
    projectId: string,
    branchId: string,
    database: string,
    role: string,
    signal?: AbortSignal,
  ) {
    const query = new URLSearchParams({ branch_id: branchId, database_name: database, role_name: role });
    const { uri } = await api.request<{ uri: string }>({
      method: 'GET',
      path: `${project(projectId)}/connection_uri?${query}`,
      signal,
    });
    register(uri);
    return uri;
  }

  async function withClient<T>(
    action: string,
    url: string,
    signal: AbortSignal | undefined,
    work: (client: pg.Client) => Promise<T>,
  ): Promise<T> {
    signal?.throwIfAborted();
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 15_000 });
    client.on('error', () => undefined);
    const onAbort = () => void client.end().catch(() => undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await client.connect();
      return await work(client);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw toDatabaseError(action, error, redact);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await client.end().catch(() => undefined);
    }
  }

  function withDatabase(url: string, database: string, role?: { name: string; password: string }): string {
    const parsed = new URL(url);
    parsed.pathname = `/${database}`;
    if (role) {
      parsed.username = role.name;
      parsed.password = role.password;
    }
    return parsed.toString();
  }

  /** Lets the app role into `database`'s public schema (run as the database's owner). */
  async function grantTo(url: string, database: string, role: string, signal?: AbortSignal) {
    const id = pg.escapeIdentifier;
    await withClient(`granting ${role} its database ${database}`, withDatabase(url, database), signal, (c) =>
      c.query(
        `GRANT CONNECT, TEMPORARY ON DATABASE ${id(database)} TO ${id(role)}; GRANT USAGE, CREATE ON SCHEMA public TO ${id(role)}`,
      ),
    );
  }

  /** Creates the app's role, or sets its password to the stored one (a retry, or a lost password file). */
  async function ensureRole(url: string, role: string, password: string, signal?: AbortSignal) {
    const id = pg.escapeIdentifier;
    // A SCRAM verifier, so the password itself never travels to the server.
    const verifier = pg.escapeLiteral(scramVerifier(password));
    await withClient(`creating the role ${role}`, url, signal, async (c) => {
      const exists = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      if (exists.rowCount === 0) {
        try {
          await c.query(
            `CREATE ROLE ${id(role)} LOGIN NOCREATEDB NOCREATEROLE NOINHERIT CONNECTION LIMIT ${connectionLimit} PASSWORD ${verifier}`,
          );
          return;
        } catch (error) {
          if ((error as { code?: string }).code !== '42710') throw error;
        }
      }
      await c.query(`ALTER ROLE ${id(role)} PASSWORD ${verifier}`);
    });
  }

  async function waitFor(projectId: string, operations: NeonOperation[] | undefined, signal?: AbortSignal) {
    if (operations?.length) await api.waitFor(projectId, operations, signal);
  }

  async function getDatabase(projectId: string, branchId: string, name: string, signal?: AbortSignal) {
    return api.request<{ database: { name: string; owner_name: string } }>({
      method: 'GET',
      path: `${project(projectId)}/branches/${encodeURIComponent(branchId)}/databases/${encodeURIComponent(name)}`,
      signal,
      notFound: 'undefined',
    });
  }

  async function deleteDatabase(projectId: string, branchId: string, name: string, signal?: AbortSignal) {
    const deleted = await api.request<{ operations?: NeonOperation[] }>({
      method: 'DELETE',
      path: `${project(projectId)}/branches/${encodeURIComponent(branchId)}/databases/${encodeURIComponent(name)}`,
      signal,
      projectId,
      notFound: 'undefined',
    });
    await waitFor(projectId, deleted?.operations, signal);
    return deleted !== undefined;
  }

  function resourceOf(
    purpose: DatabasePurpose,
    names: ReturnType<typeof namesOf>,
    host: string,
    projectId: string,
    branchId: string,
  ): DatabaseResource {
    return {
      provider: NEON_PROVIDER,
      purpose,
      database: purpose === 'app' ? names.app : names.check,
      role: names.role,
      host,
      secretRef: settings.passwords.ref(names.role),
      ids: { projectId, branchId },
    };
  }

  async function provisionNow(
    jobId: string,
    purpose: DatabasePurpose,
    signal?: AbortSignal,
  ): Promise<ProvisionedDatabase> {
    const names = namesOf(jobId);
    let found = await findProject(names.project, signal);
    let created = false;
    let branchId: string;
    if (found) {
      branchId = (await defaultBranch(found.id, signal)).id;
    } else {
      const made = await api.request<{
        project: NeonProject;
        branch: NeonBranch;
        operations?: NeonOperation[];
        connection_uris?: { connection_uri: string }[];
      }>({
        method: 'POST',
        path: '/projects',
        signal,
        body: {
          project: {
            name: names.project,
            ...(settings.regionId ? { region_id: settings.regionId } : {}),
            ...(settings.orgId ? { org_id: settings.orgId } : {}),
            branch: { role_name: names.owner, database_name: names.app },
          },
        },
      });
      for (const { connection_uri } of made.connection_uris ?? []) register(connection_uri);
      found = made.project;
      branchId = made.branch.id;
      created = true;
      await waitFor(found.id, made.operations, signal);
    }
    const projectId = found.id;
    const owner = await ownerUrl(projectId, branchId, names.app, names.owner, signal);
    const password = await settings.passwords.ensure(names.role, generatePassword);
    register(password);
    await ensureRole(owner, names.role, password, signal);
    await grantTo(owner, names.app, names.role, signal);
    let database = names.app;
    if (purpose === 'check') {
      database = names.check;
      // Empty on each provision: the previous check database goes, a new one comes.
      await deleteDatabase(projectId, branchId, names.check, signal);
      const made = await api.request<{ operations?: NeonOperation[] }>({
        method: 'POST',
        path: `${project(projectId)}/branches/${encodeURIComponent(branchId)}/databases`,
        body: { database: { name: names.check, owner_name: names.owner } },
        signal,
        projectId,
      });
      await waitFor(projectId, made.operations, signal);
      await grantTo(owner, names.check, names.role, signal);
      created = true;
    }
    const connectionUrl = withDatabase(owner, database, { name: names.role, password });
    register(connectionUrl);
    return {
      resource: resourceOf(purpose, names, new URL(owner).host, projectId, branchId),
      connectionUrl,
      created,
    };
  }

  return {
    specificationVersion: 'v1',

    async provision({ jobId, purpose, signal }) {
      const names = namesOf(jobId);
      databaseName(jobId, purpose);
      signal?.throwIfAborted();
      return inTurn(names.project, () => provisionNow(jobId, purpose, signal));
    },

    async describe({ jobId, purpose, signal }) {
      const names = namesOf(jobId);
      databaseName(jobId, purpose);
      signal?.throwIfAborted();
      const found = await findProject(names.project, signal);
      if (!found) return { resource: undefined };
      const branch = await defaultBranch(found.id, signal);
      if (purpose === 'check' && !(await getDatabase(found.id, branch.id, names.check, signal)))
        return { resource: undefined };
      const owner = await ownerUrl(found.id, branch.id, names.app, names.owner, signal);
      return { resource: resourceOf(purpose, names, new URL(owner).host, found.id, branch.id) };
    },

    async release({ jobId, purpose, signal }) {
      const names = namesOf(jobId);
      databaseName(jobId, purpose);
      signal?.throwIfAborted();
      return inTurn(names.project, async () => {
        const found = await findProject(names.project, signal);
        if (purpose === 'check') {
          if (!found) return { removed: false };
          const branch = await defaultBranch(found.id, signal);
          return { removed: await deleteDatabase(found.id, branch.id, names.check, signal) };
        }
        // The app's release takes the whole project (its check database with it) and the password.
        let removed = false;
        if (found) {
          const deleted = await api.request<{ project: NeonProject }>({
            method: 'DELETE',
            path: project(found.id),
            signal,
            projectId: found.id,
            notFound: 'undefined',
          });
          removed = deleted !== undefined;
        }
        await settings.passwords.remove(names.role);
        return { removed };
      });
    },
  };
}
