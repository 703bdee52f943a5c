import { describe, expect, it } from 'vitest';
import { MAX_JOB_BYTES, checkJobSize, evalJobId, parseJob, queueNames, trainJobId } from './jobs.js';

const sha = 'a'.repeat(64);
const job = {
  kind: 'train',
  run: 'r1',
  round: 2,
  job: 1,
  configKey: 'runs/r1/config.json',
  weightsKey: 'runs/r1/weights/000002.bin',
  weightsSha256: sha,
  manifestKey: 'datasets/d/manifest.json',
  parts: [{ shard: 0, start: 0, end: 16 }],
  seed: 7,
  resultKey: 'runs/r1/results/000002/000001.bin',
  mode: 'sync',
  localSteps: 1,
  lr: 0.001,
};

describe('jobs', () => {
  it('parses a train job and an eval job', () => {
    expect(parseJob(job).kind).toBe('train');
    const ev = { ...job, kind: 'eval', job: 'e0', split: 'test', modality: 'mss-all', shardKey: 'datasets/d/shards/test/000000.bin', shardSha256: sha, start: 0, end: 16 } as Record<string, unknown>;
    delete ev.parts;
    delete ev.mode;
    delete ev.localSteps;
    delete ev.lr;
    expect(parseJob(ev).kind).toBe('eval');
  });

  it('names the job and the field that is wrong', () => {
    expect(() => parseJob({ ...job, parts: [{ shard: 0, start: 4, end: 4 }] }, 'r1.r000002.j000001')).toThrow(/job r1\.r000002\.j000001 is malformed: parts\.0: end must be greater/);
    expect(() => parseJob({ ...job, parts: [job.parts[0], job.parts[0]] }, 'j')).toThrow(/a sync job has exactly one part/);
    expect(() => parseJob({ ...job, weights: new Array(10).fill(0) }, 'j')).toThrow(/Unrecognized key/);
    expect(() => parseJob({ ...job, weightsSha256: 'xyz' }, 'j')).toThrow(/weightsSha256/);
  });

  it('refuses an oversized payload before it reaches Redis', () => {
    expect(checkJobSize(job, 'j')).toBeLessThan(MAX_JOB_BYTES);
    expect(() => checkJobSize({ ...job, extra: 'x'.repeat(MAX_JOB_BYTES) }, 'r1.r000002.j000001')).toThrow(
      /job r1\.r000002\.j000001: payload is \d+ bytes, over the 4096-byte limit/,
    );
  });

  it('builds deterministic ids without ":" and queue names', () => {
    expect(trainJobId('r1', 3, 12)).toBe('r1.r000003.j000012');
    expect(evalJobId('r1', 3, 'test-0')).toBe('r1.r000003.test-0');
    expect(queueNames('atomizer', 2)).toEqual({ train: ['atomizer-train-0', 'atomizer-train-1'], eval: 'atomizer-eval', rounds: 'atomizer-rounds' });
    expect(() => queueNames('a:b', 1)).toThrow(/':'/);
  });
});
