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
    signal?: AbortSignal;
  }): Promise<BuildResult>;
}
