import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore, decodeFlat, encodeFlat, readFlatHeader, sha256Hex, type ReduceJob, type ReducePlan } from '@atomizer/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reduceJob } from './reduce-job.js';
import { stubUpdate } from './stub-compute.js';

// A range reducer job against a real folder store: its range's mean is the float64 sum in
// job-id order over the plan's total, rounded once; a plan that changed is refused; a
// result gone or bad is named in the reply, and nothing is written.

let dir: string;
let store: LocalStore;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atomizer-reduce-job-'));
  store = new LocalStore(dir);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const P = 1000;
const opts = () => ({ store, backend: 'test', worker: 'w' });

async function setup(prefix: string): Promise<{ job: ReduceJob; updates: Float32Array[] }> {
  const updates = [0, 1, 2].map((j) => stubUpdate({ seed: 10 + j }, P).map((v, i) => v * (i % 7) * 10 ** j));
  const results: ReducePlan['results'] = [];
  for (const [j, update] of updates.entries()) {
    const key = `${prefix}/result-${j}.bin`;
    const body = encodeFlat({ kind: 'train-result', job: j }, { update });
    await store.put(key, body);
    const h = readFlatHeader(body, key);
    results.push({
      job: j,
      key,
      samples: j + 1,
      fmt: 'f32',
      length: P,
      payloadOffset: h.payloadOffset,
      payloadEnd: h.payloadEnd,
      chunkBytes: h.chunks!.bytes,
      chunkSha256: h.chunks!.sha256,
    });
  }
  const plan: ReducePlan = { kind: 'reduce-plan', run: 'r', round: 1, generation: 1, params: P, total: 6, results };
  const planBytes = new TextEncoder().encode(JSON.stringify(plan));
  await store.put(`${prefix}/plan.json`, planBytes);
  const job: ReduceJob = {
    kind: 'reduce',
    run: 'r',
    round: 1,
    range: 1,
    from: 300,
    to: 700,
    planKey: `${prefix}/plan.json`,
    planSha256: sha256Hex(planBytes),
    resultKey: `${prefix}/out.bin`,
  };
  return { job, updates };
}

describe('reduceJob', () => {
  it("writes its range's mean: the float64 sum in job-id order over the plan's total, rounded once", async () => {
    const { job, updates } = await setup('ok');
    const { reply } = await reduceJob(job, opts());
    expect(reply.refused).toBeUndefined();
    const body = await store.get(job.resultKey);
    expect(reply.payloadSha256).toBe(readFlatHeader(body, job.resultKey).payloadSha256);
    expect(reply.bytesOut).toBe(body.byteLength);
    const flat = decodeFlat(body, job.resultKey);
    expect(flat.meta).toMatchObject({
      kind: 'range-result',
      round: 1,
      range: 1,
      from: 300,
      to: 700,
      planSha256: job.planSha256,
      results: 3,
    });
    const want = new Float32Array(400);
    for (let i = 300; i < 700; i++) {
      let s = 0;
      for (const [j, u] of updates.entries()) s = s + (j + 1) * (u[i] as number);
      want[i - 300] = s / 6;
    }
    expect(Buffer.from((flat.arrays.mean as Float32Array).buffer).equals(Buffer.from(want.buffer))).toBe(true);
  });

  it('refuses a plan that changed since the job was made, and names a result that is gone or bad', async () => {
    const { job } = await setup('bad');
    await expect(reduceJob({ ...job, planSha256: 'f'.repeat(64) }, opts())).rejects.toThrow(
      /bad\/plan\.json: sha256 .* \(changed in the store\)/,
    );
    await store.put('bad/result-1.bin', encodeFlat({ kind: 'train-result', job: 1 }, { update: new Float32Array(P).fill(Number.NaN) }));
    expect((await reduceJob(job, opts())).reply.refused).toMatchObject({
      job: 1,
      reason: expect.stringMatching(/bad\/result-1\.bin chunk 0 .*has sha256/),
    });
    await store.delete('bad/result-1.bin');
    expect((await reduceJob(job, opts())).reply.refused).toMatchObject({ job: 1, reason: expect.stringMatching(/gone from the store/) });
    expect(await store.exists(job.resultKey)).toBe(false);
  });
});
