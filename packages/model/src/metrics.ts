// Evaluation metrics (docs/model.md section 4) as pure functions on plain arrays:
// no tfjs, so the coordinator can score gathered predictions anywhere.
//
// Conventions, chosen to match scikit-learn so figures compare with the
// literature:
// - Scores are one row per sample (`ArrayLike<number>` of numClasses), e.g.
//   logits; labels are per-sample class-index lists (as in `Sample.labels`).
// - Average precision is sklearn's `average_precision_score`: the step-wise
//   sum  AP = sum_k (R_k - R_{k-1}) * P_k  over the DISTINCT score thresholds in
//   decreasing order, without interpolation. Tied scores enter together at one
//   threshold, so the result does not depend on the order of samples.
// - A class with no positive sample has no defined AP (recall is 0/0). It is
//   reported as NaN and left out of the macro mean (sklearn would count it as 0,
//   lowering the mean; with tiny evaluation sets that is noise, not signal).
//   `classesScored` says how many classes the mean is over.
// - Single-label predictions are the argmax of each row; ties go to the lowest
//   class index (numpy's argmax).
// - Macro F1 averages over classes where F1 is defined (TP + FP + FN > 0):
//   sklearn `f1_score(average='macro', zero_division=np.nan)`; for single-label
//   this equals sklearn's default, which only scores labels present in y_true
//   or y_pred.
// - Everything accumulates in float64.

export type ScoreRows = readonly ArrayLike<number>[];
export type LabelSets = readonly (readonly number[])[];

/** Per-class values with their mean over the classes where the value is defined. */
export interface PerClassMetric {
  /** Mean over the defined classes (NaN if none is defined). */
  value: number;
  /** One value per class, NaN where undefined. */
  perClass: number[];
  /** Number of classes the mean is over. */
  classesScored: number;
}

/** Splits a row-major [B*C] array (e.g. logits downloaded from the device) into B rows. */
export function splitRows(flat: Float32Array | Float64Array | readonly number[], numClasses: number): ArrayLike<number>[] {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`numClasses must be a positive integer, got ${numClasses}`);
  if (flat.length % numClasses !== 0) {
    throw new Error(`A [B*C] score array of length ${flat.length} is not a multiple of numClasses = ${numClasses}`);
  }
  const rows: ArrayLike<number>[] = [];
  for (let o = 0; o < flat.length; o += numClasses) {
    rows.push(Array.isArray(flat) ? flat.slice(o, o + numClasses) : (flat as Float32Array).subarray(o, o + numClasses));
  }
  return rows;
}

function checkRows(scores: ScoreRows, numClasses: number, nLabels: number): void {
  if (scores.length !== nLabels) throw new Error(`${scores.length} score rows for ${nLabels} label entries`);
  scores.forEach((row, i) => {
    if (row.length !== numClasses) throw new Error(`Score row ${i} has ${row.length} values, expected numClasses = ${numClasses}`);
    for (let c = 0; c < row.length; c++) {
      if (Number.isNaN(row[c])) throw new Error(`Score row ${i}, class ${c} is NaN`);
    }
  });
}

function checkLabel(i: number, k: number, numClasses: number): void {
  if (!Number.isInteger(k) || k < 0 || k >= numClasses) {
    throw new Error(`Sample ${i}: label ${k} is outside the class range 0..${numClasses - 1}`);
  }
}

/** Multi-hot [B][C] booleans from label lists, validated. */
function positivesMatrix(labels: LabelSets, numClasses: number): Uint8Array[] {
  return labels.map((ls, i) => {
    const row = new Uint8Array(numClasses);
    for (const k of ls) {
      checkLabel(i, k, numClasses);
      row[k] = 1;
    }
    return row;
  });
}

/**
 * Average precision of one binary problem (sklearn definition, see the file
 * comment). `positive[i]` truthy marks a positive. NaN when there is no positive.
 */
