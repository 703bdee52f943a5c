// The k-NN baseline of the quality benches (k = 5, the StatLog project's best
// method) on fixed-slot vectors: one seeded training view per (training
// sample, train modality) as the references, squared Euclidean distance,
// majority vote (ties: the nearest).

import { fillSlots, type FixedSlotLayout, type SlotNormalisation } from '@atomizer/model';
import { SeededRng, SensorCatalog, applyModality, type Modality, type Sample } from '@atomizer/tokenizer';

const K = 5;

export class SlotKnn {
  private readonly X: Float32Array[] = [];
  private readonly y: number[] = [];
  readonly dims: number;

  /** References: every training sample seen as each train modality (seeded views). */
  constructor(
    readonly layout: FixedSlotLayout,
    train: readonly Sample[],
    trainModalities: readonly Modality[],
    stats: SlotNormalisation,
    seed: number,
    private readonly catalog = SensorCatalog.default(),
  ) {
    this.dims = layout.slots.length * layout.width * layout.height;
    train.forEach((s, i) =>
      trainModalities.forEach((m, k) => {
        const out = new Float32Array(this.dims);
        fillSlots(layout, applyModality(s, m, { mode: 'train', rng: SeededRng.derive(seed, 11, i, k), catalog }), stats, out, catalog);
        this.X.push(out);
        this.y.push(s.labels[0] as number);
      }),
    );
  }

  /** The fixed-slot vector of one sample seen as `m` (eval view), normalised with `stats`. */
  vector(s: Sample, m: Modality, stats: SlotNormalisation): Float32Array {
    const out = new Float32Array(this.dims);
    fillSlots(this.layout, applyModality(s, m, { mode: 'eval', catalog: this.catalog }), stats, out, this.catalog);
    return out;
  }

  /** The voted class of a query vector among the classes `allowed` admits (default all). */
  classify(q: Float32Array, allowed: (c: number) => boolean = () => true): number {
    const D = this.dims;
    const best: Array<[number, number]> = [];
    for (let i = 0; i < this.X.length; i++) {
      if (!allowed(this.y[i]!)) continue;
      const xi = this.X[i]!;
      let d = 0;
      for (let j = 0; j < D; j++) d += (xi[j]! - q[j]!) ** 2;
      if (best.length < K) best.push([d, this.y[i]!]);
      else if (d < best[K - 1]![0]) best[K - 1] = [d, this.y[i]!];
      else continue;
      best.sort((a, b) => a[0] - b[0]);
    }
    const votes = new Map<number, number>();
    for (const [, c] of best) votes.set(c, (votes.get(c) ?? 0) + 1);
    const top = Math.max(...votes.values());
    return best.find(([, c]) => votes.get(c) === top)![1];
  }
}
