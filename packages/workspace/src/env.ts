import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Names that carry secrets by convention; such variables never reach a command we run. */
const SECRET_NAME = /(^|_)(TOKEN|KEY|SECRET|SECRETS|PASSWORD|PASSWD|PASS|CREDENTIALS?|AUTH)(_|$)|^AWS_/i;
/** A URL with `user:password@` in it. */
const CREDENTIAL_URL = /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]*@/i;

/** Whether an environment variable looks like a secret (by its name, or a URL with credentials). */
export function isSecretVariable(name: string, value: string): boolean {
  return SECRET_NAME.test(name) || CREDENTIAL_URL.test(value);
}

let home: string | undefined;
/** The HOME commands get: a private directory of ours, never the user's (no ~/.npmrc, ~/.ssh, ~/.aws). */
function commandHome(): string {
  if (!home) {
    home = path.join(os.tmpdir(), `mvp-pipeline-home-${process.getuid?.() ?? 'user'}`);
    mkdirSync(home, { recursive: true, mode: 0o700 });
  }
  return home;
}

/**
 * The environment for commands we run: PATH (the parent's), HOME (a private directory we choose),
 * LANG, TZ, NODE_ENV=production, plus `extra`. Nothing else of the parent's environment is passed,
 * so none of its secrets are; entries of `extra` that look like secrets (`*_TOKEN`, `*_KEY`,
 * `*_SECRET`, `AWS_*`, URLs with credentials …) are dropped as well.
 */
export function safeEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env['PATH'] || '/usr/local/bin:/usr/bin:/bin',
    HOME: commandHome(),
    LANG: 'C.UTF-8',
    TZ: 'UTC',
    NODE_ENV: 'production',
  };
  for (const [name, value] of Object.entries(extra)) {
    if (typeof value === 'string' && !isSecretVariable(name, value)) env[name] = value;
  }
  return env;
}

/** The values of the parent's secret-looking variables, for redacting command output. */
export function parentSecrets(): string[] {
  return Object.entries(process.env)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    .filter(([name, value]) => isSecretVariable(name, value))
    .map(([, value]) => value);
}
