import type { TemplateManifest } from '../domain/template.js';
import type { ProgressReporter } from './code-generator.port.js';
import type { Workspace } from './workspace.port.js';

export type BuildResult =
  | {
      ok: true;
      /**
       * Absolute path of the build output: the static site (it holds an index.html), or for a
       * server app (manifest `start`) the built app itself, ready for its `start` command.
       */
      outputDir: string;
      /** The checks that passed, e.g. `build`, `test`, `index.html`. */
      checks: string[];
    }
  | {
      ok: false;
      /** One line saying what failed. */
      summary: string;
      /** The tail of what the failing command printed, for the repair round. */
      output: string;
    };

/**
 * Builds and checks the workspace with the template's declared commands. A build that fails
 * is a result (`ok: false`), not an error; errors are for the builder itself failing.
 */
export interface Builder {
  readonly specificationVersion: 'v1';
  build(options: {
    workspace: Workspace;
    manifest: TemplateManifest;
    report: ProgressReporter;
    /**
     * `postgresql://…` of the job's throwaway `check` database, for the template's `migrate`
     * command (as DATABASE_URL). A secret: it reaches that command's environment only.
     */
    databaseUrl?: string;
    /** The PEM CA that database's server chains to, when it is not a public one (DATABASE_CA). */
    databaseCa?: string;
    signal?: AbortSignal;
  }): Promise<BuildResult>;
  /**
   * Gives the workspace the dependencies its lockfile names (the template's `install`, through
   * whatever makes it fast here), so a generator can run the template's commands while it works.
   * Optional. A failed install is a result (`ok: false` with its output), not an error.
   */
  install?(options: {
    workspace: Workspace;
    manifest: TemplateManifest;
    report: ProgressReporter;
    signal?: AbortSignal;
  }): Promise<CommandOutcome>;
  /**
   * Adds one npm package to the workspace's `package.json`, pinned to an exact version, and
   * updates the lockfile (install scripts off), then installs. `version` is a version or a range
   * (default: the latest); the result names the exact version pinned. A package the registry
   * does not have, or a version it does not have, is `ok: false` with the reason. Optional.
   */
  addDependency?(options: {
    workspace: Workspace;
    manifest: TemplateManifest;
    name: string;
    version?: string;
    report: ProgressReporter;
    signal?: AbortSignal;
  }): Promise<CommandOutcome & { version?: string }>;
}

/** What a command run for a generator gave: whether it passed, and the tail of its output. */
export interface CommandOutcome {
  ok: boolean;
  output: string;
}
