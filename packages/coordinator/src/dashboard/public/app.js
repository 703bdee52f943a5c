// The training page: live over Server-Sent Events (api/events), no reload.
// `status` arrives every poll (run status, workers, queues); `metrics` when the run's
// metrics.jsonl changed (curves, evaluation table, incidents). Plain browser JS, no build.
/* global uPlot */
'use strict';

const $ = (id) => document.getElementById(id);

/** Build an element; children are nodes or text (never parsed as HTML). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'style') el.setAttribute('style', v);
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function fmt(n, digits = 3) {
  if (n === undefined || n === null || !Number.isFinite(n)) return '\u2014';
  const a = Math.abs(n);
  if (a !== 0 && (a < 1e-2 || a >= 1e6)) return n.toExponential(2);
  return n.toLocaleString('en-US', { maximumFractionDigits: a >= 100 ? 0 : digits });
}
function pct(n) {
  return n === undefined || n === null || !Number.isFinite(n) ? '\u2014' : `${(100 * n).toFixed(1)}%`;
}
function duration(s) {
  if (s === undefined || s === null || !Number.isFinite(s)) return '\u2014';
  if (s < 10) return `${Math.max(0, s).toFixed(1)}s`;
  s = Math.round(s);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}
function ago(iso) {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? `${duration(Math.round((Date.now() - t) / 1000))} ago` : '\u2014';
}
function setText(id, text) {
  const el = $(id);
  if (el.textContent !== text) el.textContent = text;
}
function replaceRows(tbody, rows, empty, cols) {
  tbody.replaceChildren(...(rows.length > 0 ? rows : [h('tr', { class: 'empty' }, h('td', { colspan: cols }, empty))]));
}

// ---- charts (uPlot, served from node_modules) ----
const charts = {};
function makeChart(id, label, color, opts = {}) {
  const el = $(id);
  const size = () => ({ width: Math.max(200, el.clientWidth), height: el.clientHeight || 220 });
  const plot = new uPlot(
    {
      ...size(),
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false }, y: opts.y || {} },
      axes: [
        { label: 'round', stroke: '#6b7487', grid: { stroke: '#eef1f5' }, ticks: { stroke: '#e3e7ee' }, size: 36 },
        {
          stroke: '#6b7487',
          grid: { stroke: '#eef1f5' },
          ticks: { stroke: '#e3e7ee' },
          size: 60,
          values: (u, vals) => vals.map((v) => (opts.tick ? opts.tick(v) : fmt(v, 3))),
        },
      ],
      series: [{}, { label, stroke: color, width: 2, fill: `${color}1f`, points: { show: false } }],
    },
    [[], []],
    el,
  );
  new ResizeObserver(() => plot.setSize(size())).observe(el);
  charts[id] = plot;
}
makeChart('chart-loss', 'loss', '#2f6fed');
makeChart('chart-lr', 'lr', '#8a3ffc', { tick: (v) => v.toExponential(1), y: { range: (u, min, max) => [0, max * 1.08 || 1] } });
makeChart('chart-sps', 'samples/s', '#1f9d55', { y: { range: (u, min, max) => [0, max * 1.15 || 1] } });

// ---- status: run, progress, workers, queues ----
let lastStatus = null;
let lastMetrics = null;

function renderStatus(s) {
  lastStatus = s;
  const st = s.status;
  setText('run-name', s.run || 'no run yet');
  const state = $('state');
  const stateName = st ? st.state : 'waiting';
  state.textContent = stateName;
  state.className = `badge ${stateName}`;
  setText(
    'run-meta',
    st
      ? `${st.dataset} \u00b7 ${st.mode} \u00b7 ${fmt(st.params)} parameters${st.message ? ` \u00b7 ${st.message}` : ''}`
      : 'waiting for runs/<run>/status.json',
  );

  const p = s.progress;
  setText('round', p ? String(p.round) : '0');
  setText('rounds', p ? String(p.rounds) : '0');
  const fill = $('bar-fill');
  fill.style.width = `${p ? (100 * p.fraction).toFixed(1) : 0}%`;
  fill.className = st ? st.state : '';
  $('progressbar').setAttribute('aria-valuenow', p ? (100 * p.fraction).toFixed(0) : '0');
  setText('eta', st && st.state === 'done' ? 'done' : p ? duration(p.etaSeconds) : '\u2014');
  setText('elapsed', st ? duration((Date.parse(st.updated) - Date.parse(st.started)) / 1000) : '\u2014');
  if (st && !lastMetrics?.rounds?.length) {
    setText('loss-value', fmt(st.loss, 4));
    setText('lr-value', fmt(st.lr));
    setText('sps-value', fmt(st.samplesPerSecond, 1));
  }

  const alive = s.workers.filter((w) => w.alive);
  setText('workers-alive', `${alive.length}${alive.length ? ` (${alive.filter((w) => w.state === 'busy').length} busy)` : ''}`);
  renderWorkers(s.workers);
  renderQueues(s.queues);

  const errors = $('errors');
  const msgs = [...s.errors, ...(lastMetrics?.warnings || [])];
  errors.hidden = msgs.length === 0;
  errors.textContent = msgs.join('\n');
  setText('updated', `updated ${new Date(s.time).toLocaleTimeString()}${st ? ` \u00b7 run status written ${ago(st.updated)}` : ''}`);
}

function renderWorkers(workers) {
  const rows = workers.map((w) =>
    h(
      'tr',
      { class: w.alive ? '' : 'gone', 'data-worker': w.id },
      h('td', {}, h('strong', {}, w.id), h('div', { class: 'muted small' }, `${w.host} \u00b7 pid ${w.pid}`)),
      h('td', {}, h('span', { class: `badge ${w.alive ? w.state : 'gone'}` }, w.alive ? w.state : 'gone')),
      h('td', { class: 'mono' }, w.backend),
      h('td', { class: 'mono' }, w.job || '\u2014'),
      h('td', { class: 'num' }, fmt(w.jobsDone)),
      h('td', { class: 'num' }, fmt(w.jobsFailed)),
      h('td', { class: 'num', 'data-updated': w.updated }, ago(w.updated)),
    ),
  );
  replaceRows($('workers').tBodies[0], rows, 'no worker heartbeat', 7);
}

function renderQueues(queues) {
  const rows = queues.map((q) =>
    h(
      'tr',
      {},
      h('td', { class: 'mono' }, h('a', { href: `queues/queue/${encodeURIComponent(q.name)}` }, q.name)),
      h('td', { class: 'num' }, fmt(q.counts.waiting + q.counts.prioritized + q.counts['waiting-children'])),
      h('td', { class: 'num' }, fmt(q.counts.active)),
      h('td', { class: 'num' }, fmt(q.counts.delayed)),
      h('td', { class: 'num' }, fmt(q.counts.completed)),
      h('td', { class: 'num' }, fmt(q.counts.failed)),
    ),
  );
  replaceRows($('queues').tBodies[0], rows, 'no queue yet', 6);
}

// ---- metrics: curves, evaluation, incidents ----
function renderMetrics(m) {
  lastMetrics = m;
  const xs = m.rounds.map((r) => r.round);
  charts['chart-loss'].setData([xs, m.rounds.map((r) => r.loss)]);
  charts['chart-lr'].setData([xs, m.rounds.map((r) => r.lr)]);
  charts['chart-sps'].setData([xs, m.rounds.map((r) => r.samplesPerSecond)]);
  for (const id of ['chart-loss', 'chart-lr', 'chart-sps']) $(id).dataset.points = String(xs.length);

  const last = m.rounds[m.rounds.length - 1];
  const prev = m.rounds[m.rounds.length - 2];
  if (last) {
    setText('loss-value', fmt(last.loss, 4));
    setText('lr-value', fmt(last.lr));
    setText('sps-value', fmt(last.samplesPerSecond, 1));
    setText('round-time', duration(last.wallMs / 1000));
    setText('overhead', `overhead ${fmt(last.overheadMs, 0)} ms (${pct(last.overheadMs / last.wallMs)})`);
    const d = $('loss-delta');
    if (prev) {
      const delta = last.loss - prev.loss;
      d.textContent = `${delta <= 0 ? '\u25bc' : '\u25b2'} ${fmt(Math.abs(delta), 4)} vs round ${prev.round}`;
      d.className = `delta ${delta <= 0 ? 'down' : 'up'}`;
    } else d.textContent = '';
  }

  let split = null;
  const evalRows = m.evals.map((r) => {
    const score = r.accuracy ?? r.mAP;
    const trend = r.previous !== undefined && score !== undefined ? score - r.previous : undefined;
    const row = h(
      'tr',
      { class: split !== null && split !== r.split ? 'split-break' : '', 'data-modality': r.modality, 'data-split': r.split },
      h('td', {}, r.split),
      h('td', { class: 'mono' }, r.modality),
      h('td', {}, h('span', { class: `tag ${r.seen}` }, r.seen)),
      h(
        'td',
        { class: 'num' },
        h(
          'span',
          { class: 'score' },
          h('span', { class: 'meter' }, h('span', { style: `width:${r.accuracy !== undefined ? (100 * r.accuracy).toFixed(1) : 0}%` })),
          h('span', { class: 'acc' }, pct(r.accuracy)),
          h(
            'span',
            { class: `trend ${trend === undefined ? '' : trend >= 0 ? 'up' : 'down'}` },
            trend === undefined ? '' : `${trend >= 0 ? '+' : ''}${(100 * trend).toFixed(1)}`,
          ),
        ),
      ),
      h('td', { class: 'num' }, pct(r.macroF1)),
      h('td', { class: 'num' }, pct(r.mAP)),
      h('td', { class: 'num' }, fmt(r.samples)),
      h('td', { class: 'num' }, String(r.round)),
    );
    split = r.split;
    return row;
  });
  replaceRows($('eval-table').tBodies[0], evalRows, 'no evaluation yet', 8);
  const seen = m.evals.filter((r) => r.seen === 'seen' && r.accuracy !== undefined);
  const unseen = m.evals.filter((r) => r.seen === 'unseen' && r.accuracy !== undefined);
  const mean = (rows) => rows.reduce((s, r) => s + r.accuracy, 0) / rows.length;
  setText(
    'eval-note',
    m.evals.length
      ? `mean accuracy: seen ${seen.length ? pct(mean(seen)) : '\u2014'}, unseen ${unseen.length ? pct(mean(unseen)) : '\u2014'}`
      : '',
  );

  const incidentRows = m.incidents.map((i) =>
    h(
      'tr',
      {},
      h('td', { class: 'num' }, String(i.round)),
      h('td', {}, h('span', { class: `tag ${i.kind}` }, i.kind)),
      h('td', { class: 'mono' }, String(i.job)),
      h(
        'td',
        {},
        i.reason ||
          (i.kind === 'late'
            ? 'arrived after the round closed (quorum and deadline)'
            : i.kind === 'failed'
              ? 'the job failed (retried up to the limit)'
              : ''),
      ),
      h('td', { class: 'muted' }, new Date(i.time).toLocaleTimeString()),
    ),
  );
  replaceRows($('incidents').tBodies[0], incidentRows, 'none: every slice arrived in time and was accepted', 5);
  if (lastStatus) renderStatus(lastStatus);
}

// Heartbeat ages tick between updates.
setInterval(() => {
  for (const td of document.querySelectorAll('td[data-updated]')) td.textContent = ago(td.getAttribute('data-updated'));
}, 1000);

// ---- live updates ----
function connect() {
  const live = $('live');
  const es = new EventSource('api/events');
  es.addEventListener('open', () => {
    live.textContent = 'live';
    live.className = 'live on';
  });
  es.addEventListener('status', (e) => renderStatus(JSON.parse(e.data)));
  es.addEventListener('metrics', (e) => renderMetrics(JSON.parse(e.data)));
  es.addEventListener('error', () => {
    live.textContent = 'reconnecting';
    live.className = 'live off';
  });
}
connect();
