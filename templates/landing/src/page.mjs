// The landing page as one HTML string. Every value from the spec goes through `html`, which
// escapes it for text and double-quoted attributes alike: a spec can never add markup or script.
import { themeOf } from './theme.mjs';

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

/** Text made safe for HTML text and double-quoted attribute values. */
export function escapeHtml(value) {
  return String(value)
    .replace(CONTROL, '')
    .replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

class Raw {
  constructor(value) {
    this.value = value;
  }
}

/** Markup written by this template (never by the spec). */
const raw = (value) => new Raw(value);

/** A template literal whose interpolations are escaped unless they are `raw` or `html` results. */
function html(strings, ...values) {
  let out = strings[0];
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1];
  });
  return raw(out);
}

function render(value) {
  if (value instanceof Raw) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(value);
}

/** A string with its whitespace trimmed, or undefined when there is no text. */
const text = (value) =>
  typeof value === 'string' && value.trim() ? value.replace(/\r\n?/g, '\n').trim() : undefined;
const oneLine = (value) => value.replace(/\s+/g, ' ');

/** What the page shows, read defensively from a spec (any field may be missing or malformed). */
export function contentOf(spec) {
  const product = spec?.product ?? {};
  const user = spec?.user ?? {};
  const specs = spec?.specifications ?? {};
  const name = text(product.name);
  const company = text(user.companyName);
  const eyebrow = [user.industry, user.businessType].map(text).filter(Boolean).map(oneLine);
  return {
    name: name ? oneLine(name) : 'Untitled product',
    tagline: text(product.tagline),
    description: text(product.description),
    audience: text(specs.targetAudience) ?? text(user.targetMarket),
    features: (Array.isArray(specs.keyFeatures) ? specs.keyFeatures : [])
      .map(text)
      .filter(Boolean)
      .map(oneLine),
    company: company ? oneLine(company) : undefined,
    eyebrow: eyebrow.length ? eyebrow.join(' · ') : 'Early access',
    cta: callToAction(specs.customizations ?? {}),
  };
}

/** `customizations.ctaUrl` (http, https or mailto only) and `ctaLabel`; the page's own section otherwise. */
function callToAction(custom) {
  const label = text(custom.ctaLabel);
  let url;
  try {
    const parsed = new URL(String(custom.ctaUrl ?? ''));
    if (['http:', 'https:', 'mailto:'].includes(parsed.protocol)) url = parsed.href;
  } catch {
    url = undefined;
  }
  return { label: label ? oneLine(label).slice(0, 40) : url ? 'Get early access' : 'Get started', url };
}

/** Same-site links only (`/path`), so an app can point the calls to action at its own pages. */
function actionsOf(options) {
  const list = Array.isArray(options?.actions) ? options.actions : [];
  return list
    .filter((a) => typeof a?.href === 'string' && /^\/(?![/\\])/.test(a.href) && text(a.label))
    .slice(0, 4)
    .map((a) => ({ href: a.href, label: oneLine(text(a.label)).slice(0, 40) }));
}

/**
 * The whole page for `spec`. Pure and deterministic. `options.actions` (`[{ label, href: '/…' }]`)
 * turns the calls to action into links to an app's own pages (the `app` template's features);
 * `options.stylesheet` is the stylesheet's URL (default `style.css`).
 */
