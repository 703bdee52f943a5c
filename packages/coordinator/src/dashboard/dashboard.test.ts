import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WORKER_KEY_PREFIX, runKeys, type ObjectStore } from '@atomizer/protocol';
import { connectRedis, startEmbeddedRedis, type EmbeddedRedis } from '@atomizer/protocol/redis';
import { startEmbeddedS3, type EmbeddedS3 } from '@atomizer/protocol/embedded';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDashboard, type Dashboard } from './server.js';
import type { StatusSnapshot } from './source.js';
import type { RunMetrics } from './run-data.js';
import { SampleRun } from './testing/sample-run.js';

// A real redis-server child and a real S3 server (s3rver); the run is written by
// SampleRun in the coordinator's formats, the queues hold real BullMQ jobs.

let redisServer: EmbeddedRedis;
let s3: EmbeddedS3;
let redis: Redis;
let dir: string;
const open: Array<{ close(): Promise<unknown> }> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atomizer-dashboard-test-'));
  redisServer = await startEmbeddedRedis();
  s3 = await startEmbeddedS3({ dir });
  redis = connectRedis(redisServer.url);
});
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
  await redis.flushall();
});
afterAll(async () => {
  await redis.quit();
  await s3.stop();
  await redisServer.stop();
  await rm(dir, { recursive: true, force: true });
});

async function dashboard(store: ObjectStore, opts: Partial<Parameters<typeof startDashboard>[0]> = {}): Promise<Dashboard> {
  // A long poll period: the tests call refresh() themselves, so what they read is known.
  const d = await startDashboard({ redisUrl: redisServer.url, store, port: 0, intervalMs: 60_000, ...opts });
  open.push(d);
  return d;
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, init);
  expect(res.status, `${url}: ${res.status}`).toBe(200);
  return (await res.json()) as T;
}

async function addJobs(queue: string, n: number, opts: { delay?: number } = {}): Promise<void> {
  const q = new Queue(queue, { connection: redis });
  for (let i = 0; i < n; i++) await q.add('slice', { job: i }, opts);
  await q.close();
}

