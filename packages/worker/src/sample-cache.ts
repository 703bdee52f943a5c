import type { Sample, ShardReader } from '@atomizer/tokenizer';
import { keepNewestWithin } from './newest-within.js';

// Decoded samples of the shards a compute process holds in memory. A local-mode job reads
// hundreds of samples (15 steps x 64 in the demo config) and the data plan comes back to
// the same samples every epoch; decoding them again each job (an object per sample and
// band, an await per sample) sat on the round's critical path between the job's pickup and
// its compute. Each sample is decoded once here and handed to every later job that reads it.
//
// The samples are shared, so every one handed out is frozen (the sample, its band list, each
// band's description, its labels and time): a caller that tried to change one throws instead
// of changing every later job's batch. Their rasters are views on the cached shard bytes and
// cannot be frozen; nothing writes them (and nothing did before: earlier jobs already read
// views on the same cached bytes). Bounded by an estimate of the heap the decoded objects
// take, the least recently read shard dropped first.

/** Heap of one decoded sample, about: measured 1.3 KiB at 4 bands, 3.6 KiB at 12, 3.9 KiB at 13. */
export function decodedSampleBytes(bands: number): number {
  return 600 + 256 * bands;
}

/** Heap for decoded samples, over every shard of a compute process. */
export const DEFAULT_DECODED_SAMPLE_BYTES = 64 * 2 ** 20;

export class DecodedSamples {
  /** Per shard (by sha256), each sample once decoded, and the heap all of them would take (the bound counts whole shards); in order of last use. */
  private readonly shards = new Map<string, { samples: Array<Sample | undefined>; bytes: number }>();

  constructor(private readonly maxBytes = DEFAULT_DECODED_SAMPLE_BYTES) {}

  /**
   * Samples [start, end) of the shard `reader` reads (its bytes' sha256), each decoded at
   * most once while kept. `keep: false` decodes without keeping (a reader whose bytes left
   * the memory cache: keeping its samples would keep those bytes too). Frozen either way.
   */
  async range(reader: ShardReader, sha256: string, start: number, end: number, keep: boolean): Promise<Sample[]> {
    const kept = keep ? this.slotsOf(reader, sha256) : undefined;
    const out: Sample[] = [];
    for (let i = start; i < end; i++) {
      let s = kept?.[i];
      if (s === undefined) {
        s = freezeSample(await reader.get(i));
        if (kept !== undefined) kept[i] = s;
      }
      out.push(s);
    }
    return out;
  }

  /** Forget a shard's samples (its bytes left the memory cache). */
  drop(sha256: string): void {
    this.shards.delete(sha256);
  }

  /** Shards and samples kept, and the estimate the bound counts (tests, telemetry). */
  get size(): { shards: number; samples: number; bytes: number } {
    let samples = 0;
    let bytes = 0;
    for (const k of this.shards.values()) {
      bytes += k.bytes;
      for (const s of k.samples) if (s !== undefined) samples++;
    }
    return { shards: this.shards.size, samples, bytes };
  }

  /** The shard's slots, made most recent; undefined when the shard alone exceeds the bound. */
  private slotsOf(reader: ShardReader, sha256: string): Array<Sample | undefined> | undefined {
    let kept = this.shards.get(sha256);
    if (kept !== undefined) {
      this.shards.delete(sha256);
      this.shards.set(sha256, kept);
      return kept.samples;
    }
    const entries = reader.header.samples;
    let bytes = 0;
    for (const e of entries) bytes += decodedSampleBytes(e.bands.length);
    if (bytes > this.maxBytes) return undefined;
    kept = { samples: new Array<Sample | undefined>(entries.length), bytes };
    this.shards.set(sha256, kept);
    keepNewestWithin(this.shards, (k) => k.bytes, this.maxBytes);
    return kept.samples;
  }
}

function freezeSample(s: Sample): Sample {
  for (const b of s.bands) Object.freeze(b);
  Object.freeze(s.bands);
  Object.freeze(s.labels);
  if (s.time !== undefined) Object.freeze(s.time);
  return Object.freeze(s);
}
