/** The dashboard's stylesheet: system fonts, light and dark, one column on a phone. */
export const DASHBOARD_CSS = `
:root {
  color-scheme: light dark;
  --bg: #f5f6fa;
  --card: #ffffff;
  --text: #14161f;
  --muted: #667085;
  --line: #e4e7ec;
  --accent: #4f46e5;
  --accent-soft: #eef2ff;
  --ok: #12805c;
  --ok-soft: #e3f6ee;
  --warn: #b54708;
  --warn-soft: #fff4e5;
  --bad: #c4320a;
  --bad-soft: #fdecea;
  --code-bg: #f2f4f7;
  --shadow: 0 1px 2px rgba(16, 24, 40, 0.06), 0 1px 3px rgba(16, 24, 40, 0.08);
  --radius: 12px;
  font-family: ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 15px;
  line-height: 1.5;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0e1017;
    --card: #171a23;
    --text: #e7e9f0;
    --muted: #98a2b3;
    --line: #2a2f3b;
    --accent: #8b83ff;
    --accent-soft: #25234a;
    --ok: #3ccf91;
    --ok-soft: #143226;
    --warn: #f5a524;
    --warn-soft: #3a2a10;
    --bad: #ff7a59;
    --bad-soft: #3d1b14;
    --code-bg: #10131a;
    --shadow: none;
  }
}
* { box-sizing: border-box; }
html, body { margin: 0; background: var(--bg); color: var(--text); }
body { min-height: 100vh; -webkit-text-size-adjust: 100%; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.86em; }
[hidden] { display: none !important; }

.top {
  position: sticky; top: 0; z-index: 2;
  background: color-mix(in srgb, var(--card) 88%, transparent);
  backdrop-filter: blur(8px);
  border-bottom: 1px solid var(--line);
}
.top-inner {
  max-width: 1080px; margin: 0 auto; padding: 12px 16px;
  display: flex; align-items: center; justify-content: space-between; gap: 12px;
}
.brand { display: flex; align-items: center; gap: 10px; color: var(--text); font-weight: 650; letter-spacing: -0.01em; }
.brand:hover { text-decoration: none; }
.logo {
  width: 28px; height: 28px; border-radius: 8px; display: grid; place-items: center;
  background: var(--accent); color: #fff; font-size: 15px;
}
.conn { display: inline-flex; align-items: center; gap: 6px; color: var(--muted); font-size: 13px; }
.conn::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: var(--line); }
.conn:empty { display: none; }
.conn.live::before { background: var(--ok); box-shadow: 0 0 0 3px var(--ok-soft); }

main { max-width: 1080px; margin: 0 auto; padding: 20px 16px 48px; }
.card {
  background: var(--card); border: 1px solid var(--line); border-radius: var(--radius);
  box-shadow: var(--shadow); padding: 18px 20px; margin-bottom: 16px; min-width: 0;
}
h1 { font-size: 1.6rem; line-height: 1.25; margin: 0 0 6px; letter-spacing: -0.02em; overflow-wrap: anywhere; }
h2 { font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.06em; color: var(--muted); margin: 0 0 12px; font-weight: 650; }
.grid { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 16px; }
.grid > .card { margin-bottom: 0; }
#list-view.grid { align-items: start; }
.stack { display: grid; gap: 16px; align-content: start; }
.stack > .card { margin-bottom: 0; }
.job-view .grid { margin-bottom: 16px; }

/* Forms */
label { display: block; font-weight: 550; margin-bottom: 6px; }
.hint { color: var(--muted); font-weight: 400; font-size: 13px; }
textarea, input, select {
  width: 100%; font: inherit; color: var(--text); background: var(--bg);
  border: 1px solid var(--line); border-radius: 8px; padding: 9px 11px;
}
textarea { resize: vertical; min-height: 84px; }
textarea.code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; min-height: 150px; }
input::placeholder, textarea::placeholder { color: var(--muted); opacity: 0.75; }
[aria-invalid="true"] { border-color: var(--bad); }
.lede { color: var(--muted); margin: -4px 0 14px; font-size: 14px; }
.field { margin-bottom: 12px; }
.field-error { color: var(--bad); font-size: 13px; margin: 4px 0 0; overflow-wrap: anywhere; }
.field-error:empty { display: none; }
.sub-label { margin-top: 10px; font-weight: 500; }
fieldset.look {
  border: 1px solid var(--line); border-radius: 8px; margin: 0 0 12px; padding: 8px 12px 12px;
  display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: 10px 16px; align-items: center;
}
fieldset.look legend { font-weight: 550; padding: 0 4px; }
.swatch, .check { display: flex; white-space: nowrap; align-items: center; gap: 8px; margin: 0; font-weight: 450; cursor: pointer; }
.swatch input[type="color"] { width: 38px; height: 32px; padding: 2px; border-radius: 8px; cursor: pointer; flex: none; }
.check input[type="checkbox"] { width: 18px; height: 18px; margin: 0; accent-color: var(--accent); flex: none; }
textarea:focus, input:focus, select:focus { outline: 2px solid var(--accent); outline-offset: -1px; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 10px; margin-top: 10px; }
details { margin-top: 12px; }
summary { cursor: pointer; color: var(--muted); font-size: 14px; }
.actions { display: flex; align-items: center; gap: 12px; margin-top: 14px; flex-wrap: wrap; }
button, .button {
  display: inline-flex; align-items: center; gap: 8px; justify-content: center;
  font: inherit; font-weight: 600; border-radius: 8px; padding: 9px 16px; cursor: pointer;
  background: var(--accent); color: #fff; border: 1px solid transparent;
}
button:hover, .button:hover { filter: brightness(1.08); text-decoration: none; }
button:disabled { opacity: 0.6; cursor: progress; }
.button.secondary, button.secondary { background: transparent; color: var(--text); border-color: var(--line); }
.form-error { color: var(--bad); font-size: 14px; white-space: pre-wrap; overflow-wrap: anywhere; }
.form-error ul { margin: 4px 0 0; padding-left: 18px; }

/* Jobs list */
.list-head { display: flex; align-items: center; justify-content: space-between; gap: 12px; margin-bottom: 8px; }
.list-head h2 { margin: 0; }
.list-head select { width: auto; max-width: 55%; padding: 6px 10px; font-size: 14px; }
.jobs { list-style: none; margin: 0; padding: 0; }
.jobs li + li { border-top: 1px solid var(--line); }
.job-row { display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: 4px 12px; padding: 12px 4px; color: var(--text); }
.job-row:hover { text-decoration: none; background: var(--accent-soft); border-radius: 8px; }
.job-row .name { font-weight: 600; overflow-wrap: anywhere; }
.job-row .note { color: var(--warn); font-weight: 600; }
.job-row .sub { grid-column: 1; color: var(--muted); font-size: 13px; overflow-wrap: anywhere; }
.job-row .sub code { font-size: 12px; }
.job-row .badge { grid-row: 1 / span 2; grid-column: 2; align-self: center; }
.mini-bar { grid-column: 1 / -1; height: 4px; border-radius: 2px; background: var(--line); overflow: hidden; }
.mini-bar span { display: block; height: 100%; background: var(--accent); }
.empty { color: var(--muted); margin: 8px 0; }

/* Badges */
.badge {
  display: inline-flex; align-items: center; gap: 6px; font-size: 12px; font-weight: 650;
  padding: 3px 10px; border-radius: 999px; white-space: nowrap;
  background: var(--accent-soft); color: var(--accent);
}
.badge:empty { display: none; }
.badge.COMPLETED { background: var(--ok-soft); color: var(--ok); }
.badge.FAILED { background: var(--bad-soft); color: var(--bad); }
.badge.CANCELLED { background: var(--code-bg); color: var(--muted); }
.badge.PENDING, .badge.warn { background: var(--warn-soft); color: var(--warn); }

/* What a job delivers */
.delivery-kind { margin: 0 0 12px; overflow-wrap: anywhere; }
.delivery[data-kind="landing-page-only"] .delivery-kind strong { color: var(--warn); }
.features, .journeys { list-style: none; margin: 0; padding: 0; }
.features li, .journeys li {
  display: grid; grid-template-columns: 26px minmax(0, 1fr) auto; align-items: center; gap: 4px 10px;
  padding: 8px 0;
}
.features li + li, .journeys li + li { border-top: 1px dashed var(--line); }
.features .name, .journeys .name { overflow-wrap: anywhere; }
.features .how, .journeys .how { color: var(--muted); font-size: 13px; text-align: right; }
.features .built .mark, .journeys .ok .mark { background: var(--ok); border-color: var(--ok); color: #fff; }
.features .not-built .mark, .journeys .failed .mark { background: var(--bad); border-color: var(--bad); color: #fff; }
.features .not-built .how, .journeys .failed .how { color: var(--bad); font-weight: 650; }
.journeys .why {
  grid-column: 2 / -1; color: var(--bad); font-size: 13px; background: var(--bad-soft);
  border-radius: 6px; padding: 4px 8px; overflow-wrap: anywhere;
}
#journeys-block h3 { font-size: 14px; margin: 16px 0 4px; }
#journeys-block h3.ok { color: var(--ok); }
#journeys-block h3.failed { color: var(--bad); }

/* Job view */
.back { display: inline-block; margin-bottom: 12px; font-size: 14px; }
.job-head .meta { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 12px; color: var(--muted); font-size: 13px; }
.progress { display: flex; align-items: center; gap: 12px; margin: 16px 0 4px; }
.bar { flex: 1; height: 10px; background: var(--line); border-radius: 5px; overflow: hidden; }
.bar span { display: block; height: 100%; width: 0; background: var(--accent); border-radius: 5px; }
.job-view.following .bar span { transition: width 0.4s ease; }
.bar.COMPLETED span { background: var(--ok); }
.bar.FAILED span { background: var(--bad); }
.pct { font-variant-numeric: tabular-nums; font-weight: 650; min-width: 3.2em; text-align: right; }
.links { display: flex; flex-wrap: wrap; gap: 10px; margin-top: 14px; }
.links:empty { display: none; }
.path { display: block; margin-top: 8px; color: var(--muted); font-size: 13px; overflow-wrap: anywhere; }
.path code { background: var(--code-bg); padding: 2px 6px; border-radius: 4px; }

.steps { list-style: none; margin: 0; padding: 0; }
.steps li { display: grid; grid-template-columns: 26px minmax(0, 1fr) auto; align-items: center; gap: 10px; padding: 8px 0; }
.steps li + li { border-top: 1px dashed var(--line); }
.mark {
  width: 22px; height: 22px; border-radius: 50%; display: grid; place-items: center;
  font-size: 12px; font-weight: 700; border: 2px solid var(--line); color: var(--muted);
}
.steps .done .mark { background: var(--ok); border-color: var(--ok); color: #fff; }
.steps .current .mark { border-color: var(--accent); border-top-color: transparent; animation: spin 0.9s linear infinite; }
.steps .failed .mark { background: var(--bad); border-color: var(--bad); color: #fff; }
.steps .todo .label { color: var(--muted); }
.steps .current .label { font-weight: 650; }
.steps .time { color: var(--muted); font-size: 13px; font-variant-numeric: tabular-nums; }
@keyframes spin { to { transform: rotate(360deg); } }
@media (prefers-reduced-motion: reduce) { .steps .current .mark { animation: none; border-top-color: var(--accent); } }

dl.usage { display: grid; grid-template-columns: auto 1fr; gap: 8px 16px; margin: 0; }
dl.usage dt { color: var(--muted); }
dl.usage dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; font-weight: 550; }
dl.usage dd.big { font-size: 1.4rem; font-weight: 700; }
p.ai-cost { margin: 14px 0 8px; padding-top: 12px; border-top: 1px dashed var(--line); font-size: 13px; color: var(--muted); overflow-wrap: anywhere; }
table.ai-rounds { width: 100%; border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
table.ai-rounds th, table.ai-rounds td { padding: 4px 0 4px 10px; text-align: right; }
table.ai-rounds th:first-child { padding-left: 0; text-align: left; }
table.ai-rounds thead th { color: var(--muted); font-weight: 550; border-bottom: 1px solid var(--line); }
table.ai-rounds tbody th { font-weight: 550; }

.log {
  list-style: none; margin: 0; padding: 10px 12px; max-height: 380px; overflow: auto;
  background: var(--code-bg); border-radius: 8px;
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; line-height: 1.55;
}
.log:empty { display: none; }
.log li { display: grid; grid-template-columns: auto minmax(0, 1fr); gap: 10px; }
.log .at { color: var(--muted); }
.log .step { color: var(--accent); margin-right: 6px; }
.log .msg { white-space: pre-wrap; overflow-wrap: anywhere; }
.log .warn .msg { color: var(--warn); }
.log .error .msg { color: var(--bad); }
.errors li { color: var(--bad); overflow-wrap: anywhere; margin-bottom: 6px; }
.errors code { color: var(--muted); }

@media (max-width: 760px) {
  main { padding: 14px 12px 40px; }
  .grid { grid-template-columns: minmax(0, 1fr); }
  .card { padding: 16px; }
  h1 { font-size: 1.35rem; }
  .pair { grid-template-columns: 1fr; }
  .features li, .journeys li { grid-template-columns: 26px minmax(0, 1fr); }
  .features .how, .journeys .how { grid-column: 2; text-align: left; }
  .links .button, .actions button { flex: 1 1 auto; }
  .log { max-height: 300px; }
}
`;
