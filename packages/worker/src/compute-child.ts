// The compute process of a worker (docs/design.md: compute never blocks the BullMQ
// lock renewal; a separate OS process, not a worker thread, because tfjs's
// native backends break in worker threads). Forked by ComputeProcess with an
// IPC channel; exits when the channel closes (its parent died).
import { selectBackend, type BackendChoice } from '@atomizer/model';
import { openStore, parseJob } from '@atomizer/protocol';
import { runJob, type ComputeOptions } from './compute.js';
import { JobCache } from './job-cache.js';
import { PermanentJobError } from './job-errors.js';
import type { ChildMessage, ParentMessage } from './compute-process.js';
import { STUB_BACKEND } from './stub-compute.js';

function send(msg: ChildMessage): void {
  // After the parent is gone there is no one to tell (and send would throw).
  if (process.connected) process.send?.(msg, undefined, undefined, () => undefined);
}

let cache: JobCache | undefined;
let opts: ComputeOptions | undefined;

process.on('disconnect', () => process.exit(0));

process.on('message', (raw: unknown) => {
  const msg = raw as ParentMessage;
  if (msg.type === 'init') {
    void (async () => {
      try {
        if (msg.openblasThreads !== undefined) process.env.OPENBLAS_NUM_THREADS ??= String(msg.openblasThreads);
        const stub = msg.compute === 'stub';
        const info = stub
          ? { name: STUB_BACKEND, native: false, detail: 'no model: pseudo-gradients (--compute stub)' }
          : await selectBackend(msg.backend as BackendChoice, () => undefined);
        const backend = info.native ? 'wasm+native' : info.name;
        opts = {
          store: await openStore(msg.store),
          backend,
          ...(stub ? { compute: 'stub' as const } : {}),
          worker: msg.worker,
          ...(msg.cacheDir !== undefined ? { cacheDir: msg.cacheDir } : {}),
          ...(msg.cacheBytes !== undefined ? { cacheBytes: msg.cacheBytes } : {}),
        };
        cache = new JobCache(opts);
        send({ type: 'ready', backend, detail: info.detail });
      } catch (err) {
        send({ type: 'init-failed', message: (err as Error).message });
      }
    })();
    return;
  }
  if (msg.type === 'job') {
    void (async () => {
      if (cache === undefined || opts === undefined) {
        send({ type: 'failed', id: msg.id, message: 'compute process not initialised', permanent: false });
        return;
      }
      try {
        const job = parseJob(msg.data, msg.id);
        const out = await runJob(job, cache, {
          ...opts,
          onProgress: (stage, detail) => send({ type: 'progress', id: msg.id, stage, ...(detail !== undefined ? { detail } : {}) }),
        });
        send({ type: 'done', id: msg.id, reply: out.reply });
      } catch (err) {
        const e = err as Error;
        const permanent = err instanceof PermanentJobError || /is malformed/.test(e.message);
        send({ type: 'failed', id: msg.id, message: e.message, permanent });
      }
    })();
  }
});

send({ type: 'hello', pid: process.pid });
