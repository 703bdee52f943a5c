import * as tf from './tfjs.js';

// Classification losses on logits (docs/model.md section 4): binary cross-entropy
// for multi-label datasets, softmax cross-entropy for single-label ones. Both
// carry a custom gradient: the analytic one is exact where autodiff of
// relu/abs would take a subgradient (at logit 0 it would give -t, not 0.5 - t)
// and costs one elementwise pass.

export type Task = 'multi' | 'single';

function check2d(name: string, t: tf.Tensor): void {
  if (t.rank !== 2) throw new Error(`${name}: expected a [batch, classes] tensor, got shape [${t.shape.join(', ')}]`);
}

/**
 * Mean binary cross-entropy over all B*C entries (PyTorch BCEWithLogitsLoss,
 * reduction 'mean'), in the overflow-free form
 *   l(x, t) = max(x, 0) - x*t + log1p(exp(-|x|)),
 * gradient dl/dx = (sigmoid(x) - t) / (B*C), dl/dt = -x / (B*C).
 */
export function bceWithLogits(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  check2d('bceWithLogits logits', logits);
  check2d('bceWithLogits targets', targets);
  if (!tf.util.arraysEqual(logits.shape, targets.shape)) {
    throw new Error(`bceWithLogits: targets shape [${targets.shape.join(', ')}] differs from logits [${logits.shape.join(', ')}]`);
  }
  const n = logits.size;
  const f = tf.customGrad((...args) => {
    const xt = args[0] as tf.Tensor2D;
    const tt = args[1] as tf.Tensor2D;
    (args[2] as tf.GradSaveFunc)([xt, tt]);
    const perEntry = tf.add(tf.sub(tf.relu(xt), tf.mul(xt, tt)), tf.log1p(tf.exp(tf.neg(tf.abs(xt)))));
    return {
      value: tf.div(tf.sum(perEntry), n) as tf.Scalar,
      gradFunc: (dy, saved) => {
        const [sx, st] = saved as [tf.Tensor2D, tf.Tensor2D];
        const scale = tf.div(dy, n);
        return [tf.mul(tf.sub(tf.sigmoid(sx), st), scale), tf.mul(tf.neg(sx), scale)];
      },
    };
  });
  return f(logits, targets) as tf.Scalar;
}

/**
 * Mean softmax cross-entropy over the B samples. `labels` is either int32
 * class indices [B] or (soft / one-hot) targets [B, C]. With targets t:
 *   l = logsumexp(x) * sum(t) - t . x,   dl/dx = (softmax(x) * sum(t) - t) / B
 * (logsumexp subtracts the row max first, so large logits do not overflow).
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D | tf.Tensor2D): tf.Scalar {
  check2d('softmaxCrossEntropy logits', logits);
  const [b, c] = logits.shape;
  return tf.tidy(() => {
    let targets: tf.Tensor2D;
    if (labels.rank === 1) {
      if (labels.shape[0] !== b) {
        throw new Error(`softmaxCrossEntropy: ${labels.shape[0]} labels for a batch of ${b} logits rows`);
      }
      if (labels.dtype !== 'int32') throw new Error(`softmaxCrossEntropy: class-index labels must be int32, got ${labels.dtype}`);
      const idx = labels.dataSync();
      for (let i = 0; i < idx.length; i++) {
        const k = idx[i] as number;
        if (k < 0 || k >= c) throw new Error(`softmaxCrossEntropy: label ${k} of sample ${i} is outside 0..${c - 1}`);
      }
      targets = tf.oneHot(labels as tf.Tensor1D, c).toFloat() as tf.Tensor2D;
    } else {
      if (!tf.util.arraysEqual(labels.shape, logits.shape)) {
        throw new Error(`softmaxCrossEntropy: targets shape [${labels.shape.join(', ')}] differs from logits [${logits.shape.join(', ')}]`);
      }
      targets = labels.toFloat() as tf.Tensor2D;
    }
    const f = tf.customGrad((...args) => {
      const xt = args[0] as tf.Tensor2D;
      const tt = args[1] as tf.Tensor2D;
      const lse = tf.logSumExp(xt, 1, true); // [B,1]
      const tsum = tf.sum(tt, 1, true); // [B,1]
      (args[2] as tf.GradSaveFunc)([xt, tt, lse, tsum]);
      const perSample = tf.sub(tf.mul(lse, tsum), tf.sum(tf.mul(tt, xt), 1, true));
      return {
        value: tf.div(tf.sum(perSample), b) as tf.Scalar,
        gradFunc: (dy, saved) => {
          const [sx, st, slse, stsum] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
          const scale = tf.div(dy, b);
          const softmax = tf.exp(tf.sub(sx, slse));
          const dx = tf.mul(tf.sub(tf.mul(softmax, stsum), st), scale);
          // d/dt_c = logsumexp - x_c (the negative log-probability), for soft-target use.
          const dt = tf.mul(tf.sub(slse, sx), scale);
          return [dx, dt];
        },
      };
    });
    return f(logits, targets) as tf.Scalar;
  });
}

/** The loss of a task: BCE for 'multi', softmax cross-entropy for 'single' (targets as [B, C]). */
export function classificationLoss(task: Task, logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  return task === 'multi' ? bceWithLogits(logits, targets) : softmaxCrossEntropy(logits, targets);
}

/**
 * Per-sample class-index lists (as in `Sample.labels`) to a row-major [B*C]
 * float array: multi-hot for 'multi', one-hot for 'single' (exactly one label
 * per sample). Errors name the sample and the bad label.
 */
export function labelsToTargetArray(labels: readonly (readonly number[])[], numClasses: number, task: Task): Float32Array {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`numClasses must be a positive integer, got ${numClasses}`);
  const out = new Float32Array(labels.length * numClasses);
  labels.forEach((ls, i) => {
    if (task === 'single' && ls.length !== 1) {
      throw new Error(`Sample ${i}: a single-label task needs exactly one label, got ${ls.length} ([${ls.join(', ')}])`);
    }
    for (const k of ls) {
      if (!Number.isInteger(k) || k < 0 || k >= numClasses) {
        throw new Error(`Sample ${i}: label ${k} is outside the class range 0..${numClasses - 1}`);
      }
      out[i * numClasses + k] = 1;
    }
  });
  return out;
}

/** `labelsToTargetArray` as a float32 tensor [B, C] (the caller disposes it). */
export function labelsToTargets(labels: readonly (readonly number[])[], numClasses: number, task: Task): tf.Tensor2D {
  return tf.tensor2d(labelsToTargetArray(labels, numClasses, task), [labels.length, numClasses], 'float32');
}
