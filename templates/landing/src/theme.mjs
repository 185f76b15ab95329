// Brand colours, fonts and light/dark mode from the spec. Only validated values reach the CSS:
// colours must be hex, fonts must be plain family names; anything else falls back to the defaults.

const HEX = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;
const FONT = /^[\p{L}\p{N} _-]{1,64}$/u;
const SYSTEM_SANS =
  'ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif';

export const DEFAULT_BRAND = '#4F46E5';
export const LIGHT_BG = '#fbfbfd';
export const DARK_BG = '#0c0e16';

/** Hex colours from the first list that has any, validated. */
function colorsOf(spec) {
  const design = spec?.specifications?.designPreferences ?? {};
  const lists = [
    spec?.user?.branding?.colors,
    design.colors,
    design.palette,
    [design.primaryColor, design.accentColor],
  ];
  for (const list of lists) {
    const valid = (Array.isArray(list) ? list : []).filter(
      (c) => typeof c === 'string' && HEX.test(c.trim()),
    );
    if (valid.length) return valid.map((c) => c.trim());
  }
  return [];
}

function fontsOf(spec) {
  const design = spec?.specifications?.designPreferences ?? {};
  for (const list of [spec?.user?.branding?.fonts, design.fonts, [design.font]]) {
    const valid = (Array.isArray(list) ? list : [])
      .filter((f) => typeof f === 'string' && FONT.test(f.trim()))
      .map((f) => f.trim().replace(/\s+/g, ' '));
    if (valid.length) return valid;
  }
  return [];
}

/** `dark`, `light`, or `auto` (follow the visitor's system setting). */
export function modeOf(spec) {
  const design = spec?.specifications?.designPreferences ?? {};
  if (design.darkMode === true || design.theme === 'dark') return 'dark';
  if (design.darkMode === false || design.theme === 'light') return 'light';
  return 'auto';
}

/** Everything the page's `<style>` needs: CSS custom properties, all of them safe values. */
export function themeOf(spec) {
  const colors = colorsOf(spec);
  const brand = rgb(colors[0] ?? DEFAULT_BRAND);
  const accent = colors[1] ? rgb(colors[1]) : mix(brand, [255, 255, 255], 0.45);
  const fonts = fontsOf(spec);
  const stack = (name) => (name ? `"${name}", ${SYSTEM_SANS}` : SYSTEM_SANS);
  const white = [255, 255, 255];
  const ink = [11, 13, 20];
  return {
    brandHex: hex(brand),
    mode: modeOf(spec),
    vars: {
      '--brand': hex(brand),
      // Text on the brand colour: whichever of white or near-black reads better.
      '--on-brand': contrast(white, brand) >= contrast(ink, brand) ? '#ffffff' : hex(ink),
      // The brand colour as text, nudged until it meets WCAG AA on each background.
      '--brand-ink-light': readableOn(brand, rgb(LIGHT_BG)),
      '--brand-ink-dark': readableOn(brand, rgb(DARK_BG)),
      '--accent': hex(accent),
      '--font-heading': stack(fonts[0]),
      '--font-body': stack(fonts[1] ?? fonts[0]),
    },
  };
}

function rgb(value) {
  let h = value.slice(1);
  if (h.length === 3) h = [...h].map((c) => c + c).join('');
  return [0, 2, 4].map((i) => Number.parseInt(h.slice(i, i + 2), 16));
}

function hex(color) {
  return `#${color.map((v) => Math.round(v).toString(16).padStart(2, '0')).join('')}`;
}

function mix(from, to, t) {
  return from.map((v, i) => v + (to[i] - v) * t);
}

function luminance(color) {
  const [r, g, b] = color.map((v) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

function readableOn(color, background, min = 4.6) {
  const toward = luminance(background) > 0.5 ? [0, 0, 0] : [255, 255, 255];
  for (let step = 0; step <= 20; step++) {
    const candidate = mix(color, toward, step / 20);
    if (contrast(candidate, background) >= min) return hex(candidate);
  }
  return hex(toward);
}
