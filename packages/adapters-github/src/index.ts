// GitHub adapters: the RepoHost on Octokit and isomorphic-git, and the git template source.
export { fromGitError, fromRestError, isNameTaken, rateLimitWaitMs } from './errors.js';
export { createFetchGitHttp } from './git-http.js';
export type { Sleep } from './git-ops.js';
export { belongsToJob, describeRepo, jobMarker, parseRepoSpec, type RepoSpec } from './names.js';
export type { LogLine } from './octokit.js';
export { createGitHubRepoHost, type GitHubRepoHostDeps, type GitHubRepoHostSettings } from './repo-host.js';
export {
  createGitTemplateSource,
  type GitTemplateSourceDeps,
  type GitTemplateSourceSettings,
} from './template-source.js';
