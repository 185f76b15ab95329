/**
 * The build outputs this machine keeps between runs of a job, keyed by (jobId, commit), so a job
 * resumed at DEPLOYING on the machine that built it deploys that output instead of building
 * again. Optional in the pipeline: without it, a resumed job rebuilds its commit once.
 *
 * Errors: TransientError for the machine's own hiccups; `find` never throws for a missing output.
 */
export interface BuildOutputStore {
  readonly specificationVersion: 'v1';
  /**
   * Keeps a copy of the build output at `outputDir` as the output of (jobId, commit) and returns
   * where it is kept. Keeping the same (jobId, commit) again replaces it. A `.git` folder is
   * never kept; files that are hard links (dependencies shared from the machine's cache) may be
   * kept as links.
   */
  keep(options: {
    jobId: string;
    commit: string;
    outputDir: string;
    /** Folders of the output, relative to it, that are not kept (a build cache). */
    exclude?: readonly string[];
    signal?: AbortSignal;
  }): Promise<{ outputDir: string }>;
  /** Where the output of (jobId, commit) is kept on this machine, or `undefined`. */
  find(options: { jobId: string; commit: string; signal?: AbortSignal }): Promise<{ outputDir?: string }>;
  /** Removes every output kept for the job (it has ended). Harmless when there is none. */
  discard(options: { jobId: string }): Promise<void>;
}