export function renderPage(spec, options = {}) {
  const c = contentOf(spec);
  const actions = actionsOf(options);
  const stylesheet = typeof options.stylesheet === 'string' ? options.stylesheet : 'style.css';
  const theme = themeOf(spec);
  const summary = oneLine(c.tagline ?? c.description ?? `${c.name} is on its way.`);
  const title = c.tagline ? `${c.name} — ${oneLine(c.tagline)}` : c.name;
  const nameSize = c.name.length > 70 ? 'very-long' : c.name.length > 28 ? 'long' : '';
  const nav = [
    c.description && html`<li><a href="#about">About</a></li>`,
    c.features.length > 0 && html`<li><a href="#features">Features</a></li>`,
    c.audience && html`<li><a href="#audience">Who it’s for</a></li>`,
  ];

  return `<!doctype html>
${render(html`<html lang="en" data-theme="${theme.mode}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<meta name="description" content="${truncate(summary, 160)}">
<meta name="color-scheme" content="${theme.mode === 'auto' ? 'light dark' : theme.mode}">
<meta name="theme-color" content="${theme.brandHex}">
<link rel="icon" href="${favicon(theme.brandHex)}">
<link rel="stylesheet" href="${stylesheet}">
<style>${raw(cssVariables(theme.vars))}</style>
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="site-header">
  <div class="container header-inner">
    <a class="brand" href="#top"><span class="brand-mark" aria-hidden="true">${initial(c.name)}</span><span class="brand-name" dir="auto">${c.name}</span></a>
    <nav aria-label="Sections"><ul>${nav}</ul></nav>
    ${actions.length > 0 ? html`<a class="button button-small" href="${actions[0].href}">${actions[0].label}</a>` : html`<a class="button button-small" href="#get-started">${c.cta.label}</a>`}
  </div>
</header>
<main id="main">
  <section class="hero" id="top" aria-labelledby="hero-title">
    <div class="container hero-inner">
      <p class="eyebrow" dir="auto">${c.eyebrow}</p>
      <h1 id="hero-title" class="${nameSize}" dir="auto">${c.name}</h1>
      <p class="tagline" dir="auto">${c.tagline ?? `${c.name} is on its way.`}</p>
      <div class="actions">
        ${actions.length > 0 ? html`<a class="button" href="${actions[0].href}">${actions[0].label}</a>` : html`<a class="button" href="#get-started">${c.cta.label}</a>`}
        ${c.features.length > 0 && html`<a class="button button-ghost" href="#features">See features</a>`}
      </div>
    </div>
  </section>
${c.description && aboutSection(c)}${c.features.length > 0 && featuresSection(c)}${c.audience && audienceSection(c)}  <section class="section cta" id="get-started" aria-labelledby="cta-title">
    <div class="container">
      <div class="cta-panel">
        <h2 id="cta-title" dir="auto">${c.name.length > 40 ? 'Get started' : `Get started with ${c.name}`}</h2>
        <p dir="auto">${c.name} is in early access. Be among the first to try it.</p>
        ${actions.length > 0 ? html`<div class="actions">${actions.map((a) => html`<a class="button button-inverse" href="${a.href}">${a.label}</a>`)}</div>` : c.cta.url ? html`<a class="button button-inverse" href="${c.cta.url}" dir="auto">${c.cta.label}</a>` : html`<a class="button button-inverse" href="#top">Back to top</a>`}
      </div>
    </div>
  </section>
</main>
<footer class="site-footer">
  <div class="container footer-inner">
    <p dir="auto">© ${c.company ?? c.name}</p>
    <p dir="auto">${summary.length > 120 ? c.name : summary}</p>
  </div>
</footer>
</body>
</html>
`)}`;
}

function aboutSection(c) {
  return html`  <section class="section about" id="about" aria-labelledby="about-title">
    <div class="container narrow">
      <p class="kicker">About</p>
      <h2 id="about-title" dir="auto">${c.name.length > 40 ? 'What it does' : `What ${c.name} does`}</h2>
      ${paragraphs(c.description, 'lead')}
    </div>
  </section>
`;
}

function featuresSection(c) {
  const cards = c.features.map(
    (feature, i) => html`
        <section class="feature" id="feature-${i + 1}" aria-labelledby="feature-${i + 1}-title">
          <span class="feature-index" aria-hidden="true">${String(i + 1).padStart(2, '0')}</span>
          <h3 id="feature-${i + 1}-title" dir="auto">${feature}</h3>
        </section>`,
  );
  return html`  <section class="section features" id="features" aria-labelledby="features-title">
    <div class="container">
      <p class="kicker">Features</p>
      <h2 id="features-title">Everything you need to start</h2>
      <div class="feature-grid">${cards}
      </div>
    </div>
  </section>
`;
}

function audienceSection(c) {
  return html`  <section class="section audience" id="audience" aria-labelledby="audience-title">
    <div class="container narrow">
      <p class="kicker">Who it’s for</p>
      <h2 id="audience-title" dir="auto">Made for people like you</h2>
      <div class="audience-card">${paragraphs(c.audience)}</div>
    </div>
  </section>
`;
}

/** Blank lines separate paragraphs; single line breaks are kept. */
function paragraphs(value, className) {
  return value
    .split(/\n\s*\n/)
    .map(
      (para) =>
        html`<p${className ? raw(` class="${className}"`) : ''} dir="auto">${para
          .split('\n')
          .map((line, i) => (i ? html`<br>${line}` : line))}</p>`,
    );
}

function cssVariables(vars) {
  const body = Object.entries(vars)
    .map(([name, value]) => `${name}:${value}`)
    .join(';');
  // The values come from validated hex colours and font names; refuse anything that could close the tag.
  if (/[<>{}\\]/.test(body)) throw new Error('Refusing unsafe theme values');
  return `:root{${body}}`;
}

function initial(name) {
  const first = new Intl.Segmenter(undefined, { granularity: 'grapheme' })
    .segment(name)
    [Symbol.iterator]()
    .next();
  return first.done ? '•' : first.value.segment.toLocaleUpperCase();
}

function truncate(value, max) {
  const chars = Array.from(value);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : value;
}

function favicon(brand) {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="16" fill="${brand}"/><circle cx="32" cy="32" r="11" fill="#fff" fill-opacity=".9"/></svg>`;
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}
