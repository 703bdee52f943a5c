// The one seeded pseudo-random generator of the project. Every seeded choice
// (atom subsampling, crops, spectral augmentation, the model's deterministic
// initialisation) draws from it, so the same seed gives the same numbers in
// every process, on every backend and in every worker, whatever their count.
//
// Generator: xoshiro128** (Blackman & Vigna, 2018), 32-bit integer ops only,
// so JavaScript reproduces it bit for bit. State seeded through splitmix32,
// which also hashes (seed, sample index, epoch ...) tuples into child seeds.

const TWO_POW_MINUS_32 = 1 / 4294967296;

/** splitmix32 finaliser: a bijective 32-bit mix (good avalanche), used to seed and to derive seeds. */
function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

function checkSeedPart(part: number, what: string): number {
  if (!Number.isFinite(part) || !Number.isInteger(part)) {
    throw new Error(`${what}: expected a finite integer seed, got ${part}`);
  }
  // Integers beyond 32 bits contribute their high word too, so 2^32 + 1 != 1.
  const lo = part >>> 0;
  const hi = Math.floor(part / 4294967296) >>> 0;
  return hi === 0 ? lo : (mix32(hi) ^ lo) >>> 0;
}

/**
 * Derive a child seed from a seed and any number of integer parts, e.g.
 * `deriveSeed(runSeed, sampleIndex, epoch)`. Deterministic, order-sensitive
 * (`(s, 1, 2)` and `(s, 2, 1)` differ) and well mixed, so neighbouring
 * indices give unrelated streams.
 */
export function deriveSeed(seed: number, ...parts: number[]): number {
  let h = mix32(checkSeedPart(seed, 'deriveSeed seed'));
  for (let i = 0; i < parts.length; i++) {
    h = mix32((h ^ mix32(checkSeedPart(parts[i] as number, `deriveSeed part ${i}`) + i + 1)) >>> 0);
  }
  return h;
}

/** Serialisable generator state (see SeededRng.state). */
export interface SeededRngState {
  s: number[];
  /** Pending second Box-Muller value, null when none. */
  spare: number | null;
}

/** A seeded PRNG (xoshiro128**). Not cryptographic. */
export class SeededRng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  /** Second value of the last Box-Muller pair, NaN when none is pending. */
  private spare = Number.NaN;

  constructor(seed: number) {
    let x = checkSeedPart(seed, 'SeededRng seed');
    // Four splitmix32 outputs fill the state; xoshiro must not start all-zero.
    x = (x + 0x9e3779b9) >>> 0;
    this.s0 = mix32(x);
    x = (x + 0x9e3779b9) >>> 0;
    this.s1 = mix32(x);
    x = (x + 0x9e3779b9) >>> 0;
    this.s2 = mix32(x);
    x = (x + 0x9e3779b9) >>> 0;
    this.s3 = mix32(x);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A generator seeded with `deriveSeed(seed, ...parts)`, e.g. `SeededRng.derive(seed, sampleIndex, epoch)`. */
  static derive(seed: number, ...parts: number[]): SeededRng {
    return new SeededRng(deriveSeed(seed, ...parts));
  }

  /** Next raw 32-bit unsigned integer. */
  nextUint32(): number {
    const s0 = this.s0;
    const s1 = this.s1;
    const s2 = this.s2;
    const s3 = this.s3;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    this.s1 = s1 ^ n2;
    this.s0 = s0 ^ n3;
    this.s2 = n2 ^ t;
    this.s3 = rotl(n3, 11);
    return result;
  }

  /** Uniform in [0, 1), 32 bits of resolution. */
  next(): number {
    return this.nextUint32() * TWO_POW_MINUS_32;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [0, n), unbiased (rejection of the short last bucket). 1 <= n <= 2^32. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 4294967296) {
      throw new Error(`SeededRng.int(n): expected an integer 1 <= n <= 2^32, got ${n}`);
    }
    // Floor division instead of `%`: r and n exceed int32, where V8's `%` takes a slow path.
    const limit = 4294967296 - (4294967296 - Math.floor(4294967296 / n) * n);
    for (;;) {
      const r = this.nextUint32();
      if (r < limit) return r - Math.floor(r / n) * n;
    }
  }

  /** Standard normal N(0, 1) (Box-Muller, the pair's second value kept for the next call). */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const v = this.spare;
      this.spare = Number.NaN;
      return v;
    }
    // 1 - next() lies in (0, 1], so the log is finite.
    const u1 = 1 - this.next();
    const u2 = this.next();
    const r = Math.sqrt(-2 * Math.log(u1));
    const a = 2 * Math.PI * u2;
    this.spare = r * Math.sin(a);
    return r * Math.cos(a);
  }

  /** Normal draw redrawn until it lies within `bound` standard deviations (truncated normal, e.g. weight init with bound 2). */
  truncatedNormal(bound = 2): number {
    if (!(bound > 0)) throw new Error(`SeededRng.truncatedNormal: bound must be > 0, got ${bound}`);
    for (;;) {
      const v = this.normal();
      if (v >= -bound && v <= bound) return v;
    }
  }

  /** An independent child generator drawn from this one's stream. */
  fork(): SeededRng {
    return new SeededRng(this.nextUint32());
  }

  /**
   * Full state, JSON-safe, for checkpoints: `SeededRng.fromState(rng.state())`
   * continues the same stream (including a pending normal draw).
   */
  state(): SeededRngState {
    return {
      s: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0],
      spare: Number.isNaN(this.spare) ? null : this.spare,
    };
  }

  static fromState(state: SeededRngState): SeededRng {
    const s = state.s;
    if (
      !Array.isArray(s) ||
      s.length !== 4 ||
      s.some((v) => !Number.isInteger(v) || v < 0 || v > 0xffffffff) ||
      s.every((v) => v === 0) ||
      (state.spare !== null && !Number.isFinite(state.spare))
    ) {
      throw new Error(
        `SeededRng.fromState: expected { s: four 32-bit unsigned integers not all 0, spare: number | null }, got ${JSON.stringify(state)}`,
      );
    }
    const rng = new SeededRng(0);
    rng.s0 = s[0] as number;
    rng.s1 = s[1] as number;
    rng.s2 = s[2] as number;
    rng.s3 = s[3] as number;
    rng.spare = state.spare ?? Number.NaN;
    return rng;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
