import type { RepoRef } from '../../domain/job.js';
import type { TemplateManifest } from '../../domain/template.js';
import type { ProgressReporter } from '../../ports/code-generator.port.js';
import type { Workspace } from '../../ports/workspace.port.js';
import type { PipelineDeps } from '../deps.js';

/**
 * The one thing a runner keeps between steps: the workspace directory it holds on this machine
 * and the commit that directory is at. Everything else a step needs comes from the record. A
 * step asks for the job's head; a held workspace at that commit is reused, anything else is
 * cloned back from the job's repository (a resumed run, or a first run after a repair round).
 */
export class WorkspaceHolder {
  private held: { workspace: Workspace; commit: string | undefined } | undefined;

  constructor(
    private readonly deps: PipelineDeps,
    private readonly jobId: string,
  ) {}

  /** The workspace, if held, and the commit it is at. */
  get current(): { workspace: Workspace; commit: string | undefined } | undefined {
    return this.held;
  }

  /** An empty workspace (the one held before is removed). */
  async fresh(signal: AbortSignal): Promise<Workspace> {
    await this.dispose();
    const { workspace } = await this.deps.ports.workspaces.create({ jobId: this.jobId, signal });
    this.held = { workspace, commit: undefined };
    return workspace;
  }

  /** Records that the held workspace is now at `commit` (after a push). */
  movedTo(commit: string): void {
    if (this.held) this.held.commit = commit;
  }

  /** A workspace at `commit` of `repo`, with the manifest it holds. */
  async at(options: {
    repo: RepoRef;
    commit: string;
    signal: AbortSignal;
    report: ProgressReporter;
  }): Promise<{ workspace: Workspace; manifest: TemplateManifest }> {
    const { repos, templates } = this.deps.ports;
    const { signal } = options;
    let workspace = this.held?.commit === options.commit ? this.held.workspace : undefined;
    if (!workspace) {
      workspace = await this.fresh(signal);
      const { commit } = await repos.checkout({
        repo: options.repo,
        workspace,
        commit: options.commit,
        signal,
      });
      this.movedTo(commit);
      options.report.log(`Checked out ${commit.slice(0, 7)} from ${options.repo.fullName}`);
    }
    const { manifest } = await templates.readManifest({ workspace, signal });
    return { workspace, manifest };
  }

  async dispose(): Promise<void> {
    if (!this.held) return;
    const { workspace } = this.held;
    this.held = undefined;
    await this.deps.ports.workspaces.dispose({ workspace });
  }
}
