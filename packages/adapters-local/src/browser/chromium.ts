import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';

/** Where Debian, Ubuntu and Chrome installs put the browser, in the order they are tried. */
export const CHROMIUM_CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
];

/**
 * The flags every headless launch uses: no sandbox (containers lack the namespaces), no GPU, and
 * none of the background traffic (updates, sync, QUIC probes) a check must not depend on.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * The Chromium executable to drive: `preferred` when it exists, otherwise the first installed
 * candidate; undefined when there is none.
 */
export function findChromium(preferred?: string): string | undefined {
  if (preferred !== undefined) return existsSync(preferred) ? preferred : undefined;
  return CHROMIUM_CANDIDATES.find((candidate) => existsSync(candidate));
}

export interface ChromiumSession {
  context: BrowserContext;
  /** Closes the browser and removes its profile folder. Safe to call twice. */
  close(): Promise<void>;
}

export interface LaunchChromiumOptions {
  executablePath: string;
  /** How long the launch may take, in milliseconds. Default 60 000. */
  timeoutMs?: number;
  viewport?: { width: number; height: number };
  /** Basic-auth credentials for the pages loaded (kept out of the URL, so they are never shown). */
  httpCredentials?: { username: string; password: string };
}

/**
 * Starts headless Chromium with a fresh, throw-away profile (a new user-data-dir per launch, so
 * no state leaks between checks or tests). playwright-core is loaded only here, on first use, so
 * processes that never open a browser do not pay for it.
 */
export async function launchChromium(options: LaunchChromiumOptions): Promise<ChromiumSession> {
  const { chromium } = await import('playwright-core');
  const profile = await mkdtemp(path.join(tmpdir(), 'mvp-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: options.executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: options.timeoutMs ?? 60_000,
      ...(options.viewport ? { viewport: options.viewport } : {}),
      ...(options.httpCredentials ? { httpCredentials: options.httpCredentials } : {}),
    });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
  let closed: Promise<void> | undefined;
  return {
    context,
    close() {
      closed ??= context
        .close()
        .catch(() => undefined)
        .then(() => rm(profile, { recursive: true, force: true, maxRetries: 3 }));
      return closed;
    },
  };
}
