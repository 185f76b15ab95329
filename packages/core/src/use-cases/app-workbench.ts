import type { JourneyReport } from '../domain/delivery.js';
import type { TemplateManifest } from '../domain/template.js';
import { toPipelineError } from '../errors.js';
import type { QueryOutcome } from '../ports/app-checker.port.js';
import type { BuildResult } from '../ports/builder.port.js';
import type { AppWorkbench, ProgressReporter } from '../ports/code-generator.port.js';
import type { Workspace } from '../ports/workspace.port.js';
import type { PipelinePorts } from './deps.js';

/** Most rows a `query` returns to the generator. */
export const WORKBENCH_QUERY_ROWS = 50;

/** The files a dependency change writes: the pipeline's own change to them is approved. */
const DEPENDENCY_FILES = ['package.json', 'pnpm-lock.yaml'] as const;

export interface WorkbenchSession {
  workbench: AppWorkbench;
  /** Removes the throwaway database of the last check. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * The AppWorkbench of one AI_DEVELOPMENT try on a server app: the builder's install and
 * dependency changes, BUILDING's gate (build, migrate, test on a fresh throwaway `check`
 * database, then the journeys), and read-only queries on that database. Undefined where the
 * template is not a server app with a model, or the pipeline lacks a database or a checker for it.
 * `approve(paths)` tells the protected-file check that the pipeline itself changed them.
 */
export function openWorkbench(input: {
  ports: PipelinePorts;
  jobId: string;
  workspace: Workspace;
  manifest: TemplateManifest;
  report: ProgressReporter;
  approve(paths: readonly string[]): Promise<void>;
}): WorkbenchSession | undefined {
  const { ports, jobId, workspace, manifest, report } = input;
  const { builder, databases, appChecker } = ports;
  if (!manifest.model || !manifest.start || !databases || !appChecker) return undefined;
  let databaseUrl: string | undefined;
  let databaseCa: { databaseCa?: string } = {};

  const release = async () => {
    if (databaseUrl === undefined) return;
    databaseUrl = undefined;
    await databases.release({ jobId, purpose: 'check' }).catch((error: unknown) => {
      report.log(`Could not remove the check database: ${toPipelineError(error).message}`, 'warn');
    });
  };

  const workbench: AppWorkbench = {
    async install({ signal } = {}) {
      if (!builder.install) return { ok: false, output: 'This pipeline cannot install dependencies here' };
      return builder.install({ workspace, manifest, report, ...(signal ? { signal } : {}) });
    },
    async addDependency({ name, version, signal }) {
      if (!builder.addDependency) {
        return { ok: false, output: 'This pipeline cannot add dependencies here' };
      }
      const added = await builder.addDependency({
        workspace,
        manifest,
        name,
        ...(version !== undefined ? { version } : {}),
        report,
        ...(signal ? { signal } : {}),
      });
      // Approved even when the install after the change failed: the files are the tool's work.
      if (added.version !== undefined) await input.approve(DEPENDENCY_FILES);
      return added;
    },
    async check({ signal } = {}): Promise<{ build: BuildResult; journeys?: JourneyReport }> {
      await release();
      const provisioned = await databases.provision({
        jobId,
        purpose: 'check',
        ...(signal ? { signal } : {}),
      });
      databaseUrl = provisioned.connectionUrl;
      databaseCa = provisioned.ca ? { databaseCa: provisioned.ca } : {};
      const build = await builder.build({
        workspace,
        manifest,
        report,
        databaseUrl,
        ...databaseCa,
        ...(signal ? { signal } : {}),
      });
      if (!build.ok) return { build };
      const journeys = await appChecker.check({
        workspace,
        manifest,
        databaseUrl,
        ...databaseCa,
        report,
        outline: true,
        ...(signal ? { signal } : {}),
      });
      return { build, journeys };
    },
    async query({ sql, signal }): Promise<QueryOutcome> {
      if (!appChecker.query) return { ok: false, message: 'This pipeline cannot query the app database' };
      if (databaseUrl === undefined) {
        return {
          ok: false,
          message: 'There is no database yet: run check_app first (it migrates a fresh one)',
        };
      }
      return appChecker.query({
        databaseUrl,
        ...databaseCa,
        sql,
        maxRows: WORKBENCH_QUERY_ROWS,
        ...(signal ? { signal } : {}),
      });
    },
  };
  return { workbench, close: release };
}
