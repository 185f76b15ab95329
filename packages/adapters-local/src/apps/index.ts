// Built server apps on this machine: starting one and claiming its owner (shared with the journey
// checker), the local deployer of server apps, and the host that serves them on demand.

export {
  appDeploymentId,
  createLocalAppDeployer,
  type LocalAppDeployer,
  type LocalAppDeployerSettings,
} from './app-deployer.js';
export { type AppHost, type AppHostSettings, createAppHost, type HostedAppState } from './app-host.js';
export { type PublishCounts, publishApp } from './publish.js';
export {
  type ClaimOutcome,
  claimOwner,
  type RunningApp,
  type ServerAppManifest,
  type StartServerAppOptions,
  serverAppOf,
  startServerApp,
} from './server-app.js';
export { type AppSite, DEFAULT_PORT_RANGE, type PortRange, readSites, type SitesFile } from './sites.js';
