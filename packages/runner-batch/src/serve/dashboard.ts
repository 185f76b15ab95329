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
        <p class="lede">Describe the product as you would to a developer; the pipeline builds it.</p>
        <div class="field">
          <label for="f-name">Product name</label>
          <input id="f-name" name="name" maxlength="120" autocomplete="off" placeholder="EventHub" aria-describedby="f-name-error">
          <p id="f-name-error" class="field-error" data-for="product.name"></p>
        </div>
        <div class="field">
          <label for="f-tagline">Tagline <span class="hint">one line</span></label>
          <input id="f-tagline" name="tagline" maxlength="300" autocomplete="off" placeholder="Run your meetup without the spreadsheet" aria-describedby="f-tagline-error">
          <p id="f-tagline-error" class="field-error" data-for="product.tagline"></p>
        </div>
        <div class="field">
          <label for="f-description">Description</label>
          <textarea id="f-description" name="description" rows="3" placeholder="What it does, for whom, and why it beats what they use today." aria-describedby="f-description-error"></textarea>
          <p id="f-description-error" class="field-error" data-for="product.description"></p>
        </div>
        <div class="field">
          <label for="f-features">Key features <span class="hint">one per line</span></label>
          <textarea id="f-features" name="keyFeatures" rows="4" placeholder="Event page with RSVP&#10;Waitlist when full&#10;Door check-in on mobile" aria-describedby="f-features-error"></textarea>
          <p id="f-features-error" class="field-error" data-for="specifications.keyFeatures"></p>
        </div>
        <div class="field">
          <label for="f-audience">Target audience</label>
          <input id="f-audience" name="targetAudience" autocomplete="off" placeholder="Meetup organisers" aria-describedby="f-audience-error">
          <p id="f-audience-error" class="field-error" data-for="specifications.targetAudience"></p>
        </div>
        <fieldset class="look">
          <legend>Look</legend>
          <label class="swatch"><input type="color" id="f-primary" name="primaryColor" value="#4f46e5"><span>Primary colour</span></label>
          <label class="swatch"><input type="color" id="f-secondary" name="secondaryColor" value="#f59e0b"><span>Secondary colour</span></label>
          <label class="check"><input type="checkbox" id="f-dark" name="darkMode"><span>Dark mode</span></label>
        </fieldset>
        <div class="field">
          <label for="f-template">What to build</label>
          <select id="f-template" name="template">
            <option value="app" selected>A working app (accounts, database)</option>
            <option value="landing">A landing page only</option>
          </select>
        </div>
        <div class="field">
          <label for="f-email">Your email <span class="hint">you will own the app</span></label>
          <input id="f-email" name="email" type="email" autocomplete="email" placeholder="you@example.com" aria-describedby="f-email-error">
          <p id="f-email-error" class="field-error" data-for="user.email"></p>
        </div>
        <details id="advanced">
          <summary>Advanced: a raw JSON spec, or a product the spec source holds</summary>
          <label for="spec" class="sub-label">Spec as JSON <span class="hint">(user, product, specifications; when filled, it is sent instead of the fields above)</span></label>
          <textarea id="spec" name="spec" class="code" rows="8" spellcheck="false" autocomplete="off" placeholder='{ "user": { "id": …, "email": … }, "product": { "id": …, "name": … } }'></textarea>
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
      <div class="meta"><span id="job-status" class="badge"></span><span id="delivery-badge" class="badge warn" hidden></span><span id="job-created"></span><code id="job-id"></code></div>
      <div class="progress"><div id="bar" class="bar"><span id="bar-fill"></span></div><span id="pct" class="pct">0%</span></div>
      <div id="links" class="links"></div>
      <div id="paths"></div>
    </div>
    <div id="delivery-card" class="card delivery" hidden>
      <h2 id="delivery-title">What it delivers</h2>
      <p id="delivery-kind" class="delivery-kind"></p>
      <ul id="features" class="features"></ul>
      <div id="journeys-block" hidden>
        <h3 id="journeys-head"></h3>
        <ul id="journeys" class="journeys"></ul>
      </div>
    </div>
    <div class="grid">
      <div class="card"><h2>Steps</h2><ol id="steps" class="steps"></ol></div>
      <div class="card"><h2>Usage</h2><dl id="usage" class="usage"></dl><p id="ai-cost" class="ai-cost" hidden></p><table id="ai-rounds" class="ai-rounds" hidden></table></div>
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
