import type { Sample, ShardReader } from '@atomizer/tokenizer';

// Decoded samples of the shards a compute process holds in memory. A local-mode job reads
// hundreds of samples (15 steps x 64 in the demo config) and the data plan comes back to
// the same samples every epoch; decoding them again each job (an object per sample and
// band, an await per sample) sat on the round's critical path between the job's pickup and
// its compute. Each sample is decoded once here and handed to every later job that reads it.
//
// The samples are shared: frozen (the sample, its band list, each band's description and its
// labels; the rasters are views on the cached shard bytes, which nothing writes either), so a
// caller that tried to change one would throw instead of changing every later job's batch.
// Bounded by a number of samples over all shards, the least recently read shard dropped first.

/** Decoded samples kept at most, over every shard: about 1 KiB of heap each. */
export const DEFAULT_MAX_DECODED_SAMPLES = 65_536;

export class DecodedSamples {
  /** Per shard (by sha256), each sample once decoded; in order of last use. */
  private readonly shards = new Map<string, Array<Sample | undefined>>();
  /** Sum of the kept shards' sample counts (the bound counts whole shards). */
  private held = 0;

  constructor(private readonly maxSamples = DEFAULT_MAX_DECODED_SAMPLES) {}

  /**
   * Samples [start, end) of the shard `reader` reads (its bytes' sha256), each decoded at
   * most once while kept. `keep: false` decodes without keeping (a reader whose bytes left
   * the memory cache: keeping its samples would keep those bytes too).
   */
  async range(reader: ShardReader, sha256: string, start: number, end: number, keep = true): Promise<Sample[]> {
    const kept = keep ? this.slotsOf(reader, sha256) : undefined;
    const out: Sample[] = [];
    for (let i = start; i < end; i++) {
      let s = kept?.[i];
      if (s === undefined) {
        s = await reader.get(i);
        if (kept !== undefined) {
          s = freezeSample(s);
          kept[i] = s;
        }
      }
      out.push(s);
    }
    return out;
  }

  /** Forget a shard's samples (its bytes left the memory cache). */
  drop(sha256: string): void {
    const kept = this.shards.get(sha256);
    if (kept === undefined) return;
    this.shards.delete(sha256);
    this.held -= kept.length;
  }

  /** Shards and samples kept (tests, telemetry). */
  get size(): { shards: number; samples: number } {
    let samples = 0;
    for (const k of this.shards.values()) for (const s of k) if (s !== undefined) samples++;
    return { shards: this.shards.size, samples };
  }

  /** The shard's slots, made most recent; undefined when the shard alone exceeds the bound. */
  private slotsOf(reader: ShardReader, sha256: string): Array<Sample | undefined> | undefined {
    let kept = this.shards.get(sha256);
    if (kept !== undefined) {
      this.shards.delete(sha256);
      this.shards.set(sha256, kept);
      return kept;
    }
    const n = reader.length;
    if (n > this.maxSamples) return undefined;
    for (const oldest of this.shards.keys()) {
      if (this.held + n <= this.maxSamples) break;
      this.drop(oldest);
    }
    kept = new Array<Sample | undefined>(n);
    this.shards.set(sha256, kept);
    this.held += n;
    return kept;
  }
}

function freezeSample(s: Sample): Sample {
  for (const b of s.bands) Object.freeze(b);
  Object.freeze(s.bands);
  Object.freeze(s.labels);
  if (s.time !== undefined) Object.freeze(s.time);
  return Object.freeze(s);
}
