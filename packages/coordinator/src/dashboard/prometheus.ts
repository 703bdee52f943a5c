import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { DashboardSource } from './source.js';

// GET /metrics: the snapshot in Prometheus text format. Gauges are filled from the
// poller's latest snapshot at scrape time (collect), so a scrape never waits on
// the store or Redis. One Registry per dashboard (tests run several in a process).

export function dashboardRegistry(source: DashboardSource): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'atomizer_dashboard_' });

  const runLabel = (): string => source.current.run ?? '';
  const status = () => source.current.status;
  const lastRound = () => source.currentMetrics?.rounds.at(-1);

  new Gauge({
    name: 'atomizer_queue_jobs',
    help: 'BullMQ jobs per queue and state',
    labelNames: ['queue', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const q of source.current.queues) for (const [state, n] of Object.entries(q.counts)) this.set({ queue: q.name, state }, n);
    },
  });
  new Gauge({
    name: 'atomizer_run_info',
    help: 'The run the dashboard follows (value 1), with its state',
    labelNames: ['run', 'state', 'mode', 'dataset'],
    registers: [registry],
    collect() {
      this.reset();
      const s = status();
      if (s !== null) this.set({ run: s.run, state: s.state, mode: s.mode, dataset: s.dataset }, 1);
    },
  });
  const runGauge = (name: string, help: string, value: () => number | undefined): void => {
    new Gauge({
      name,
      help,
      labelNames: ['run'],
      registers: [registry],
      collect() {
        this.reset();
        const v = value();
        if (v !== undefined && Number.isFinite(v)) this.set({ run: runLabel() }, v);
      },
    });
  };
  runGauge('atomizer_round', 'Current round of the run (status.json)', () => status()?.round);
  runGauge('atomizer_rounds', 'Rounds the run is configured for', () => status()?.rounds);
  runGauge('atomizer_round_seconds', 'Wall time of the last round (first enqueue to new weights published)', () => {
    const r = lastRound();
    return r !== undefined ? r.wallMs / 1000 : undefined;
  });
  runGauge('atomizer_round_overhead_seconds', 'Last round wall time minus its slowest slice compute time', () => {
    const r = lastRound();
    return r !== undefined ? r.overheadMs / 1000 : undefined;
  });
  runGauge('atomizer_loss', 'Training loss of the last round', () => lastRound()?.loss ?? status()?.loss);
  runGauge('atomizer_learning_rate', 'Learning rate of the last round', () => lastRound()?.lr ?? status()?.lr);
  runGauge(
    'atomizer_samples_per_second',
    'Training samples per second of the last round',
    () => lastRound()?.samplesPerSecond ?? status()?.samplesPerSecond,
  );
  runGauge('atomizer_eta_seconds', 'Estimated seconds until the run ends', () => source.current.progress?.etaSeconds ?? undefined);
  runGauge('atomizer_incidents', 'Rejected, late and failed slices seen (most recent 50)', () => source.currentMetrics?.incidents.length);

  new Gauge({
    name: 'atomizer_workers_alive',
    help: 'Workers with a live heartbeat, by state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      const alive = source.current.workers.filter((w) => w.alive);
      this.set({ state: 'all' }, alive.length);
      for (const st of ['starting', 'idle', 'busy', 'stopping']) this.set({ state: st }, alive.filter((w) => w.state === st).length);
    },
  });
  const evalGauge = (
    name: string,
    help: string,
    pick: (r: { accuracy?: number; macroF1?: number; mAP?: number }) => number | undefined,
  ): void => {
    new Gauge({
      name,
      help,
      labelNames: ['run', 'split', 'modality', 'seen'],
      registers: [registry],
      collect() {
        this.reset();
        for (const r of source.currentMetrics?.evals ?? []) {
          const v = pick(r);
          if (v !== undefined) this.set({ run: runLabel(), split: r.split, modality: r.modality, seen: r.seen }, v);
        }
      },
    });
  };
  evalGauge('atomizer_eval_accuracy', 'Overall accuracy of the latest evaluation per split and modality', (r) => r.accuracy);
  evalGauge('atomizer_eval_macro_f1', 'Macro F1 of the latest evaluation per split and modality', (r) => r.macroF1);
  evalGauge('atomizer_eval_map', 'Macro mAP (multi-label) of the latest evaluation per split and modality', (r) => r.mAP);
  return registry;
}
