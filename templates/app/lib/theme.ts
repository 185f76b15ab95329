// The product's look, from the same spec and theme code the landing page uses.

import { contentOf } from '../landing/page.mjs';
import spec from '../landing/site.json';
import { themeOf } from '../landing/theme.mjs';

export const productSpec = spec as Record<string, unknown>;
export const product = contentOf(productSpec) as { name: string; tagline?: string; company?: string };
const theme = themeOf(productSpec) as { mode: string; vars: Record<string, string> };
export const themeMode = theme.mode;

/** The brand's custom properties, as one `:root{…}` rule (validated colours and font names only). */
export const themeCss = (() => {
  const body = Object.entries(theme.vars)
    .map(([k, v]) => `${k}:${v}`)
    .join(';');
  if (/[<>{}\\]/.test(body)) throw new Error('Refusing unsafe theme values');
  return `:root{${body}}`;
})();
