import { createHash, randomBytes } from 'node:crypto';
import type { TemplateManifest } from '@mvp-pipeline/core';
import type { HashExclusions } from './files.js';

// What a framework template (manifest.framework, e.g. nextjs) deploys as on Vercel: its source
// files, built there with the template's own commands, and the environment the app runs with.

/** Where generated per-job secrets (the app's session secret) are kept, so a retry finds its own. */
export interface SecretStore {
  /**
   * The stored secret of `name` (lowercase letters, digits and `_`); when there is none, stores
   * `generate()` first. Two callers racing get the same one. The local PasswordStore fits.
   */
  ensure(name: string, generate: () => string): Promise<string>;
}

/** The Node.js major version a source deployment builds and runs on (Vercel's `nodeVersion`). */
export const DEFAULT_NODE_VERSION = '20.x';

/** The environment the deployer sets itself; a manifest's `env` cannot replace them. */
export const RESERVED_ENV = ['DATABASE_URL', 'DATABASE_CA', 'APP_URL', 'SESSION_SECRET'] as const;

/** A framework template's deployment: source files, build settings, what runs before production. */
export interface SourceApp {
  framework: string;
  installCommand: string | null;
  buildCommand: string | null;
  /** Left out of the upload: dependencies, git, the local build output and its cache. */
  exclude: HashExclusions;
  /** `commands.migrate`, run from the runner against the app's database before deploying. */
  migrate: string[] | undefined;
  /** Whether the app gets a database (a server app: its manifest declares `start`). */
  database: boolean;
  /** The manifest's plain `env` settings. */
  env: Record<string, string>;
}

/** The source deployment of a framework template, or undefined for a static one (output upload). */
export function sourceAppOf(manifest: TemplateManifest | undefined): SourceApp | undefined {
  const framework = manifest?.framework;
  if (!manifest || !framework || framework === 'static') return undefined;
  const install = manifest.commands['install'];
  const build = manifest.commands['build'];
  return {
    framework,
    installCommand: install ? shellJoin(onlineInstall(install)) : null,
    buildCommand: build ? shellJoin(build) : null,
    exclude: {
      names: ['node_modules', '.git'],
      paths: [manifest.outputDir, ...(manifest.buildCache ? [manifest.buildCache] : [])],
    },
    migrate: manifest.commands['migrate'],
    database: Boolean(manifest.start),
    env: Object.fromEntries(
      Object.entries(manifest.env ?? {}).filter(
        ([key]) => !(RESERVED_ENV as readonly string[]).includes(key),
      ),
    ),
  };
}

/**
 * The install command without `--offline` / `--prefer-offline`: the runner installs from its own
 * package store, which Vercel's build machine does not have, so there it must fetch.
 */
function onlineInstall(argv: readonly string[]): string[] {
  return argv.filter((arg) => arg !== '--offline' && arg !== '--prefer-offline');
}

/** argv as one command line for Vercel's shell: each word quoted when it needs to be. */
export function shellJoin(argv: readonly string[]): string {
  return argv
    .map((arg) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

/** The secret store's name of the job's session secret. */
export function sessionSecretName(jobId: string): string {
  return `session_${createHash('sha256').update(jobId).digest('hex').slice(0, 40)}`;
}

/** A session secret: 256 random bits, URL-safe. */
export function generateSessionSecret(): string {
  return randomBytes(32).toString('base64url');
}
