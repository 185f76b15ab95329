import { createHash } from 'node:crypto';
import type { HttpResponse } from '../http/types.js';
import { DASHBOARD_CSS } from './dashboard-css.js';
import { DASHBOARD_JS } from './dashboard-js.js';

const version = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 10);
const CSS_PATH = `/assets/app.${version(DASHBOARD_CSS)}.css`;
const JS_PATH = `/assets/app.${version(DASHBOARD_JS)}.js`;

const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#4f46e5"/><path d="M16 6l8 10-8 10-8-10z" fill="#fff"/></svg>`;

/** The page: a static shell the script fills in. Nothing from a job or a spec is in it. */
const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="color-scheme" content="light dark">
<title>MVP Pipeline</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${CSS_PATH}">
<script src="${JS_PATH}" defer></script>
</head>
<body>
<header class="top"><div class="top-inner">
  <a class="brand" href="/" data-nav><span class="logo" aria-hidden="true">◆</span><span>MVP Pipeline</span></a>
  <span id="conn" class="conn" aria-live="polite"></span>
</div></header>
<main>
  <section id="list-view" class="grid" hidden>
    <div class="card">
      <div class="list-head"><h2>Jobs</h2><select id="user-filter" aria-label="Show the jobs of" hidden></select></div>
      <ul id="jobs" class="jobs"></ul>
      <p id="no-jobs" class="empty" hidden>No jobs yet. Describe a product to build its MVP.</p>
      <div class="actions"><button id="more" type="button" class="secondary" hidden>Load more</button></div>
    </div>
    <div class="stack">
      <form id="submit-form" class="card" novalidate>
        <h2>New MVP</h2>
        <label for="spec">Product spec <span class="hint">(JSON: user, product, specifications)</span></label>
        <textarea id="spec" name="spec" rows="9" spellcheck="false" autocomplete="off" placeholder='{ "user": { "id": …, "email": … }, "product": { "id": …, "name": … } }'></textarea>
        <details>
          <summary>…or a product the spec source already holds</summary>
          <div class="pair">
            <input id="user-id" name="userId" placeholder="User id" autocomplete="off" aria-label="User id">
            <input id="product-id" name="productId" placeholder="Product id" autocomplete="off" aria-label="Product id">
          </div>
        </details>
        <div class="actions">
          <button id="submit" type="submit">Build the MVP</button>
          <button id="example" type="button" class="secondary">Use an example</button>
        </div>
        <div id="form-error" class="form-error" role="alert"></div>
      </form>
    </div>
  </section>

  <section id="job-view" class="job-view" hidden>
    <a class="back" href="/" data-nav>← All jobs</a>
    <div class="card job-head">
      <h1 id="job-name"></h1>
      <div class="meta"><span id="job-status" class="badge"></span><span id="job-created"></span><code id="job-id"></code></div>
      <div class="progress"><div id="bar" class="bar"><span id="bar-fill"></span></div><span id="pct" class="pct">0%</span></div>
      <div id="links" class="links"></div>
      <div id="paths"></div>
    </div>
    <div class="grid">
      <div class="card"><h2>Steps</h2><ol id="steps" class="steps"></ol></div>
      <div class="card"><h2>Usage</h2><dl id="usage" class="usage"></dl></div>
    </div>
    <div id="errors-card" class="card errors" hidden><h2>Errors</h2><ul id="errors"></ul></div>
    <div class="card"><h2>Log</h2><p id="log-empty" class="empty">Nothing logged yet.</p><ol id="log" class="log" aria-live="polite"></ol></div>
  </section>
</main>
</body>
</html>
`;

/** Only the page's own script and stylesheet run; it talks to this server only; no one frames it. */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const asset = (type: string, body: string, immutable: boolean): HttpResponse => ({
  status: 200,
  headers: {
    'content-type': type,
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    ...PAGE_HEADERS,
  },
  body,
});

/**
 * The dashboard's own paths: the page at `/` and `/jobs/<id>` (the script tells them apart),
 * its stylesheet and script under `/assets/` (named by content, so cached for good), and the icon.
 * Undefined for any other path.
 */
export function dashboardResponse(method: string, path: string): HttpResponse | undefined {
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  if (path === '/' || /^\/jobs\/[^/]+\/?$/.test(path)) return asset('text/html; charset=utf-8', HTML, false);
  if (path === CSS_PATH) return asset('text/css; charset=utf-8', DASHBOARD_CSS, true);
  if (path === JS_PATH) return asset('text/javascript; charset=utf-8', DASHBOARD_JS, true);
  if (path === '/favicon.svg') return asset('image/svg+xml', ICON, false);
  if (path === '/favicon.ico') return { status: 204, headers: { 'cache-control': 'public, max-age=86400' } };
  return undefined;
}
