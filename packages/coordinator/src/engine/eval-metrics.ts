import { classificationReport, type LabelSets, type ScoreRows } from '@atomizer/model';

// The evaluation numbers of one modality, from score rows and label sets: the
// trainer's evaluation (eval jobs) and `atomizer eval` (a checkpoint scored in
// one process) both report exactly these, so they cannot drift apart.

export type EvalScores = { accuracy: number; macroF1: number } | { mAP: number; macroF1: number };

/** Single-label: overall accuracy and macro F1; multi-label: macro mAP and macro F1. Empty input: undefined. */
export function evalScores(task: 'single' | 'multi', scores: ScoreRows, labels: LabelSets, classes: number): EvalScores | undefined {
  if (labels.length === 0) return undefined;
  const rep = classificationReport(task, scores, labels, classes);
  return rep.task === 'single'
    ? { accuracy: rep.accuracy, macroF1: rep.macroF1.value }
    : { mAP: rep.macroMAP.value, macroF1: rep.macroF1.value };
}
