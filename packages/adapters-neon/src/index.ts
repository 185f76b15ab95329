// The Neon DatabaseProvisioner: one Neon project per MVP, through Neon's API v2.
export {
  createNeonApi,
  DEFAULT_NEON_API_URL,
  type FetchLike,
  type NeonApi,
  type NeonErrorBody,
  type NeonOperation,
  retryAfterMs,
  type SleepLike,
} from './api.js';
export { createNeonProvisioner, NEON_PROVIDER, type NeonProvisionerSettings } from './neon-provisioner.js';
