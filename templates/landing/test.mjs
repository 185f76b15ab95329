// Checks the built page against src/site.json: it exists, names the product, has one section per
// key feature, and carries no script, event handler or javascript: URL (spec text is escaped).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { contentOf, escapeHtml } from './src/page.mjs';

const root = dirname(fileURLToPath(import.meta.url));
const failures = [];
const check = (ok, message) => {
  if (!ok) failures.push(message);
};

const indexFile = join(root, 'dist', 'index.html');
if (!existsSync(indexFile)) {
  console.error('test: dist/index.html is missing: run `node build.mjs` first');
  process.exit(1);
}
const page = readFileSync(indexFile, 'utf8');
const content = contentOf(JSON.parse(readFileSync(join(root, 'src', 'site.json'), 'utf8')));
const name = escapeHtml(content.name);

check(page.startsWith('<!doctype html>'), 'the page does not start with <!doctype html>');
check(existsSync(join(root, 'dist', 'style.css')), 'dist/style.css is missing');
check(page.includes(`<title>${name}`), 'the <title> does not name the product');
check(new RegExp(`<h1[^>]*>${escapeRegExp(name)}</h1>`).test(page), 'the <h1> does not name the product');

const sections = page.match(/<section class="feature"/g) ?? [];
check(
  sections.length === content.features.length,
  `expected ${content.features.length} feature sections, found ${sections.length}`,
);
for (const feature of content.features) {
  check(page.includes(`>${escapeHtml(feature)}</h3>`), `no section for the feature "${feature}"`);
}

check(!/<script/i.test(page), 'the page contains a <script> tag');
// Every tag, with its attributes parsed: no event handler, no javascript: URL.
const TAG = /<([a-z][a-z0-9-]*)((?:\s+[^\s"'=<>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*\/?>/gi;
const ATTRIBUTE = /([^\s"'=<>/]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?/g;
for (const [, tag, attributes] of page.matchAll(TAG)) {
  for (const [, attribute, value = ''] of attributes.matchAll(ATTRIBUTE)) {
    check(!/^on/i.test(attribute), `<${tag}> has an event-handler attribute ${attribute}`);
    check(!/^["']?\s*javascript:/i.test(value), `<${tag}> has a javascript: URL`);
  }
}
// Outside tags, comments and the doctype, no "<" is left: all spec text came out escaped.
const stray = page
  .replace(TAG, '')
  .replace(/<\/[a-z][a-z0-9-]*>/gi, '')
  .replace(/<!doctype html>/i, '');
check(
  !stray.includes('<'),
  `unescaped "<" in the page: ${stray.slice(stray.indexOf('<'), stray.indexOf('<') + 40)}`,
);

if (failures.length) {
  for (const failure of failures) console.error(`test: FAIL ${failure}`);
  process.exit(1);
}
console.log(`test: ok (${content.features.length} feature sections, names "${content.name}")`);

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
