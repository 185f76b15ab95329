import { ConfigError } from '@mvp-pipeline/core';
import type { VercelDeployerSettings } from './vercel-deployer.js';

/**
 * Reads VERCEL_TOKEN (required), VERCEL_TEAM_ID and VERCEL_API_URL. A missing or malformed
 * value is a ConfigError naming the variable, never its value.
 */
export function vercelSettingsFromEnv(
  env: Record<string, string | undefined> = process.env,
): VercelDeployerSettings {
  const token = env.VERCEL_TOKEN?.trim();
  if (!token) throw new ConfigError('VERCEL_TOKEN', 'is required to deploy on Vercel');
  const apiUrl = env.VERCEL_API_URL?.trim() || undefined;
  if (apiUrl) {
    let protocol: string;
    try {
      protocol = new URL(apiUrl).protocol;
    } catch {
      throw new ConfigError('VERCEL_API_URL', 'is not a URL (expected e.g. https://api.vercel.com)');
    }
    if (protocol !== 'https:' && protocol !== 'http:') {
      throw new ConfigError('VERCEL_API_URL', 'must be an http(s) URL');
    }
  }
  const teamId = env.VERCEL_TEAM_ID?.trim() || undefined;
  return { token, ...(teamId ? { teamId } : {}), ...(apiUrl ? { apiUrl } : {}) };
}
