// Which modalities apply to imagery a run is applied to (eval, predict). A
// modality applies when it keeps a band of the imagery, with one more rule for
// a modality that simulates a sensor (sensor-simulation.ts): its view is
// computed from the run's own imagery (the cross-sensor test bed simulates
// Landsat from Sentinel-2 reflectance), so it applies only to imagery of the
// sensors the run trained on. Applied to imagery of another sensor it would
// simulate from that sensor's bands: a real Landsat-8 scene simulated as
// Landsat-5 TM from its own DN (one constant band, every prediction one class).
// Listed by default, such a modality is left out with a note; named, refused.

import { SensorCatalog, applyModality, parseModality, type Modality, type Sample } from '@atomizer/tokenizer';
import type { RunContext } from '@atomizer/worker';

export const NATIVE: Modality = parseModality({ name: 'native', description: 'every band as read' });

/** Catalogue ids of the sensors the run's modality lists simulate. */
function simulatedSensors(ctx: RunContext, catalog: SensorCatalog): Set<string> {
  const out = new Set<string>();
  for (const m of [...ctx.modalities.train, ...ctx.modalities.val, ...ctx.modalities.test]) {
    if (m.simulate === undefined) continue;
    out.add(catalog.has(m.simulate.sensor) ? catalog.get(m.simulate.sensor).id : m.simulate.sensor);
  }
  return out;
}

/**
 * The sensors the run trained on: those of the manifest's band statistics,
 * except sensors its modality lists only simulate (their statistics come from
 * the simulated views, not from imagery of that sensor).
 */
export function trainingSensors(ctx: RunContext): Set<string> {
  const simulated = simulatedSensors(ctx, SensorCatalog.default());
  return new Set(ctx.manifest.stats.bands.map((b) => b.key.slice(0, b.key.indexOf(':'))).filter((s) => !simulated.has(s)));
}

/** The same sensor, or two sensors of one catalogue family (Sentinel-2A and 2B). */
function sameSensorOrFamily(a: string, b: string, catalog: SensorCatalog): boolean {
  if (a === b) return true;
  if (!catalog.has(a) || !catalog.has(b)) return false;
  const fa = catalog.get(a).family;
  return fa !== undefined && fa === catalog.get(b).family;
}

/** When `m` simulates a sensor and `sample` is imagery of a sensor the run did not train on: the run's sensors and the sample's others. */
function simulationMismatch(m: Modality, sample: Sample, ctx: RunContext): { trained: string[]; foreign: string[] } | undefined {
  if (m.simulate === undefined) return undefined;
  const catalog = SensorCatalog.default();
  const trained = [...trainingSensors(ctx)];
  const foreign = [...new Set(sample.bands.map((b) => b.sensor))].filter((s) => !trained.some((t) => sameSensorOrFamily(t, s, catalog)));
  return foreign.length > 0 ? { trained, foreign } : undefined;
}

const simulationReason = (x: { trained: string[]; foreign: string[] }): string =>
  `from imagery of the sensor the run trained on (${x.trained.join(', ')}), and this imagery is ${x.foreign.join(', ')}: ` +
  `simulated from it, the view is not the one the run was tested on; use 'native' or a modality of ${x.foreign.join(', ')}`;

/** Why modality `m` does not apply to `sample` (one line), or undefined when it does. */
export function whyNotApplicable(m: Modality, sample: Sample, ctx: RunContext): string | undefined {
  const mismatch = simulationMismatch(m, sample, ctx);
  if (mismatch !== undefined) return `modality '${m.name}' simulates ${m.simulate?.sensor} ${simulationReason(mismatch)}`;
  try {
    if (applyModality(sample, m, { mode: 'eval' }).bands.length === 0) return `modality '${m.name}' keeps no band`;
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

/** The candidates that apply to `sample`, in order (possibly none); a note names the simulated ones left out and why. */
export function applicableModalities(
  candidates: readonly Modality[],
  sample: Sample,
  ctx: RunContext,
): { modalities: Modality[]; notes: string[] } {
  const modalities: Modality[] = [];
  const simulated: Modality[] = [];
  let mismatch: { trained: string[]; foreign: string[] } | undefined;
  for (const m of candidates) {
    const sim = simulationMismatch(m, sample, ctx);
    if (sim !== undefined) {
      simulated.push(m);
      mismatch = sim;
    } else if (whyNotApplicable(m, sample, ctx) === undefined) modalities.push(m);
  }
  const notes =
    mismatch === undefined
      ? []
      : [
          `left out the run's modalities ${simulated.map((m) => m.name).join(', ')}: they simulate ${[...new Set(simulated.map((m) => m.simulate?.sensor))].join(', ')} ${simulationReason(mismatch)}`,
        ];
  return { modalities, notes };
}
