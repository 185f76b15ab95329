// Running built server apps: starting one and claiming its owner (shared with the journey checker).
export {
  type ClaimOutcome,
  claimOwner,
  type RunningApp,
  type ServerAppManifest,
  type StartServerAppOptions,
  serverAppOf,
  startServerApp,
} from './server-app.js';
