// The home page is the landing template's own rendering (landing/page.mjs, copied in from
// templates/landing/src), its calls to action pointing at this app's features.

import { homeActions } from '@/lib/generated/nav';
import { renderPage } from '../landing/page.mjs';
import spec from '../landing/site.json';

export const dynamic = 'force-static';

export function GET() {
  const html = renderPage(spec, { actions: homeActions, stylesheet: '/style.css' }) as string;
  return new Response(html, { headers: { 'content-type': 'text/html; charset=utf-8' } });
}
