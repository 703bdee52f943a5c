import { z } from 'zod';

// The fixed (non-learned) token encodings of docs/model.md section 2. Every
// choice is a config value; defaults give the 84-dimensional token of the doc.

const fourier = (numBands: number, maxFreq: number) =>
  z
    .object({
      /** F: number of frequencies; the feature is [sin x F, cos x F, u] (2F+1 values). */
      numBands: z.number().int().min(1).default(numBands),
      /** fmax: frequencies s_k = linspace(1, fmax/2, F). */
      maxFreq: z.number().positive().default(maxFreq),
    })
    .default({ numBands, maxFreq });

export const SpectralRbfSchema = z.object({
  muNm: z.number().positive(),
  sigmaNm: z.number().positive(),
});

/** Default RBF centres (docs/model.md section 2.2): dense in visible/red edge, sparse in SWIR. */
export const DEFAULT_SPECTRAL_RBFS: ReadonlyArray<{ muNm: number; sigmaNm: number }> = [
  ...[380, 424, 468, 513, 557, 602, 646, 691, 735, 780].map((muNm) => ({ muNm, sigmaNm: 15 })),
  { muNm: 850, sigmaNm: 15 },
  { muNm: 940, sigmaNm: 15 },
  { muNm: 1200, sigmaNm: 80 },
  { muNm: 1400, sigmaNm: 30 },
  { muNm: 1600, sigmaNm: 40 },
  { muNm: 2100, sigmaNm: 120 },
];

export const EncodingConfigSchema = z.object({
  /** FF(value): Fv=8, fmaxv=16. */
  value: fourier(8, 16),
  spectral: z
    .object({
      /** `max`: max of each Gaussian over the band interval (paper code); `integral`: its mean over the interval (follow-up paper). */
      mode: z.enum(['max', 'integral']).default('max'),
      rbfs: z
        .array(SpectralRbfSchema)
        .min(1)
        .default(DEFAULT_SPECTRAL_RBFS.map((r) => ({ ...r }))),
    })
    .default({ mode: 'max', rbfs: DEFAULT_SPECTRAL_RBFS.map((r) => ({ ...r })) }),
  /** FF(x / scale) and FF(y / scale), positions in metres from the image centre. */
  position: z
    .object({
      numBands: z.number().int().min(1).default(8),
      maxFreq: z.number().positive().default(16),
      scaleM: z.number().positive().default(400),
    })
    .default({ numBands: 8, maxFreq: 16, scaleM: 400 }),
  /** FF(log2(gsd / refM); 4, 4) — our choice (section 2.4); enabled=false reproduces the paper code. */
  gsd: z
    .object({
      enabled: z.boolean().default(true),
      numBands: z.number().int().min(1).default(4),
      maxFreq: z.number().positive().default(4),
      refM: z.number().positive().default(10),
    })
    .default({ enabled: true, numBands: 4, maxFreq: 4, refM: 10 }),
  /** [sin(2 pi k doy/365), cos(2 pi k doy/365)], k=1..harmonics; zeros when the date is unknown. */
  time: z
    .object({
      enabled: z.boolean().default(true),
      harmonics: z.number().int().min(1).default(4),
    })
    .default({ enabled: true, harmonics: 4 }),
});

export type EncodingConfig = z.infer<typeof EncodingConfigSchema>;
export type EncodingConfigInput = z.input<typeof EncodingConfigSchema>;

/** The default encoding config (token dimension 84). */
export function defaultEncodingConfig(): EncodingConfig {
  return EncodingConfigSchema.parse({});
}

/** Offsets of each part inside a token, in the order they are concatenated. */
export interface TokenLayout {
  value: { offset: number; size: number };
  spectral: { offset: number; size: number };
  x: { offset: number; size: number };
  y: { offset: number; size: number };
  gsd: { offset: number; size: number };
  time: { offset: number; size: number };
  /** Total token dimension. */
  dim: number;
}

/**
 * Token = [FF(value) | spectral (K) | FF(x) | FF(y) | FF(log gsd) | time].
 * Non-spectral channels put a learned K-vector in the spectral slot (the model
 * adds it; the CPU encoder leaves zeros there).
 */
export function tokenLayout(cfg: EncodingConfig): TokenLayout {
  let at = 0;
  const take = (size: number) => {
    const part = { offset: at, size };
    at += size;
    return part;
  };
  const value = take(2 * cfg.value.numBands + 1);
  const spectral = take(cfg.spectral.rbfs.length);
  const x = take(2 * cfg.position.numBands + 1);
  const y = take(2 * cfg.position.numBands + 1);
  const gsd = take(cfg.gsd.enabled ? 2 * cfg.gsd.numBands + 1 : 0);
  const time = take(cfg.time.enabled ? 2 * cfg.time.harmonics : 0);
  return { value, spectral, x, y, gsd, time, dim: at };
}
