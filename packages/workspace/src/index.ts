// The job workspace on disk: confined paths, commands without a shell or secrets, git commits.
export { assertBranchName, COMMIT_AUTHOR, type CommitAllOptions, commitAll } from './commit.js';
export { isSecretVariable, safeEnv } from './env.js';
export { digestFiles, isGitPath, listFiles, resolveInside, writeFileInside } from './paths.js';
export {
  type CommandOptions,
  type CommandResult,
  DEFAULT_MAX_OUTPUT_BYTES,
  type RunCommandOptions,
  runCommand,
} from './run-command.js';
export {
  type CommandLimits,
  DEFAULT_COMMAND_LIMITS,
  openPathTo,
  type SandboxMode,
  sandboxMode,
} from './sandbox.js';
export { type StartCommandOptions, type StartedCommand, startCommand } from './start-command.js';