describe('dashboard API', () => {
  it('follows a run as its status and metrics are rewritten round after round', async () => {
    const store = s3.store('api');
    const d = await dashboard(store);
    let status = await json<StatusSnapshot>(`${d.url}api/status`);
    expect(status.run).toBeNull();
    expect(status.status).toBeNull();

    const run = new SampleRun({ store, redis, run: 'follow', rounds: 12, slices: 3, workers: 2, evalEvery: 5 });
    await run.begin();
    for (let i = 0; i < 3; i++) await run.advance();
    await d.source.refresh();
    status = await json<StatusSnapshot>(`${d.url}api/status`);
    expect(status.run).toBe('follow');
    expect(status.status?.state).toBe('running');
    expect(status.progress).toMatchObject({ round: 3, rounds: 12, fraction: 0.25 });
    expect(status.status?.loss).toBeCloseTo(run.lossAt(2), 12);
    expect(status.workers.map((w) => [w.id, w.state, w.alive])).toEqual([
      ['worker-1', 'busy', true],
      ['worker-2', 'busy', true],
    ]);
    expect(status.workers[0]?.backend).toBe('wasm (native kernels: on)');
    let metrics = await json<RunMetrics>(`${d.url}api/metrics`);
    expect(metrics.rounds.map((r) => r.round)).toEqual([0, 1, 2]);
    expect(metrics.rounds.map((r) => r.loss)).toEqual([0, 1, 2].map((r) => run.lossAt(r)));
    expect(metrics.rounds.map((r) => r.lr)).toEqual([0, 1, 2].map((r) => run.lrAt(r)));
    expect(metrics.evals).toEqual([]);
    expect(metrics.incidents).toEqual([]);

    // Two more rounds: the first evaluation (round 5) and a late slice (round 3).
    for (let i = 0; i < 2; i++) await run.advance();
    await d.source.refresh();
    metrics = await json<RunMetrics>(`${d.url}api/metrics`);
    expect(metrics.rounds).toHaveLength(5);
    expect(metrics.incidents).toEqual([{ round: 3, kind: 'late', job: 2, time: expect.any(String) }]);
    expect(metrics.evals).toHaveLength(12);
    expect(metrics.evals.slice(0, 6).map((r) => [r.split, r.seen])).toEqual([
      ['val', 'seen'],
      ['val', 'seen'],
      ['val', 'seen'],
      ['val', 'unseen'],
      ['val', 'unseen'],
      ['val', 'unseen'],
    ]);
    const nir2 = metrics.evals.find((r) => r.split === 'test' && r.modality === 'mss-gr-nir2');
    expect(nir2).toMatchObject({ seen: 'unseen', round: 4, samples: 2000 });
    expect(nir2?.accuracy).toBeCloseTo(0.78 * (1 - Math.exp(-5 / 6)) - 0.01, 12);

    // To the end: state done, ETA 0, a rejected slice with its reason, the latest evaluation with its trend.
    while (run.round < run.rounds) await run.advance();
    await d.source.refresh();
    status = await json<StatusSnapshot>(`${d.url}api/status`);
    expect(status.status?.state).toBe('done');
    expect(status.progress).toMatchObject({ round: 12, rounds: 12, fraction: 1, etaSeconds: 0 });
    metrics = await json<RunMetrics>(`${d.url}api/metrics`);
    expect(metrics.rounds).toHaveLength(12);
    expect(metrics.end?.state).toBe('done');
    expect(metrics.incidents.find((i) => i.kind === 'rejected')).toMatchObject({
      round: 6,
      job: 1,
      reason: expect.stringContaining('NaN'),
    });
    const latest = metrics.evals.find((r) => r.split === 'val' && r.modality === 'mss-grn');
    expect(latest?.round).toBe(11);
    expect(latest?.previous).toBeCloseTo(0.86 * (1 - Math.exp(-10 / 6)), 12);
  });

  it('picks the most recently updated run, or the one it is given', async () => {
    const store = s3.store('pick');
    const older = new SampleRun({ store, redis, run: 'older', rounds: 5, start: new Date('2030-01-01T00:00:00Z') });
    const newer = new SampleRun({ store, redis, run: 'newer', rounds: 5, start: new Date('2030-01-02T00:00:00Z') });
    await older.begin();
    await newer.begin();
    await newer.advance();
    await older.advance();
    const auto = await dashboard(store);
    expect((await json<StatusSnapshot>(`${auto.url}api/status`)).run).toBe('newer');
    const pinned = await dashboard(store, { run: 'older' });
    const s = await json<StatusSnapshot>(`${pinned.url}api/status`);
    expect(s.run).toBe('older');
    expect(s.status?.run).toBe('older');
  });

  it('reports a malformed status.json and metrics line without stopping', async () => {
    const store = s3.store('bad');
    const run = new SampleRun({ store, redis, run: 'bad', rounds: 4 });
    await run.begin();
    await run.advance();
    const keys = runKeys('bad');
    const good = Buffer.from(await store.get(keys.metrics)).toString('utf8');
    await store.put(keys.metrics, Buffer.from(`${good}{"type":"round","round":"x"}\nnot json\n`));
    await store.put(keys.status, Buffer.from(JSON.stringify({ run: 'bad', state: 'exploding' })));
    const d = await dashboard(store, { run: 'bad' });
    const s = await json<StatusSnapshot>(`${d.url}api/status`);
    expect(s.status).toBeNull();
    expect(s.errors.join('\n')).toMatch(/runs\/bad\/status\.json .*state/);
    const m = await json<RunMetrics>(`${d.url}api/metrics`);
    expect(m.rounds).toHaveLength(1);
    expect(m.warnings).toHaveLength(2);
    expect(m.warnings[0]).toMatch(/runs\/bad\/metrics\.jsonl:\d+: /);
    expect(m.warnings[1]).toMatch(/not JSON/);
  });

  it('keeps a worker whose heartbeat expired on the page as not alive', async () => {
    const store = s3.store('gone');
    const run = new SampleRun({ store, redis, run: 'gone', rounds: 4, workers: 2 });
    await run.begin();
    const d = await dashboard(store);
    expect((await json<StatusSnapshot>(`${d.url}api/status`)).workers.map((w) => w.alive)).toEqual([true, true]);
    await redis.del(`${WORKER_KEY_PREFIX}worker-2`);
    await d.source.refresh();
    const s = await json<StatusSnapshot>(`${d.url}api/status`);
    expect(s.workers.map((w) => [w.id, w.alive])).toEqual([
      ['worker-1', true],
      ['worker-2', false],
    ]);
  });
});

