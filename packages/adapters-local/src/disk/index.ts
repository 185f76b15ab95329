// The embedded defaults that work on the local disk: workspaces, templates, git repositories, the builder.
export { createDiskBuildOutputs, type DiskBuildOutputsSettings } from './build-outputs.js';
export { assertRepoName, createGitRepoHost, type GitRepoHostSettings } from './git-repo-host.js';
export {
  BUILD_COMMANDS,
  createProcessBuilder,
  DEFAULT_BUILD_OUTPUT_BYTES,
  DEFAULT_BUILD_TIMEOUT_MS,
  type ProcessBuilderSettings,
} from './process-builder.js';
export {
  assertTemplateName,
  createLocalTemplateSource,
  type LocalTemplateSourceSettings,
} from './template-source.js';
export {
  createDiskWorkspaceProvider,
  type DiskWorkspaceProviderSettings,
} from './workspace-provider.js';
