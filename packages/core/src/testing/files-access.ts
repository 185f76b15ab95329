import type { Workspace } from '../ports/workspace.port.js';

/**
 * How a contract suite reaches the files of a workspace. Disk adapters use the disk; the
 * in-memory fakes use their virtual file tree.
 */
export interface FilesAccess {
  newWorkspace(jobId?: string): Promise<Workspace>;
  write(workspace: Workspace, path: string, content: string): Promise<void>;
  /** The file's text, or undefined when it does not exist. */
  read(workspace: Workspace, path: string): Promise<string | undefined>;
  remove(workspace: Workspace, path: string): Promise<void>;
  /** Workspace-relative paths of every file (VCS metadata excluded), sorted. */
  list(workspace: Workspace): Promise<string[]>;
}
