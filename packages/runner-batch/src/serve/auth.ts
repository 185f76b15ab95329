import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '@mvp-pipeline/core';
import { header, json } from '../http/status-api.js';
import type { HttpRequest, HttpResponse } from '../http/types.js';

/** The cookie the dashboard keeps its token in, once opened with `?token=`. */
export const TOKEN_COOKIE = 'mvp_token';
const MIN_TOKEN_LENGTH = 16;

/** Whether `host` names this machine only (the default bind). */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}

/**
 * The token a server bound at `host` needs: off loopback one is required (and must be long
 * enough to resist guessing); on loopback it is optional. The value is never echoed.
 */
export function requiredToken(host: string, token: string | undefined): string | undefined {
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    throw new ConfigError('MVP_SERVE_TOKEN', `must be at least ${MIN_TOKEN_LENGTH} characters`);
  }
  if (token === undefined && !isLoopback(host)) {
    throw new ConfigError(
      'MVP_SERVE_TOKEN',
      `is required when mvp serve listens on ${host} (beyond this machine); or bind --host 127.0.0.1`,
    );
  }
  return token;
}

const digest = (value: string) => createHash('sha256').update(value).digest();
const same = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

function cookie(request: HttpRequest, name: string): string | undefined {
  for (const part of (header(request, 'cookie') ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

export interface Gate {
  /** An answer that stops the request (401, 403, the redirect that sets the cookie), or undefined to go on. */
  check(request: HttpRequest): HttpResponse | undefined;
}

/**
 * The server's front door:
 * - the Host header must name this server when it is bound to loopback (a page elsewhere cannot
 *   reach it by pointing a DNS name at 127.0.0.1);
 * - a POST must come from a page of this server when the browser says where it comes from;
 * - with a token, every request but the published sites carries it: `Authorization: Bearer …`,
 *   or the cookie the server sets when a page is opened once with `?token=…` (then redirected
 *   to the same page without it, so it does not stay in the address bar or history).
 */
export function createGate(settings: { host: string; token: string | undefined }): Gate {
  const { token } = settings;
  const loopback = isLoopback(settings.host);
  return {
    check(request) {
      const host = header(request, 'host') ?? '';
      const hostname = host.replace(/:\d+$/, '');
      if (loopback && !isLoopback(hostname)) return json(403, { error: `Unexpected Host ${hostname}` });
      const origin = header(request, 'origin');
      if (request.method.toUpperCase() === 'POST' && origin !== undefined) {
        let ok = false;
        try {
          ok = new URL(origin).host === host;
        } catch {
          ok = false;
        }
        if (!ok) return json(403, { error: 'Requests from other sites are not accepted' });
      }
      if (token === undefined || request.path.startsWith('/sites/')) return undefined;
      const bearer = /^Bearer\s+(.+)$/i.exec(header(request, 'authorization') ?? '')?.[1]?.trim();
      if (bearer !== undefined && same(bearer, token)) return undefined;
      const kept = cookie(request, TOKEN_COOKIE);
      if (kept !== undefined && same(kept, token)) return undefined;
      const offered = request.query['token'];
      if (offered !== undefined && request.method.toUpperCase() === 'GET' && same(offered, token)) {
        const rest = Object.entries(request.query).filter(
          ([key, value]) => key !== 'token' && value !== undefined,
        );
        const search = rest.length ? `?${new URLSearchParams(rest as [string, string][]).toString()}` : '';
        return {
          status: 303,
          headers: {
            location: `${request.path}${search}`,
            'set-cookie': `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
            'cache-control': 'no-store',
          },
        };
      }
      return json(
        401,
        {
          error:
            'This server needs its token: open the page once with ?token=…, or send Authorization: Bearer …',
        },
        { 'www-authenticate': 'Bearer' },
      );
    },
  };
}
