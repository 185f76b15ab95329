/**
 * The job page's "What it delivers" card, a part of the dashboard's script (it runs inside its
 * closure and uses its `$`, `el`, `job` and `liveDelivery`; the jobs list uses `deliveryOfRecord`
 * and `deliveryNote`): the kind (a working app or a
 * landing page only), each key feature built (and by what) or not built, and the journey
 * results. A feature nothing built is shown as not built, never hidden behind "Live"; every
 * value from the record is written with textContent.
 */
export const DELIVERY_JS = String.raw`
  /** What the job delivers (the record's delivery and latest journeys), or null for older records. */
  function currentDelivery() {
    return liveDelivery !== undefined ? liveDelivery : deliveryOfRecord(job);
  }
  function deliveryOfRecord(record) {
    const c = record.checkpoints || {};
    const d = c.AI_DEVELOPMENT && c.AI_DEVELOPMENT.delivery;
    if (!d) return null;
    const journeys = (c.BUILDING && c.BUILDING.journeys) || (c.repair && c.repair.journeys);
    return journeys ? Object.assign({}, d, { journeys }) : d;
  }
  /** What built a feature, in words; null when nothing did (or the record says something unknown). */
  function builtBy(f) {
    if (f.builtBy === 'recipe') return 'Built by recipe ' + (typeof f.recipe === 'string' ? f.recipe : '?');
    if (f.builtBy === 'model') return 'Built from the app model';
    if (f.builtBy === 'ai') return 'Built by AI';
    return null;
  }
  /** What a badge says when a job delivers less than a working app with every feature: '' otherwise. */
  function deliveryNote(d) {
    if (!d) return '';
    if (d.kind !== 'app') return 'Landing page only';
    const missing = (Array.isArray(d.features) ? d.features : []).filter((f) => !builtBy(f)).length;
    return missing ? missing + (missing === 1 ? ' feature' : ' features') + ' not built' : '';
  }
  const cut = (text, max) => {
    const s = String(text == null ? '' : text).replace(/\s+/g, ' ').trim();
    return s.length > max ? s.slice(0, max - 1) + '…' : s;
  };
  function renderDelivery() {
    const d = currentDelivery();
    const badge = $('delivery-badge');
    $('delivery-card').hidden = !d;
    badge.hidden = true;
    if (!d) return;
    const features = Array.isArray(d.features) ? d.features : [];
    const missing = features.filter((f) => !builtBy(f)).length;
    const app = d.kind === 'app';
    $('delivery-card').setAttribute('data-kind', app ? 'app' : 'landing-page-only');
    // Only a completed job delivers; until then (or when it failed) this is what it was building.
    $('delivery-title').textContent =
      job.status === 'COMPLETED'
        ? 'What it delivers'
        : job.status === 'FAILED' || job.status === 'CANCELLED'
          ? 'What it was building (not delivered)'
          : 'What it is building';
    $('delivery-kind').replaceChildren(
      el('strong', { text: app ? 'A working app' : 'A landing page only' }),
      app
        ? missing
          ? ' — ' + missing + ' of ' + features.length + ' key features not built.'
          : features.length ? ' — every key feature built.' : '.'
        : ' — the key features are described on the page; none of them runs.',
    );
    badge.textContent = deliveryNote(d);
    badge.hidden = !badge.textContent;
    $('features').replaceChildren(
      ...features.map((f) => {
        const how = builtBy(f);
        return el('li', { class: how ? 'built' : 'not-built', 'data-built': how ? f.builtBy : 'none' }, [
          el('span', { class: 'mark', 'aria-hidden': 'true', text: how ? '✓' : '✕' }),
          el('span', { class: 'name', text: f.feature }),
          el('span', { class: 'how', text: how || 'Not built' }),
        ]);
      }),
    );
    const j = d.journeys;
    $('journeys-block').hidden = !j;
    if (!j) return;
    const results = Array.isArray(j.results) ? j.results : [];
    const passed = results.filter((r) => r.ok === true).length;
    const head = $('journeys-head');
    head.className = passed === results.length ? 'ok' : 'failed';
    head.textContent = 'Journeys ' + (j.mode === 'browser' ? 'walked in a browser' : 'checked over HTTP (no browser)') + ': ' + passed + ' of ' + results.length + ' passed';
    $('journeys').replaceChildren(
      ...results.map((r) =>
        el('li', { class: r.ok === true ? 'ok' : 'failed' }, [
          el('span', { class: 'mark', 'aria-hidden': 'true', text: r.ok === true ? '✓' : '✕' }),
          el('span', { class: 'name', text: r.name }),
          el('span', { class: 'how', text: r.ok === true ? (Number(r.durationMs) / 1000).toFixed(1) + ' s' : 'Failed' }),
          r.ok === true ? null : el('span', { class: 'why', title: String(r.failure || ''), text: cut(r.failure || 'No reason recorded', 240) }),
        ]),
      ),
    );
  }
`;
