/** A directory the job owns while a runner works on it. Generator, builder and deployer share it. */
export interface Workspace {
  jobId: string;
  /** Absolute path of the directory. Nothing of the job is written outside it. */
  dir: string;
}

/** Hands out empty workspaces and removes them. */
export interface WorkspaceProvider {
  readonly specificationVersion: 'v1';
  /** A new, empty directory for the job. */
  create(options: { jobId: string; signal?: AbortSignal }): Promise<{ workspace: Workspace }>;
  /**
   * A digest per file of `paths` (workspace-relative; a path ending in `/` is every file under
   * that folder), keyed by path; a missing file is absent. The core compares the template's
   * protected files before and after a generator's session with it. Optional: without it
   * protected files are not checked.
   */
  digest?(options: { workspace: Workspace; paths: readonly string[] }): Promise<Record<string, string>>;
  /** Removes the directory and everything in it. Disposing twice is harmless. */
  dispose(options: { workspace: Workspace }): Promise<void>;
}
