import { STEP_LABELS, STEPS } from '@mvp-pipeline/core';
import { DELIVERY_JS } from './dashboard-delivery-js.js';
import { FORM_JS } from './dashboard-form-js.js';
import { USAGE_JS } from './dashboard-usage-js.js';

/** JSON that is safe inside a script: no `<` can close the element. */
const constant = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

/**
 * The dashboard's script. It writes every value from a job or a spec with textContent or
 * setAttribute (never as HTML), follows a job through its event stream, and keeps the jobs list
 * fresh while jobs run. No build step: plain browser JavaScript. The new-job form (`FORM_JS`) and
 * the delivery card (`DELIVERY_JS`) and the AI cost (`USAGE_JS`) are parts of it, kept in their own files.
 */
export const DASHBOARD_JS = String.raw`(() => {
  'use strict';
  const STEPS = ${constant(STEPS)};
  const LABELS = ${constant(STEP_LABELS)};
  const STATUS = { PENDING: 'Queued', IN_PROGRESS: 'In progress', COMPLETED: 'Live', FAILED: 'Failed', CANCELLED: 'Cancelled' };
  const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELLED'];
  const MAX_LOG_LINES = 300;

  const $ = (id) => document.getElementById(id);
  /** An element with text, a class and attributes; children appended. Text is never parsed as HTML. */
  function el(tag, props, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null) continue;
      if (key === 'text') node.textContent = String(value);
      else if (key === 'class') node.className = value;
      else node.setAttribute(key, String(value));
    }
    for (const child of children || []) if (child) node.append(child);
    return node;
  }
  /** Only web links become links. */
  const webUrl = (url) => typeof url === 'string' && /^https?:\/\//i.test(url);

  async function api(path, init) {
    const response = await fetch(path, Object.assign({ credentials: 'same-origin', headers: { accept: 'application/json' } }, init));
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(body.error || 'The server answered ' + response.status);
      error.issues = body.issues;
      throw error;
    }
    return body;
  }

  const pad = (n) => String(n).padStart(2, '0');
  function clock(iso) {
    const d = new Date(iso);
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }
  function ago(iso) {
    const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.round(s / 60) + ' min ago';
    if (s < 86400) return Math.round(s / 3600) + ' h ago';
    return new Date(iso).toLocaleDateString();
  }
  function money(usd) {
    const n = Number(usd) || 0;
    return '$' + (n > 0 && n < 0.01 ? n.toFixed(4) : n.toFixed(2));
  }
  const count = (n) => (Number(n) || 0).toLocaleString();
  const statusText = (job) => (job.status === 'IN_PROGRESS' ? LABELS[job.currentStep] : STATUS[job.status] || job.status);

  function setConn(state) {
    const conn = $('conn');
    conn.className = 'conn' + (state === 'live' ? ' live' : '');
    conn.textContent = state === 'live' ? 'Live updates' : state === 'ended' ? 'Finished' : state === 'lost' ? 'Reconnecting…' : '';
  }

  // Navigation: the list at /, one job at /jobs/<id>; links marked data-nav change views in place.
  let stream = null;
  let listTimer = null;
  function route() {
    const match = /^\/jobs\/([^/]+)\/?$/.exec(location.pathname);
    if (match) showJob(decodeURIComponent(match[1]));
    else showList();
  }
  function go(path) {
    history.pushState(null, '', path);
    route();
  }
  document.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('a[data-nav]');
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    go(link.getAttribute('href'));
  });
  window.addEventListener('popstate', route);
  function closeStream() {
    if (stream) stream.close();
    stream = null;
  }
  function stopListRefresh() {
    clearTimeout(listTimer);
    listTimer = null;
  }

  // The jobs list.
  let users = [];
  let cursor = null;
  async function showList() {
    closeStream();
    setConn('');
    $('job-view').hidden = true;
    $('list-view').hidden = false;
    document.title = 'MVP Pipeline';
    try {
      await loadUsers();
      await loadJobs(false);
    } catch (error) {
      $('jobs').replaceChildren(el('li', { class: 'form-error', text: error.message }));
    }
  }
  async function loadUsers() {
    users = (await api('/api/mvp/users')).users;
    const select = $('user-filter');
    const chosen = select.value;
    select.replaceChildren(el('option', { value: '', text: 'All users' }), ...users.map((u) => el('option', { value: u, text: u })));
    select.value = users.includes(chosen) ? chosen : '';
    select.hidden = users.length < 2;
  }
  async function loadJobs(more) {
    stopListRefresh();
    const user = $('user-filter').value;
    let jobs;
    if (user) {
      const query = { userId: user, limit: '20' };
      if (more && cursor) query.cursor = cursor;
      const page = await api('/api/mvp/jobs?' + new URLSearchParams(query));
      jobs = page.jobs;
      cursor = page.nextCursor || null;
    } else {
      const pages = await Promise.all(users.map((u) => api('/api/mvp/jobs?' + new URLSearchParams({ userId: u, limit: '20' }))));
      jobs = pages.flatMap((p) => p.jobs).sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1)).slice(0, 40);
      cursor = null;
    }
    const list = $('jobs');
    if (!more) list.replaceChildren();
    for (const job of jobs) list.append(jobRow(job));
    $('more').hidden = !cursor;
    $('no-jobs').hidden = list.children.length > 0;
    // While something runs, keep the first page fresh.
    if (!more && jobs.some((j) => !TERMINAL.includes(j.status)) && !$('list-view').hidden) {
      listTimer = setTimeout(() => loadJobs(false).catch(() => undefined), 3000);
    }
  }
  function jobRow(job) {
    const running = !TERMINAL.includes(job.status);
    const fill = el('span');
    fill.style.width = job.progress + '%';
    const note = deliveryNote(deliveryOfRecord(job));
    return el('li', { 'data-job': job.jobId }, [
      el('a', { class: 'job-row', href: '/jobs/' + encodeURIComponent(job.jobId), 'data-nav': '' }, [
        el('span', { class: 'name', text: job.businessName }),
        el('span', { class: 'badge ' + job.status, text: statusText(job) }),
        el('span', { class: 'sub' }, [
          ago(job.createdAt) + ' · ' + job.userId + ' · ',
          el('code', { text: job.jobId }),
          note ? el('span', { class: 'note', text: ' · ' + note }) : null,
        ]),
        running ? el('span', { class: 'mini-bar' }, [fill]) : null,
      ]),
    ]);
  }
  $('user-filter').addEventListener('change', () => loadJobs(false));
  $('more').addEventListener('click', () => loadJobs(true));

  // Submitting a job: the new-job form.
${FORM_JS}
  // One job, live.
  let job = null;
  // The delivery the event stream last sent (undefined: the record's own).
  let liveDelivery;
  async function showJob(id) {
    closeStream();
    liveDelivery = undefined;
    stopListRefresh();
    $('list-view').hidden = true;
    $('job-view').hidden = false;
    $('log').replaceChildren();
    $('job-view').classList.remove('following');
    $('job-name').textContent = 'Loading…';
    try {
      job = await api('/api/mvp/status/' + encodeURIComponent(id));
    } catch (error) {
      job = null;
      $('job-name').textContent = error.message;
      return;
    }
    renderJob();
    renderLogs(job.executionLogs, true);
    if (TERMINAL.includes(job.status)) setConn('ended');
    else follow(id);
  }
  function follow(id) {
    const source = new EventSource('/api/mvp/jobs/' + encodeURIComponent(id) + '/events');
    stream = source;
    // Progress animates from here on; the first drawing does not.
    requestAnimationFrame(() => $('job-view').classList.add('following'));
    const on = (name, handle) =>
      source.addEventListener(name, (event) => {
        if (stream === source) handle(JSON.parse(event.data));
      });
    source.addEventListener('open', () => setConn('live'));
    source.addEventListener('error', () => {
      if (stream === source) setConn('lost');
    });
    on('snapshot', (record) => {
      job = record;
      liveDelivery = undefined;
      renderJob();
      renderLogs(job.executionLogs, true);
    });
    on('step', (step) => {
      Object.assign(job, step);
      renderJob();
    });
    on('log', (data) => renderLogs(data.entries, false));
    on('errors', (data) => {
      job.errors = job.errors.concat(data.entries).slice(-10);
      renderErrors();
    });
    on('urls', (data) => {
      Object.assign(job, data);
      renderLinks();
    });
    on('delivery', (data) => {
      liveDelivery = data;
      renderDelivery();
      renderLinks();
    });
    on('usage', (usage) => {
      job.usage = usage;
      renderUsage();
      renderSteps();
    });
    on('end', () => {
      closeStream();
      setConn('ended');
      api('/api/mvp/status/' + encodeURIComponent(id)).then((record) => {
        if (job && job.jobId === record.jobId) {
          job = record;
          liveDelivery = undefined;
          renderJob();
        }
      }, () => undefined);
    });
  }

  function renderJob() {
    document.title = job.businessName + ' · MVP Pipeline';
    $('job-view').setAttribute('data-status', job.status);
    $('job-name').textContent = job.businessName;
    const badge = $('job-status');
    badge.className = 'badge ' + job.status;
    badge.textContent = STATUS[job.status] || job.status;
    $('job-id').textContent = job.jobId;
    $('job-created').textContent = 'started ' + ago(job.createdAt);
    $('bar').className = 'bar ' + job.status;
    $('bar-fill').style.width = job.progress + '%';
    $('pct').textContent = job.progress + '%';
    renderSteps();
    renderDelivery();
    renderLinks();
    renderUsage();
    renderErrors();
  }

  // What the job delivers: currentDelivery, renderDelivery.
${DELIVERY_JS}
  function stepState(step) {
    const at = STEPS.indexOf(job.currentStep);
    const index = STEPS.indexOf(step);
    if (job.status === 'COMPLETED' || index < at) return 'done';
    if (index > at) return 'todo';
    if (job.status === 'FAILED' || job.status === 'CANCELLED') return 'failed';
    return 'current';
  }
  function renderSteps() {
    const byStep = (job.usage && job.usage.byStep) || {};
    $('steps').replaceChildren(
      ...STEPS.map((step, index) => {
        const state = stepState(step);
        const seconds = byStep[step] && byStep[step].seconds;
        const mark = state === 'done' ? '✓' : state === 'failed' ? '✕' : state === 'current' ? '' : String(index + 1);
        const note = state === 'failed' ? (job.status === 'CANCELLED' ? 'cancelled' : 'failed') : seconds !== undefined ? seconds.toFixed(1) + ' s' : '';
        return el('li', { class: state, 'data-step': step }, [
          el('span', { class: 'mark', 'aria-hidden': 'true', text: mark }),
          el('span', { class: 'label', text: LABELS[step] }),
          el('span', { class: 'time', text: note }),
        ]);
      }),
    );
  }
  function renderLinks() {
    const links = $('links');
    const urls = job.urls || {};
    const items = [];
    if (webUrl(urls.production)) {
      const d = currentDelivery();
      const app = job.status === 'COMPLETED' && d && d.kind === 'app';
      items.push(el('a', { id: 'site-link', class: 'button', href: urls.production, target: '_blank', rel: 'noopener noreferrer', text: app ? 'Open the app ↗' : 'Open the site ↗' }));
    }
    if (webUrl(urls.staging) && urls.staging !== urls.production) {
      items.push(el('a', { class: 'button secondary', href: urls.staging, target: '_blank', rel: 'noopener noreferrer', text: 'This deployment' }));
    }
    if (webUrl(urls.codeRepository)) {
      items.push(el('a', { id: 'repo-link', class: 'button secondary', href: urls.codeRepository, target: '_blank', rel: 'noopener noreferrer', text: 'Repository ↗' }));
    }
    links.replaceChildren(...items);
    const local = [];
    if (urls.codeRepository && !webUrl(urls.codeRepository)) local.push(['Repository', 'git clone ' + urls.codeRepository]);
    if (urls.production && !webUrl(urls.production)) local.push(['Site', urls.production]);
    $('paths').replaceChildren(...local.map(([name, value]) => el('span', { class: 'path' }, [name + ' ', el('code', { text: value })])));
  }
  function renderUsage() {
    const u = job.usage || {};
    const generator = job.checkpoints && job.checkpoints.AI_DEVELOPMENT && job.checkpoints.AI_DEVELOPMENT.generator;
    const rows = [['Cost so far', money(u.costUsd), 'big']];
    const cost = aiCost(u);
    if (cost) {
      const share = cacheShareOf(cost);
      rows.push(['Tokens in', count(allInput(cost))], ['Read from cache', share === undefined ? '—' : pct(share)], ['Tokens out', count(cost.outputTokens)]);
    } else {
      rows.push(['AI tokens', 'none yet']);
    }
    rows.push(['Working time', (Number(u.seconds) || 0).toFixed(1) + ' s']);
    if (generator) rows.push(['Generator', generator]);
    if (job.attempt > 1) rows.push(['Attempt', String(job.attempt)]);
    $('usage').replaceChildren(...rows.flatMap(([name, value, cls]) => [el('dt', { text: name }), el('dd', { class: cls, text: value })]));
    renderAiCost();
  }
  // The AI cost by step and round: aiCost, aiCostText, renderAiCost.
${USAGE_JS}
  function renderErrors() {
    const errors = job.errors || [];
    $('errors-card').hidden = errors.length === 0;
    $('errors').replaceChildren(
      ...errors.slice().reverse().map((e) =>
        el('li', {}, [el('code', { text: e.step + ' ' + e.code + (e.retryable ? ' (retried)' : '') }), ' ' + e.message]),
      ),
    );
  }
  function renderLogs(entries, reset) {
    const log = $('log');
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 24;
    if (reset) log.replaceChildren();
    for (const entry of entries) {
      log.append(
        el('li', { class: entry.level, title: entry.step }, [
          el('span', { class: 'at', text: clock(entry.at) }),
          el('span', { class: 'msg' }, [el('span', { class: 'step', text: LABELS[entry.step] ? entry.step.toLowerCase().replace('_', ' ') : '' }), entry.message]),
        ]),
      );
    }
    while (log.children.length > MAX_LOG_LINES) log.firstElementChild.remove();
    $('log-empty').hidden = log.children.length > 0;
    if (atBottom || reset) log.scrollTop = log.scrollHeight;
  }

  route();
})();
`;
