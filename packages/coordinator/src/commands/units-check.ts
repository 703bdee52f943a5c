// Are a band's values in the units of the statistics a run would normalise
// them with? A run's statistics describe physical values (stored * scale +
// offset) of its training imagery, e.g. Sentinel-2 surface reflectance around
// 0.1-0.4. The same band read without its scale (Landsat Collection 2 surface
// reflectance as DN, around 10,000) is z-scored into the thousands and the
// model sees nonsense. Land cover moves a band's mean by a few of the run's
// standard deviations (water against forest in the near infrared: about 3);
// a change of units moves it by orders of magnitude. So a band is "not in the
// run's units" when the imagery's own mean lies more than MAX_Z run-stds from
// the run's mean, or the typical magnitude (root mean square) of its values
// differs from the run's by more than a factor MAX_RATIO either way (which
// also catches units scaled down, e.g. reflectance against a run in DN).

import type { BandStats } from '@atomizer/tokenizer';

/** Run standard deviations between the two means beyond which the units differ (land cover: a few). */
export const MAX_Z = 50;
/** Factor between the root mean squares beyond which the units differ (percent against fraction: 100). */
export const MAX_RATIO = 50;

const rms = (s: BandStats): number => Math.sqrt(s.mean * s.mean + s.std * s.std);
const fmt = (x: number): string => (Math.abs(x) >= 100 || x === 0 ? x.toFixed(0) : x.toPrecision(3));

/** Why the imagery's own statistics `own` are not in the units of the run's `run` (a short phrase), or undefined when they may be. */
export function unitsMismatch(run: BandStats, own: BandStats): string | undefined {
  if (own.count === 0) return undefined;
  if (run.std > 0) {
    const z = Math.abs(own.mean - run.mean) / run.std;
    if (z > MAX_Z)
      return `mean ${fmt(own.mean)} is ${z.toExponential(1)} of the run's stds (${fmt(run.std)}) from the run's mean ${fmt(run.mean)}`;
  }
  const r = rms(run);
  const ratio = r > 0 ? rms(own) / r : Infinity;
  if (ratio > MAX_RATIO || ratio < 1 / MAX_RATIO)
    return `values of magnitude ${fmt(rms(own))} against the run's ${fmt(r)} (x ${ratio.toExponential(1)})`;
  return undefined;
}
