import type { PageOutline } from '@mvp-pipeline/core';
import type { BrowserContext } from 'playwright-core';

/** Most pages outlined per check, and most items kept per list: a short read for a generator. */
const MAX_PAGES = 20;

// Runs in the page (a string, so no DOM types are needed here): headings, forms, buttons, links.
const OUTLINE_SCRIPT = `(() => {
  const text = (el) => (el.innerText || el.textContent || el.value || '').replace(/\\s+/g, ' ').trim().slice(0, 80);
  const label = (el) => (el.labels && el.labels[0] ? text(el.labels[0]) : el.getAttribute('aria-label') || el.name);
  const headings = [...document.querySelectorAll('h1, h2, h3')].slice(0, 12).map((h) => h.tagName.toLowerCase() + ': ' + text(h));
  const forms = [...document.forms].slice(0, 6).map((form) => {
    const fields = [...form.elements]
      .filter((el) => el.name && el.type !== 'hidden' && el.type !== 'submit' && el.tagName !== 'BUTTON')
      .map((el) => label(el) + ' (' + (el.type || el.tagName.toLowerCase()) + (el.required ? ', required' : '') + ')');
    const submit = form.querySelector('button[type=submit], button:not([type]), input[type=submit]');
    return (fields.join(', ') || 'no fields') + (submit ? ' → [' + text(submit) + ']' : '');
  });
  const buttons = [...document.querySelectorAll('button')].filter((b) => !b.form).slice(0, 10).map(text);
  const links = [...document.querySelectorAll('a[href]')].slice(0, 15).map((a) => text(a) + ' → ' + a.getAttribute('href'));
  return { title: document.title, headings, forms, buttons, links };
})()`;

/**
 * Opens each path again, as the actor who first visited it (their session, their rights), and
 * says what it shows. Problems are the console errors, script errors and failed requests seen
 * on that visit. Never throws: a page that cannot be opened is an outline saying so.
 */
export async function outlinePages(
  visits: ReadonlyArray<{ path: string; context: BrowserContext }>,
): Promise<PageOutline[]> {
  const seen = new Set<string>();
  const outlines: PageOutline[] = [];
  for (const { path, context } of visits) {
    if (seen.has(path) || outlines.length >= MAX_PAGES) continue;
    seen.add(path);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text().slice(0, 300)}`);
    });
    page.on('pageerror', (e) => problems.push(`script error: ${e.message.slice(0, 300)}`));
    page.on('response', (r) => {
      if (r.status() >= 400 && r.request().resourceType() !== 'document')
        problems.push(`${r.request().method()} ${new URL(r.url()).pathname} answered ${r.status()}`);
    });
    try {
      const response = await page.goto(path);
      const shown = (await page.evaluate(OUTLINE_SCRIPT)) as Omit<PageOutline, 'path' | 'problems'>;
      outlines.push({ path, ...(response ? { status: response.status() } : {}), ...shown, problems });
    } catch (error) {
      const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
      outlines.push({
        path,
        title: '',
        headings: [],
        forms: [],
        buttons: [],
        links: [],
        problems: [...problems, `could not be opened: ${reason.slice(0, 300)}`],
      });
    } finally {
      await page.close().catch(() => undefined);
    }
  }
  return outlines;
}
