import { describe, expect, it } from 'vitest';
import { MAX_JOB_BYTES, checkJobSize, evalJobId, parseJob, predictJobId, queueNames, trainJobId } from './jobs.js';
import { runKeys } from './keys.js';

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
    const ev = {
      ...job,
      kind: 'eval',
      job: 'e0',
      split: 'test',
      modality: 'mss-all',
      shardKey: 'datasets/d/shards/test/000000.bin',
      shardSha256: sha,
      start: 0,
      end: 16,
    } as Record<string, unknown>;
    delete ev.parts;
    delete ev.mode;
    delete ev.localSteps;
    delete ev.lr;
    expect(parseJob(ev).kind).toBe('eval');
  });

  it('names the job and the field that is wrong', () => {
    expect(() => parseJob({ ...job, parts: [{ shard: 0, start: 4, end: 4 }] }, 'r1.r000002.j000001')).toThrow(
      /job r1\.r000002\.j000001 is malformed: parts\.0: end must be greater/,
    );
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
    expect(queueNames('atomizer', 2)).toEqual({
      train: ['atomizer-train-0', 'atomizer-train-1'],
      eval: 'atomizer-eval',
      rounds: 'atomizer-rounds',
    });
    expect(() => queueNames('a:b', 1)).toThrow(/':'/);
  });
});

describe('predict jobs', () => {
  const predict = {
    kind: 'predict',
    run: 'r1',
    predict: '20261204T101500000Z-1f2e3d4c',
    configKey: 'runs/r1/config.json',
    round: 100,
    checkpointKey: 'runs/r1/checkpoints/000100/state.safetensors',
    checkpointSha256: sha,
    input: 'https://example.org/scene.tif',
    width: 247,
    height: 237,
    modality: '{"name":"s2-rgbn-10m"}',
    normalisation: [['sentinel-2a:B02', 0.05, 0.02]],
    patch: 5,
    halo: 2,
    stride: 1,
    tileSize: 64,
    batchSize: 512,
    probabilities: false,
    start: 0,
    end: 4,
    resultKey: 'runs/r1/predict/20261204T101500000Z-1f2e3d4c/000000-000004.bin',
  };

  it('parses a predict job, and names what is wrong in one', () => {
    expect(parseJob(predict).kind).toBe('predict');
    expect(() => parseJob({ ...predict, end: 0 }, 'p')).toThrow(/job p is malformed: end: end must be greater than start/);
    expect(() => parseJob({ ...predict, halo: 1 }, 'p')).toThrow(/halo: halo must be half the patch/);
    expect(() => parseJob({ ...predict, tileSize: 40 }, 'p')).toThrow(/tileSize/);
    expect(() => parseJob({ ...predict, weightsKey: 'x' }, 'p')).toThrow(/Unrecognized key/);
    expect(checkJobSize(predict, 'p')).toBeLessThan(MAX_JOB_BYTES);
  });

  it('ids and result keys name the run, the prediction and the tile range', () => {
    expect(predictJobId('r1', 'p1', 4, 8)).toBe('r1.pp1.t000004-000008');
    expect(runKeys('r1').predictResult('p1', 4, 8)).toBe('runs/r1/predict/p1/000004-000008.bin');
    expect(runKeys('r1').predictPrefix('p1')).toBe('runs/r1/predict/p1/');
    expect(() => runKeys('r1').predictPrefix('a/b')).toThrow(/invalid predict id "a\/b"/);
  });
});