describe('dashboard /metrics', () => {
  it('serves Prometheus text with queue counts, round time, loss, lr, samples/s, workers and eval accuracy', async () => {
    const store = s3.store('prom');
    const run = new SampleRun({ store, redis, run: 'prom', rounds: 6, evalEvery: 5 });
    await run.begin();
    for (let i = 0; i < 5; i++) await run.advance();
    await addJobs('atomizer-train-0', 3);
    await addJobs('atomizer-eval', 2, { delay: 60_000 });
    const d = await dashboard(store);
    const res = await fetch(`${d.url}metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const samples = parsePrometheus(await res.text());
    const value = (name: string, labels: Record<string, string> = {}): number | undefined =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(value('atomizer_queue_jobs', { queue: 'atomizer-train-0', state: 'waiting' })).toBe(3);
    expect(value('atomizer_queue_jobs', { queue: 'atomizer-eval', state: 'delayed' })).toBe(2);
    expect(value('atomizer_round', { run: 'prom' })).toBe(5);
    expect(value('atomizer_loss', { run: 'prom' })).toBeCloseTo(run.lossAt(4), 9);
    expect(value('atomizer_learning_rate', { run: 'prom' })).toBeCloseTo(run.lrAt(4), 12);
    expect(value('atomizer_samples_per_second', { run: 'prom' })).toBeCloseTo(run.samplesPerSecondAt(4), 9);
    expect(value('atomizer_round_seconds', { run: 'prom' })).toBeCloseTo((2400 + 300 * Math.sin(4)) / 1000, 9);
    expect(value('atomizer_workers_alive', { state: 'all' })).toBe(2);
    expect(value('atomizer_eval_accuracy', { split: 'val', modality: 'mss-gr-nir2', seen: 'unseen' })).toBeCloseTo(
      0.78 * (1 - Math.exp(-5 / 6)),
      9,
    );
    expect(value('atomizer_run_info', { run: 'prom', state: 'running' })).toBe(1);
  });
});

describe('dashboard bull-board', () => {
  it('lists the run queues with their real jobs, finds new queues, and is read-only by default', async () => {
    const store = s3.store('board');
    await addJobs('atomizer-train-0', 3);
    await addJobs('atomizer-train-1', 2);
    await addJobs('other-train-0', 1); // another prefix: not this run's
    const d = await dashboard(store);
    type Board = {
      queues: Array<{ name: string; readOnlyMode: boolean; counts: Record<string, number>; jobs: Array<{ id: string; data: unknown }> }>;
    };
    let board = await json<Board>(`${d.url}queues/api/queues?activeQueue=atomizer-train-0&status=latest&page=1&jobsPerPage=10`);
    expect(board.queues.map((q) => q.name).sort()).toEqual(['atomizer-train-0', 'atomizer-train-1']);
    const train0 = board.queues.find((q) => q.name === 'atomizer-train-0');
    expect(train0?.readOnlyMode).toBe(true);
    expect(train0?.counts.waiting).toBe(3);
    expect(train0?.jobs.map((j) => j.data).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
      { job: 0 },
      { job: 1 },
      { job: 2 },
    ]);

    await addJobs('atomizer-rounds', 1);
    await d.source.refresh();
    board = await json<Board>(`${d.url}queues/api/queues`);
    expect(board.queues.map((q) => q.name).sort()).toEqual(['atomizer-rounds', 'atomizer-train-0', 'atomizer-train-1']);

    const pause = await fetch(`${d.url}queues/api/queues/atomizer-train-0/pause`, { method: 'PUT' });
    expect(pause.status).toBe(405);
    expect(await new Queue('atomizer-train-0', { connection: redis }).isPaused()).toBe(false);
    const page = await fetch(`${d.url}queues`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root">');
  });

  it('allows queue actions only when started with readOnly false', async () => {
    await addJobs('atomizer-train-0', 1);
    const d = await dashboard(s3.store('writes'), { readOnly: false });
    const pause = await fetch(`${d.url}queues/api/queues/atomizer-train-0/pause`, { method: 'PUT' });
    expect(pause.status).toBe(200);
    const q = new Queue('atomizer-train-0', { connection: redis });
    expect(await q.isPaused()).toBe(true);
    await q.close();
  });
});

describe('dashboard access', () => {
  it('refuses to bind beyond loopback without a token, and a short token', async () => {
    const store = s3.store('auth');
    await expect(startDashboard({ redisUrl: redisServer.url, store, host: '127.0.0.2', port: 0 })).rejects.toThrow(
      /refusing to serve the dashboard on 127\.0\.0\.2 without a token.*--token/,
    );
    await expect(startDashboard({ redisUrl: redisServer.url, store, host: '0.0.0.0', port: 0 })).rejects.toThrow(/without a token/);
    await expect(startDashboard({ redisUrl: redisServer.url, store, host: '127.0.0.2', port: 0, token: 'short' })).rejects.toThrow(
      /token is too short \(5 characters\)/,
    );
  });

  it('with a token, every route needs it: Bearer header, or ?token= once and then the cookie', async () => {
    const token = 'correct-horse-battery';
    const d = await dashboard(s3.store('auth'), { host: '127.0.0.2', token });
    expect(d.url).toMatch(/^http:\/\/127\.0\.0\.2:\d+\/$/);
    for (const path of [
      '',
      'api/status',
      'api/metrics',
      'api/events',
      'metrics',
      'queues',
      'queues/api/queues',
      'static/app.js',
      'vendor/uplot/uPlot.iife.min.js',
    ]) {
      const res = await fetch(`${d.url}${path}`, { redirect: 'manual' });
      expect(res.status, path).toBe(401);
      const wrong = await fetch(`${d.url}${path}`, { headers: { authorization: 'Bearer wrong-token-123' }, redirect: 'manual' });
      expect(wrong.status, path).toBe(401);
    }
    expect((await fetch(`${d.url}api/status`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await fetch(`${d.url}api/status?token=nope-nope-nope`, { redirect: 'manual' })).status).toBe(401);

    const first = await fetch(`${d.url}?token=${token}&x=1`, { redirect: 'manual' });
    expect(first.status).toBe(302);
    expect(first.headers.get('location')).toBe('/?x=1');
    const cookie = first.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^atomizer_dashboard_token=correct-horse-battery; Path=\/; HttpOnly; SameSite=Strict/);
    const withCookie = await fetch(`${d.url}api/status`, { headers: { cookie: cookie.split(';')[0] ?? '' } });
    expect(withCookie.status).toBe(200);
    const pageRes = await fetch(d.url, { headers: { cookie: cookie.split(';')[0] ?? '' } });
    expect(await pageRes.text()).toContain('<title>Atomizer training</title>');
  });

  it('without a token, refuses requests naming a non-loopback host (DNS rebinding)', async () => {
    const d = await dashboard(s3.store('auth'));
    const get = (host: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = request(`${d.url}api/status`, { headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await get(`localhost:${d.port}`)).toBe(200);
    expect(await get(`127.0.0.1:${d.port}`)).toBe(200);
    expect(await get(`attacker.example:${d.port}`)).toBe(403);
  });
});

interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text exposition format 0.0.4: every line a comment (HELP/TYPE) or a sample; anything else throws. */
function parsePrometheus(text: string): PromSample[] {
  const out: PromSample[] = [];
  const typed = new Set<string>();
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta !== null) {
      if (meta[1] === 'TYPE') {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).toContain(meta[3]);
        typed.add(meta[2] ?? '');
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (m === null) throw new Error(`/metrics line ${i + 1} is not a Prometheus sample: ${line}`);
    const name = m[1] ?? '';
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1] ?? ''] = (l[2] ?? '').replace(/\\(.)/g, '$1');
    const value = Number(m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : m[3]);
    if (Number.isNaN(value) && m[3] !== 'NaN') throw new Error(`/metrics line ${i + 1}: bad value ${m[3]}`);
    if (![...typed].some((t) => name === t || name.startsWith(`${t}_`)))
      throw new Error(`/metrics line ${i + 1}: ${name} has no # TYPE line`);
    out.push({ name, labels, value });
  }
  return out;
}