export function averagePrecision(scores: ArrayLike<number>, positive: ArrayLike<boolean | number>): number {
  const n = scores.length;
  if (positive.length !== n) throw new Error(`averagePrecision: ${n} scores but ${positive.length} positive flags`);
  let totalPos = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(scores[i])) throw new Error(`averagePrecision: score ${i} is NaN`);
    if (positive[i]) totalPos++;
  }
  if (totalPos === 0) return Number.NaN;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number));
  let tp = 0;
  let fp = 0;
  let ap = 0;
  let i = 0;
  while (i < n) {
    // One threshold = one group of equal scores.
    const s = scores[order[i] as number];
    let groupPos = 0;
    while (i < n && scores[order[i] as number] === s) {
      if (positive[order[i] as number]) groupPos++;
      else fp++;
      i++;
    }
    tp += groupPos;
    if (groupPos > 0) ap += (groupPos / totalPos) * (tp / (tp + fp));
  }
  return ap;
}

/** Macro mAP: AP per class (column), averaged over the classes with at least one positive. */
export function macroMeanAveragePrecision(scores: ScoreRows, labels: LabelSets, numClasses: number): PerClassMetric {
  checkRows(scores, numClasses, labels.length);
  const pos = positivesMatrix(labels, numClasses);
  const perClass: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    perClass.push(
      averagePrecision(
        scores.map((r) => r[c] as number),
        pos.map((r) => r[c] as number),
      ),
    );
  }
  return meanOfDefined(perClass);
}

/** Micro mAP: one AP over all (sample, class) pairs pooled together (sklearn average='micro'). */
export function microMeanAveragePrecision(scores: ScoreRows, labels: LabelSets, numClasses: number): number {
  checkRows(scores, numClasses, labels.length);
  const pos = positivesMatrix(labels, numClasses);
  const s: number[] = [];
  const p: number[] = [];
  scores.forEach((row, i) => {
    for (let c = 0; c < numClasses; c++) {
      s.push(row[c] as number);
      p.push((pos[i] as Uint8Array)[c] as number);
    }
  });
  return averagePrecision(s, p);
}

function meanOfDefined(perClass: number[]): PerClassMetric {
  let sum = 0;
  let count = 0;
  for (const v of perClass) {
    if (!Number.isNaN(v)) {
      sum += v;
      count++;
    }
  }
  return { value: count > 0 ? sum / count : Number.NaN, perClass, classesScored: count };
}

/** Index of the largest value of each row; ties go to the lowest index. */
export function argmaxRows(scores: ScoreRows): number[] {
  return scores.map((row, i) => {
    if (row.length === 0) throw new Error(`Score row ${i} is empty`);
    let best = 0;
    for (let c = 1; c < row.length; c++) if ((row[c] as number) > (row[best] as number)) best = c;
    return best;
  });
}

/** Confusion matrix m[actual][predicted] (sklearn's orientation: rows are the true class). */
export function confusionMatrix(actual: readonly number[], predicted: readonly number[], numClasses: number): number[][] {
  if (actual.length !== predicted.length) throw new Error(`${actual.length} true labels but ${predicted.length} predictions`);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  actual.forEach((a, i) => {
    const p = predicted[i] as number;
    checkLabel(i, a, numClasses);
    if (!Number.isInteger(p) || p < 0 || p >= numClasses) throw new Error(`Prediction ${i}: class ${p} is outside 0..${numClasses - 1}`);
    (m[a] as number[])[p]! += 1;
  });
  return m;
}

function singleLabelConfusion(scores: ScoreRows, labels: readonly number[], numClasses: number): number[][] {
  checkRows(scores, numClasses, labels.length);
  return confusionMatrix(labels, argmaxRows(scores), numClasses);
}

function f1FromCounts(tp: number, fp: number, fn: number): number {
  const denom = 2 * tp + fp + fn;
  return denom === 0 ? Number.NaN : (2 * tp) / denom;
}

/** Macro F1 of a confusion matrix m[actual][predicted], over classes with TP+FP+FN > 0. */
export function macroF1FromConfusion(m: readonly (readonly number[])[]): PerClassMetric {
  const k = m.length;
  const perClass: number[] = [];
  for (let c = 0; c < k; c++) {
    const tp = (m[c] as number[])[c] as number;
    let row = 0;
    let col = 0;
    for (let j = 0; j < k; j++) {
      row += (m[c] as number[])[j] as number;
      col += (m[j] as number[])[c] as number;
    }
    perClass.push(f1FromCounts(tp, col - tp, row - tp));
  }
  return meanOfDefined(perClass);
}

