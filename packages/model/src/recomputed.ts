import * as tf from './tfjs.js';

// Activation checkpointing (issue 16): a sub-network whose intermediates are not
// kept for the backward pass. The forward computes only the output (its
// intermediates are freed at once); the backward runs the sub-network's forward
// again, with its own tape, and takes its gradient for the incoming dy. Memory
// held between the passes: the sub-network's inputs; at the peak of the backward
// pass: one sub-network's intermediates, instead of every layer's at once. Cost:
// one more forward of the sub-network (about a third of a training step).
//
// The recomputation runs the same kernels on the same inputs, so it gives the
// same bits as the forward that was not kept; the gradient is that of the plain
// network (model tests compare them bit for bit).

/** `f` with recomputation in the backward pass. Every input must reach `f`'s output (tf.grads). */
export function recomputed(f: (inputs: tf.Tensor[]) => tf.Tensor): (inputs: tf.Tensor[]) => tf.Tensor {
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const inputs = args.slice(0, -1) as tf.Tensor[];
    const value = tf.tidy(() => f(inputs));
    save(inputs);
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        // The engine keeps one tape: a gradient taken inside the outer backward pass starts
        // a new one in its place and clears it when done, so the outer pass would lose its
        // own (and never free the tensors its nodes saved). Put the outer tape back.
        const state = tf.engine().state;
        const outer = state.activeTape;
        try {
          return tf.grads((...xs: tf.Tensor[]) => f(xs))(saved, dy as tf.Tensor);
        } finally {
          state.activeTape = outer;
        }
      },
    };
  });
  return (inputs) => (op as (...xs: tf.Tensor[]) => tf.Tensor)(...inputs);
}
