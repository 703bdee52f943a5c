import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStore, parseRunConfig, type StoredRun } from '@atomizer/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStore } from '../run-store.js';
import { applyResumeChanges } from './resume-changes.js';

// The stored side of a resume with changes, on a real folder store: what is written when
// the changes are safe, and that nothing is when one is not.

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atomizer-resume-changes-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function storedRun(name: string): Promise<RunStore> {
  const runStore = new RunStore(new LocalStore(join(dir, name)), 'r');
  const stored: StoredRun = {
    format: 'atomizer-run/1',
    config: parseRunConfig({ run: 'r', train: { rounds: 40 } }),
    manifestKey: 'datasets/statlog/manifest.json',
    model: {},
    modalities: { train: [], val: [], test: [] },
    params: 1,
    created: '2026-12-01T00:00:00.000Z',
  };
  await runStore.writeConfig(stored);
  await runStore.writeLatest({
    round: 40,
    key: runStore.keys.checkpoint(40, 'state.safetensors'),
    sha256: '0'.repeat(64),
    time: stored.created,
  });
  return runStore;
}

async function snapshot(runStore: RunStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const k of await runStore.store.list('runs/')) out.set(k, Buffer.from(await runStore.store.get(k)).toString('base64'));
  return out;
}

describe('applyResumeChanges', () => {
  it('applies safe changes to config.json, records them after the checkpoint round and prints one line per field', async () => {
    const runStore = await storedRun('safe');
    const lines: string[] = [];
    const now = new Date('2026-12-04T10:00:00.000Z');
    const next = await applyResumeChanges(runStore, {
      given: { run: 'r', train: { rounds: 45, lr: 1e-4 } },
      log: (m) => lines.push(m),
      now,
    });
    expect(next?.config.train.rounds).toBe(45);
    expect(lines).toEqual([
      'run r: applying 2 config changes from round 41 (recorded in runs/r/config-changes.jsonl):',
      '  train.rounds: 40 -> 45',
      '  train.lr: 0.001 -> 0.0001',
    ]);
    const stored = await runStore.config();
    expect(stored?.config.train).toMatchObject({ rounds: 45, lr: 1e-4 });
    expect(stored?.created).toBe('2026-12-01T00:00:00.000Z');
    expect(await runStore.configChanges()).toEqual([
      {
        time: now.toISOString(),
        round: 40,
        changes: [
          { field: 'train.rounds', from: 40, to: 45 },
          { field: 'train.lr', from: 1e-3, to: 1e-4 },
        ],
      },
    ]);
    // Given again: nothing differs any more, nothing is written or recorded.
    const before = await snapshot(runStore);
    await applyResumeChanges(runStore, { given: { train: { rounds: 45, lr: 1e-4 } } });
    expect(await snapshot(runStore)).toEqual(before);
    // A second resume with a change appends a second record.
    await applyResumeChanges(runStore, { given: { rounds: { quorum: 0.5 } } });
    expect((await runStore.configChanges()).map((r) => r.changes)).toEqual([
      [
        { field: 'train.rounds', from: 40, to: 45 },
        { field: 'train.lr', from: 1e-3, to: 1e-4 },
      ],
      [{ field: 'rounds.quorum', from: 1, to: 0.5 }],
    ]);
  });

  it('refuses a change of the model (even beside a safe one) or fewer rounds than done, with nothing written', async () => {
    const runStore = await storedRun('refused');
    const before = await snapshot(runStore);
    await expect(applyResumeChanges(runStore, { given: { model: { preset: 'small' }, train: { rounds: 45 } } })).rejects.toThrow(
      /^cannot resume run 'r' with model\.preset "tiny" -> "small": it changes what the run trains; start a new run/,
    );
    await expect(applyResumeChanges(runStore, { given: { train: { rounds: 30 } } })).rejects.toThrow(
      /train\.rounds 30: 40 rounds are already done/,
    );
    expect(await snapshot(runStore)).toEqual(before);
    expect(await runStore.configChanges()).toEqual([]);
  });

  it('leaves a run with no stored config to be started', async () => {
    const runStore = new RunStore(new LocalStore(join(dir, 'empty')), 'r');
    expect(await applyResumeChanges(runStore, { given: { train: { rounds: 45 } } })).toBeUndefined();
    expect(await runStore.store.list('runs/')).toEqual([]);
  });
});
