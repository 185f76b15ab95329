export {
  type FetchLike,
  formatWait,
  retryAfterMs,
  type SleepLike,
  VercelApiFailure,
  type VercelErrorBody,
} from './api.js';
export { type HashExclusions, type HashedSite, hashSite, type SiteFile } from './files.js';
export {
  DEFAULT_NODE_VERSION,
  RESERVED_ENV,
  type SecretStore,
  type SourceApp,
  shellJoin,
  sourceAppOf,
} from './source.js';
export {
  createVercelDeployer,
  DEFAULT_VERCEL_API_URL,
  PROTECTION_BYPASS_HEADER,
  STATIC_PROJECT_SETTINGS,
  type VercelDeployerDeps,
  type VercelDeployerSettings,
  type VercelDeployment,
  type VercelProject,
  type VercelProjectSettings,
  type VercelReadyState,
} from './vercel-deployer.js';
