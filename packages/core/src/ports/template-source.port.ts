import type { TemplateManifest } from '../domain/template.js';
import type { Workspace } from './workspace.port.js';

/** Where MVP templates come from (a local folder, a git repository). */
export interface TemplateSource {
  readonly specificationVersion: 'v1';
  /**
   * Writes the template's files (no VCS metadata) into the empty workspace and returns its
   * manifest. `ref` names what was copied (a commit, or a content digest).
   * Errors: NotFoundError for an unknown template, ValidationError for a bad manifest.
   */
  fetchTemplate(options: {
    template: string;
    workspace: Workspace;
    signal?: AbortSignal;
  }): Promise<{ manifest: TemplateManifest; ref: string }>;
  /** The manifest of the template checked out in the workspace (e.g. after a resumed job's clone). */
  readManifest(options: {
    workspace: Workspace;
    signal?: AbortSignal;
  }): Promise<{ manifest: TemplateManifest }>;
}