/** Overall accuracy of single-label predictions (argmax of each row). */
export function overallAccuracy(scores: ScoreRows, labels: readonly number[], numClasses: number): number {
  const m = singleLabelConfusion(scores, labels, numClasses);
  let correct = 0;
  for (let c = 0; c < numClasses; c++) correct += (m[c] as number[])[c] as number;
  return labels.length > 0 ? correct / labels.length : Number.NaN;
}

/** Macro F1 of single-label predictions (argmax of each row). */
export function macroF1(scores: ScoreRows, labels: readonly number[], numClasses: number): PerClassMetric {
  return macroF1FromConfusion(singleLabelConfusion(scores, labels, numClasses));
}

/**
 * Mean per-class accuracy (recall of each class present in the labels,
 * averaged; sklearn `balanced_accuracy_score`). Classes without samples are NaN and left out.
 */
export function meanPerClassAccuracy(scores: ScoreRows, labels: readonly number[], numClasses: number): PerClassMetric {
  const m = singleLabelConfusion(scores, labels, numClasses);
  const perClass = m.map((row, c) => {
    const n = row.reduce((s, v) => s + v, 0);
    return n === 0 ? Number.NaN : (row[c] as number) / n;
  });
  return meanOfDefined(perClass);
}

/**
 * Macro F1 of multi-label predictions: class c is predicted when its score is
 * strictly greater than `threshold` (0.5 for probabilities; pass 0 for logits,
 * since sigmoid(0) = 0.5).
 */
export function multiLabelMacroF1(scores: ScoreRows, labels: LabelSets, numClasses: number, threshold = 0.5): PerClassMetric {
  checkRows(scores, numClasses, labels.length);
  const pos = positivesMatrix(labels, numClasses);
  const perClass: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    scores.forEach((row, i) => {
      const predicted = (row[c] as number) > threshold;
      const actual = (pos[i] as Uint8Array)[c] === 1;
      if (predicted && actual) tp++;
      else if (predicted) fp++;
      else if (actual) fn++;
    });
    perClass.push(f1FromCounts(tp, fp, fn));
  }
  return meanOfDefined(perClass);
}

export interface MultiLabelReport {
  task: 'multi';
  samples: number;
  macroMAP: PerClassMetric;
  microMAP: number;
  /** At probability 0.5, i.e. logit > 0. */
  macroF1: PerClassMetric;
}

export interface SingleLabelReport {
  task: 'single';
  samples: number;
  accuracy: number;
  macroF1: PerClassMetric;
  meanPerClassAccuracy: PerClassMetric;
  confusion: number[][];
}

/**
 * The metrics of a task (docs/model.md section 4) from LOGITS: multi-label gets
 * macro/micro mAP and macro F1 at sigmoid 0.5; single-label gets overall accuracy,
 * macro F1, mean per-class accuracy and the confusion matrix. AP is computed on
 * the logits themselves (ranking is what matters, and sigmoid in float would
 * merge distinct large logits into ties at 1.0).
 */
export function classificationReport(
  task: 'multi' | 'single',
  logits: ScoreRows,
  labels: LabelSets,
  numClasses: number,
): MultiLabelReport | SingleLabelReport {
  if (task === 'multi') {
    return {
      task,
      samples: labels.length,
      macroMAP: macroMeanAveragePrecision(logits, labels, numClasses),
      microMAP: microMeanAveragePrecision(logits, labels, numClasses),
      macroF1: multiLabelMacroF1(logits, labels, numClasses, 0),
    };
  }
  const single = labels.map((ls, i) => {
    if (ls.length !== 1) throw new Error(`Sample ${i}: a single-label task needs exactly one label, got ${ls.length}`);
    return ls[0] as number;
  });
  const confusion = singleLabelConfusion(logits, single, numClasses);
  const correct = confusion.reduce((s, row, c) => s + (row[c] as number), 0);
  return {
    task,
    samples: labels.length,
    accuracy: single.length > 0 ? correct / single.length : Number.NaN,
    macroF1: macroF1FromConfusion(confusion),
    meanPerClassAccuracy: meanPerClassAccuracy(logits, single, numClasses),
    confusion,
  };
}
