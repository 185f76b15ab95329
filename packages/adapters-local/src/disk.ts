// The embedded defaults that work on the local disk: workspaces, templates, git repositories, the builder.
export { createDiskBuildOutputs, type DiskBuildOutputsSettings } from './disk/build-outputs.js';
export { assertRepoName, createGitRepoHost, type GitRepoHostSettings } from './disk/git-repo-host.js';
export {
  BUILD_COMMANDS,
  createProcessBuilder,
  DEFAULT_BUILD_OUTPUT_BYTES,
  DEFAULT_BUILD_TIMEOUT_MS,
  type ProcessBuilderSettings,
} from './disk/process-builder.js';
export {
  assertTemplateName,
  createLocalTemplateSource,
  type LocalTemplateSourceSettings,
} from './disk/template-source.js';
export {
  createDiskWorkspaceProvider,
  type DiskWorkspaceProviderSettings,
} from './disk/workspace-provider.js';
