import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ObjectStore } from '@atomizer/protocol';
import { connectRedis } from '@atomizer/protocol/redis';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import express, { type Request, type Response } from 'express';
import { authMiddleware, checkBinding } from './auth.js';
import { dashboardRegistry } from './prometheus.js';
import { DashboardSource, QUEUE_STATES, type QueueState, type StatusSnapshot } from './source.js';

// `atomizer dashboard`: bull-board for the queues at /queues, the training page at /,
// live updates over Server-Sent Events (/api/events), JSON at /api/status and
// /api/metrics, Prometheus text at /metrics. Everything is read from Redis and the
// object store; the dashboard never talks to the coordinator or the workers.

export interface DashboardOptions {
  redisUrl: string;
  store: ObjectStore;
  /** The run to show; default: the most recently updated runs/<run>/status.json. */
  run?: string;
  /** Queue name prefix (default: the run config's queues.prefix, else 'atomizer'). */
  queuePrefix?: string;
  /** Interface to bind (default 127.0.0.1). Anything but loopback needs a token. */
  host?: string;
  /** TCP port (default 8080; 0 picks a free one). */
  port?: number;
  /** Required on every route when given. */
  token?: string;
  /** bull-board read-only (default true): no retry, remove, pause, clean from the UI. */
  readOnly?: boolean;
  /** Poll period (ms) of status, metrics, workers and queues (default 1000). */
  intervalMs?: number;
}

export interface Dashboard {
  /** http://host:port/ */
  url: string;
  port: number;
  /** The poller behind the pages (tests read it). */
  source: DashboardSource;
  close(): Promise<void>;
}

const requireFrom = createRequire(import.meta.url);
const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));
const UPLOT_DIR = dirname(requireFrom.resolve('uplot/dist/uPlot.iife.min.js'));

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 8080;
  const readOnly = opts.readOnly ?? true;
  if (opts.token === '') throw new Error('dashboard token is empty: give a secret of at least 8 characters, or no token on 127.0.0.1');
  checkBinding(host, opts.token);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`dashboard port must be an integer 0-65535, got ${port}`);

  const redis = connectRedis(opts.redisUrl);
  redis.on('error', () => undefined); // reported through the snapshot's errors; ioredis reconnects
  const queues = new Map<string, Queue>();

  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath('/queues');
  const board = createBullBoard({ queues: [], serverAdapter, options: { uiConfig: { boardTitle: 'Atomizer queues' } } });

  const queueOf = (name: string): Queue => {
    let q = queues.get(name);
    if (q === undefined) {
      q = new Queue(name, { connection: redis });
      q.on('error', () => undefined);
      queues.set(name, q);
      board.addQueue(new BullMQAdapter(q, { readOnlyMode: readOnly, allowRetries: !readOnly }));
    }
    return q;
  };

  const source = new DashboardSource({
    redis,
    store: opts.store,
    ...(opts.run !== undefined ? { run: opts.run } : {}),
    ...(opts.queuePrefix !== undefined ? { queuePrefix: opts.queuePrefix } : {}),
    ...(opts.intervalMs !== undefined ? { intervalMs: opts.intervalMs } : {}),
    onQueues: (names) => names.forEach(queueOf),
    queueCounts: async (name) => {
      const counts = await queueOf(name).getJobCounts(...QUEUE_STATES);
      return Object.fromEntries(QUEUE_STATES.map((s) => [s, counts[s] ?? 0])) as Record<QueueState, number>;
    },
  });
  const registry = dashboardRegistry(source);

  const app = express();
  app.disable('x-powered-by');
  app.use(authMiddleware(opts.token));
  app.get('/', (_req, res) => res.sendFile('index.html', { root: PUBLIC_DIR }));
  app.use('/static', express.static(PUBLIC_DIR, { index: false }));
  app.use('/vendor/uplot', express.static(UPLOT_DIR, { index: false }));
  app.get('/api/status', (_req, res) => {
    res.json(source.current);
  });
  app.get('/api/metrics', (_req, res) => {
    res.json(source.currentMetrics ?? { run: source.current.run, rounds: [], evals: [], incidents: [], checkpoints: [], warnings: [] });
  });
  app.get('/api/events', (req, res) => events(req, res, source));
  app.get('/metrics', async (_req, res) => {
    const text = await registry.metrics();
    res.writeHead(200, { 'Content-Type': registry.contentType }).end(text); // exactly prom-client's type (express would add a charset of its own)
  });
  app.use('/queues', serverAdapter.getRouter() as express.Router);

  await source.start();

  const server: Server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          err.code === 'EADDRINUSE'
            ? `dashboard: port ${port} on ${host} is in use: choose another with --port (0 picks a free one)`
            : `dashboard: cannot listen on ${host}:${port} (${err.message})`,
        ),
      ),
    );
    server.listen(port, host, () => resolve());
  }).catch(async (err: unknown) => {
    await source.stop();
    for (const q of queues.values()) await q.close().catch(() => undefined);
    redis.disconnect();
    throw err;
  });
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${bound}/`,
    port: bound,
    source,
    close: () =>
      (closing ??= (async () => {
        await source.stop();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        for (const q of queues.values()) await q.close().catch(() => undefined);
        await redis.quit().catch(() => redis.disconnect());
      })()),
  };
}

/** Server-Sent Events: `status` every poll, `metrics` when the run's metrics (or the run) changed. */
function events(req: Request, res: Response, source: DashboardSource): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.write('retry: 2000\n\n');
  let sentMetrics = '';
  const send = (s: StatusSnapshot): void => {
    res.write(`event: status\ndata: ${JSON.stringify(s)}\n\n`);
    const id = `${s.run ?? ''}#${s.metricsVersion}`;
    if (id !== sentMetrics && source.currentMetrics !== null) {
      sentMetrics = id;
      res.write(`event: metrics\ndata: ${JSON.stringify(source.currentMetrics)}\n\n`);
    }
  };
  send(source.current);
  const unsubscribe = source.subscribe(send);
  req.on('close', unsubscribe);
}
