/**
 * The job page's AI cost, a part of the dashboard's script (it runs inside its closure and uses
 * its `$`, `el`, `job` and `LABELS`): the core's one-line AI cost (`aiCostLine` in
 * @mvp-pipeline/core, mirrored here in plain browser JavaScript; the dashboard test checks the
 * page shows the same line) and a table of each step and round with its USD, tokens and cache
 * share. Records written before rounds were kept show one row per step that spent tokens.
 */
export const USAGE_JS = `
  const num = (n) => Number(n) || 0;
  const tokensOf = (u) => ({ inputTokens: num(u.inputTokens), outputTokens: num(u.outputTokens), cacheWriteTokens: num(u.cacheWriteTokens), cacheReadTokens: num(u.cacheReadTokens), costUsd: num(u.costUsd) });
  const allInput = (u) => u.inputTokens + u.cacheWriteTokens + u.cacheReadTokens;
  const spent = (u) => allInput(u) + u.outputTokens > 0 || u.costUsd > 0;
  const cacheShareOf = (u) => (allInput(u) > 0 ? u.cacheReadTokens / allInput(u) : undefined);
  function usd(n) {
    return '$' + (n > 0 && n < 0.01 ? n.toFixed(4) : n.toFixed(2));
  }
  function shortTokens(n) {
    if (n < 1000) return String(n);
    if (n < 1000000) return (n < 10000 ? (n / 1000).toFixed(1) : Math.round(n / 1000)) + 'k';
    return (n / 1000000).toFixed(1) + 'M';
  }
  const pct = (share) => Math.round(share * 100) + '%';
  function partLabel(step, round) {
    if (step === 'AI_DEVELOPMENT') return round ? 'repair ' + round : 'development';
    const label = LABELS[step] || String(step);
    return round ? label + ' (round ' + round + ')' : label;
  }
  /** The job's AI cost by step and round (null when it used no AI), as the core's aiCostOf. */
  function aiCost(usage) {
    if (!usage) return null;
    const total = tokensOf(usage);
    if (!spent(total)) return null;
    const parts = Array.isArray(usage.byRound)
      ? usage.byRound.map((r) => Object.assign(tokensOf(r), { label: partLabel(r.step, r.round) }))
      : Object.entries(usage.byStep || {}).map(([step, u]) => Object.assign(tokensOf(u || {}), { label: partLabel(step, 0) })).filter(spent);
    return Object.assign(total, { parts });
  }
  /** The one line, as the core's aiCostLine. */
  function aiCostText(cost) {
    const share = cacheShareOf(cost);
    const tokens = shortTokens(allInput(cost)) + ' tokens in' + (share === undefined ? '' : ', cache ' + pct(share)) + '; ' + shortTokens(cost.outputTokens) + ' out';
    const parts = cost.parts.map((p) => p.label + ' ' + usd(p.costUsd)).join(', ');
    return 'AI cost ' + usd(cost.costUsd) + ' (' + tokens + ')' + (parts ? ': ' + parts : '');
  }
  function renderAiCost() {
    const cost = aiCost(job.usage);
    $('ai-cost').hidden = !cost;
    $('ai-rounds').hidden = !cost;
    if (!cost) return;
    $('ai-cost').textContent = aiCostText(cost);
    const head = el('tr', {}, ['Step and round', 'USD', 'Tokens in', 'Cache', 'Out'].map((t) => el('th', { scope: 'col', text: t })));
    const rows = cost.parts.map((p) => {
      const share = cacheShareOf(p);
      return el('tr', {}, [
        el('th', { scope: 'row', text: p.label }),
        el('td', { text: usd(p.costUsd) }),
        el('td', { text: shortTokens(allInput(p)) }),
        el('td', { text: share === undefined ? '—' : pct(share) }),
        el('td', { text: shortTokens(p.outputTokens) }),
      ]);
    });
    $('ai-rounds').replaceChildren(el('thead', {}, [head]), el('tbody', {}, rows));
  }
`;
