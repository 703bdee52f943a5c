import { readFileSync } from 'node:fs';
import { dataPath } from '@atomizer/tokenizer';
import { describe, expect, it } from 'vitest';
import {
  argmaxRows,
  averagePrecision,
  classificationReport,
  confusionMatrix,
  macroF1,
  macroMeanAveragePrecision,
  meanPerClassAccuracy,
  microMeanAveragePrecision,
  multiLabelMacroF1,
  overallAccuracy,
  splitRows,
} from './metrics.js';

describe('averagePrecision (sklearn definition)', () => {
  it('matches the sklearn docstring example', () => {
    // y_true [0,0,1,1], scores [0.1,0.4,0.35,0.8]. Descending: 0.8(+) 0.4(-) 0.35(+) 0.1(-).
    // Thresholds with a positive: rank 1 (P=1, dR=1/2), rank 3 (P=2/3, dR=1/2).
    // AP = 1/2*1 + 1/2*2/3 = 0.8333 (sklearn's documented 0.83).
    expect(averagePrecision([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(5 / 6, 12);
  });

  it('sums precision at each positive without interpolation', () => {
    // + - + - + : precisions 1, 2/3, 3/5 at recalls 1/3, 2/3, 1 -> (1 + 2/3 + 3/5)/3 = 34/45.
    expect(averagePrecision([0.9, 0.8, 0.7, 0.6, 0.5], [true, false, true, false, true])).toBeCloseTo(34 / 45, 12);
  });

  it('treats tied scores as one threshold, whatever their order', () => {
    // Scores 0.5(+), 0.5(-), 0.2(+). The tie forms one threshold: TP 1, FP 1 -> P = 1/2 at R = 1/2;
    // then 0.2: TP 2, FP 1 -> P = 2/3 at R = 1. AP = 1/2*1/2 + 1/2*2/3 = 7/12.
    // (Ranking the tied positive first would give 5/6, the negative first 7/12 by luck; so swap too.)
    expect(averagePrecision([0.5, 0.5, 0.2], [1, 0, 1])).toBeCloseTo(7 / 12, 12);
    expect(averagePrecision([0.5, 0.5, 0.2], [0, 1, 1])).toBeCloseTo(7 / 12, 12);
  });

  it('is NaN without positives and 1 for a perfect ranking', () => {
    expect(averagePrecision([0.3, 0.2], [0, 0])).toBeNaN();
    expect(averagePrecision([3, 2, 1], [1, 1, 0])).toBe(1);
  });
});

// Shared multi-label example: 4 samples, 3 classes; class 2 has no positive.
const mlScores = [
  [0.9, 0.2, 0.5],
  [0.4, 0.7, 0.1],
  [0.6, 0.8, 0.3],
  [0.1, 0.3, 0.9],
];
const mlLabels = [[0], [0, 1], [1], []];

describe('multi-label metrics', () => {
  it('macro mAP leaves out classes without positives', () => {
    // Class 0 column: 0.9(+) 0.6(-) 0.4(+) 0.1(-) -> 1/2*1 + 1/2*2/3 = 5/6.
    // Class 1 column: 0.8(+) 0.7(+) 0.3(-) 0.2(-) -> 1.
    // Class 2: no positive -> NaN, not averaged. Macro = (5/6 + 1)/2 = 11/12.
    const r = macroMeanAveragePrecision(mlScores, mlLabels, 3);
    expect(r.perClass[0]).toBeCloseTo(5 / 6, 12);
    expect(r.perClass[1]).toBe(1);
    expect(r.perClass[2]).toBeNaN();
    expect(r.classesScored).toBe(2);
    expect(r.value).toBeCloseTo(11 / 12, 12);
  });

  it('micro mAP pools all (sample, class) pairs', () => {
    // 12 pairs, 4 positives: 0.9 (s0c0), 0.8 (s2c1), 0.7 (s1c1), 0.4 (s1c0).
    // Descending: 0.9 {+, - (s3c2)} tie -> TP1 FP1, P=1/2; 0.8(+) -> P=2/3; 0.7(+) -> P=3/4;
    // 0.6(-), 0.5(-); 0.4(+) -> TP4 FP3, P=4/7. Each positive adds 1/4 of recall:
    // AP = (1/2 + 2/3 + 3/4 + 4/7)/4 = 1/8 + 1/6 + 3/16 + 1/7 = 209/336.
    expect(microMeanAveragePrecision(mlScores, mlLabels, 3)).toBeCloseTo(209 / 336, 12);
  });

  it('macro F1 at threshold 0.5 (strictly greater) counts a class predicted but never true as 0', () => {
    // Predicted sets (> 0.5): s0 {0} (0.5 is not > 0.5), s1 {1}, s2 {0,1}, s3 {2}.
    // Class 0: true {s0,s1}, predicted {s0,s2}: TP1 FP1 FN1 -> 2/4 = 0.5.
    // Class 1: true {s1,s2}, predicted {s1,s2}: 1.  Class 2: TP0 FP1 FN0 -> 0 (defined).
    // Macro = (0.5 + 1 + 0)/3 = 0.5.
    const r = multiLabelMacroF1(mlScores, mlLabels, 3);
    expect(r.perClass).toEqual([0.5, 1, 0]);
    expect(r.value).toBeCloseTo(0.5, 12);
    // At threshold 0.95 nothing is predicted: classes 0, 1 have FN -> F1 0; class 2 has
    // no true and no predicted positive -> undefined, left out.
    const strict = multiLabelMacroF1(mlScores, mlLabels, 3, 0.95);
    expect(strict.perClass.slice(0, 2)).toEqual([0, 0]);
    expect(strict.perClass[2]).toBeNaN();
    expect(strict.classesScored).toBe(2);
  });

  it('names the sample with an out-of-range label and the row with a wrong width', () => {
    expect(() => macroMeanAveragePrecision(mlScores, [[0], [3], [], []], 3)).toThrow(/Sample 1: label 3 is outside/);
    expect(() =>
      macroMeanAveragePrecision(
        [
          [1, 2, 3],
          [1, 2],
        ],
        [[0], [1]],
        3,
      ),
    ).toThrow(/Score row 1 has 2 values/);
  });
});

// Shared single-label example: 6 samples, 4 classes; class 3 neither true nor predicted.
const slScores = [
  [0.8, 0.1, 0.1, 0], // -> 0
  [0.3, 0.3, 0.4, 0], // -> 2
  [0.2, 0.7, 0.1, 0], // -> 1
  [0.5, 0.5, 0, 0], // tie between 0 and 1 -> 0 (lowest index)
  [0.1, 0.7, 0.2, 0], // -> 1
  [0, 0.1, 0.9, 0], // -> 2
];
const slLabels = [0, 0, 1, 1, 1, 2];

describe('single-label metrics', () => {
  it('argmax breaks ties towards the lowest class and builds the confusion matrix rows=true', () => {
    expect(argmaxRows(slScores)).toEqual([0, 2, 1, 0, 1, 2]);
    // true 0: predicted 0, 2; true 1: predicted 1, 0, 1; true 2: predicted 2.
    expect(confusionMatrix(slLabels, [0, 2, 1, 0, 1, 2], 4)).toEqual([
      [1, 0, 1, 0],
      [1, 2, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 0],
    ]);
  });

  it('accuracy, macro F1 and mean per-class accuracy match the hand count', () => {
    // Correct: s0, s2, s4, s5 -> 4/6.
    expect(overallAccuracy(slScores, slLabels, 4)).toBeCloseTo(4 / 6, 12);
    // F1 = 2TP/(2TP+FP+FN): class 0 TP1 FP1 FN1 -> 1/2; class 1 TP2 FP0 FN1 -> 4/5;
    // class 2 TP1 FP1 FN0 -> 2/3; class 3 undefined (never true nor predicted), left out.
    // Macro = (1/2 + 4/5 + 2/3)/3 = 59/90.
    const f1 = macroF1(slScores, slLabels, 4);
    expect(f1.perClass.slice(0, 3).map((v) => v.toFixed(6))).toEqual(['0.500000', '0.800000', '0.666667']);
    expect(f1.perClass[3]).toBeNaN();
    expect(f1.value).toBeCloseTo(59 / 90, 12);
    // Recall per class: 1/2, 2/3, 1/1; class 3 has no sample. Mean = (1/2 + 2/3 + 1)/3 = 13/18.
    const mpa = meanPerClassAccuracy(slScores, slLabels, 4);
    expect(mpa.value).toBeCloseTo(13 / 18, 12);
    expect(mpa.classesScored).toBe(3);
  });

  it('classificationReport gives the same figures from logits', () => {
    const r = classificationReport(
      'single',
      slScores,
      slLabels.map((l) => [l]),
      4,
    );
    if (r.task !== 'single') throw new Error('expected a single-label report');
    expect(r.accuracy).toBeCloseTo(4 / 6, 12);
    expect(r.macroF1.value).toBeCloseTo(59 / 90, 12);
    expect(r.meanPerClassAccuracy.value).toBeCloseTo(13 / 18, 12);
    // Multi-label report thresholds logits at 0 (= probability 0.5).
    const logits = mlScores.map((row) => row.map((p) => Math.log(p / (1 - p))));
    const m = classificationReport('multi', logits, mlLabels, 3);
    if (m.task !== 'multi') throw new Error('expected a multi-label report');
    expect(m.macroMAP.value).toBeCloseTo(11 / 12, 12); // AP is invariant to the monotone logit map
    expect(m.microMAP).toBeCloseTo(209 / 336, 12);
    expect(m.macroF1.value).toBeCloseTo(0.5, 12);
  });

  it('splitRows cuts a flat [B*C] array into rows', () => {
    const rows = splitRows(new Float32Array([1, 2, 3, 4, 5, 6]), 3);
    expect(rows.map((r) => Array.from(r))).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(() => splitRows([1, 2, 3, 4], 3)).toThrow(/length 4 is not a multiple of numClasses = 3/);
  });
});

describe('metrics on real data (Statlog Landsat, nearest class mean on the centre pixel)', () => {
  it('agree with a direct count of the predictions', () => {
    const lines = readFileSync(dataPath('statlog', 'statlog_landsat_satellite.csv'), 'utf8').trim().split('\n').slice(1);
    const names: string[] = [];
    const rows = lines.map((line) => {
      const cells = line.split(',');
      const name = (cells[36] ?? '').replaceAll('"', '');
      if (!names.includes(name)) names.push(name);
      // Centre pixel = x.17..x.20 (columns 16..19), see the data README.
      return { x: cells.slice(16, 20).map(Number), label: names.indexOf(name) };
    });
    const k = names.length;
    const train = rows.slice(0, 4435);
    const test = rows.slice(4435);
    const means = Array.from({ length: k }, (_, c) => {
      const members = train.filter((r) => r.label === c);
      return [0, 1, 2, 3].map((b) => members.reduce((s, r) => s + (r.x[b] as number), 0) / members.length);
    });
    const scores = test.map((r) => means.map((m) => -m.reduce((s, v, b) => s + (v - (r.x[b] as number)) ** 2, 0)));
    const labels = test.map((r) => r.label);

    // Independent count: predicted = the nearest mean, found here without argmaxRows.
    const predicted = test.map((r) => {
      let best = 0;
      let bestD = Infinity;
      means.forEach((m, c) => {
        const d = m.reduce((s, v, b) => s + (v - (r.x[b] as number)) ** 2, 0);
        if (d < bestD) {
          bestD = d;
          best = c;
        }
      });
      return best;
    });
    const correct = predicted.filter((p, i) => p === labels[i]).length;
    expect(overallAccuracy(scores, labels, k)).toBeCloseTo(correct / test.length, 12);
    const recalls = names.map((_, c) => {
      const idx = labels.flatMap((l, i) => (l === c ? [i] : []));
      return idx.filter((i) => predicted[i] === c).length / idx.length;
    });
    expect(meanPerClassAccuracy(scores, labels, k).value).toBeCloseTo(recalls.reduce((a, b) => a + b, 0) / k, 12);
    // A nearest-mean classifier on 4 bands is far better than chance (1/6) on this dataset.
    expect(correct / test.length).toBeGreaterThan(0.5);
    const f1 = macroF1(scores, labels, k);
    expect(f1.classesScored).toBe(6);
    expect(f1.value).toBeGreaterThan(0.3);
    expect(f1.value).toBeLessThanOrEqual(1);
  });
});
