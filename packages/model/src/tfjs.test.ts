import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REGISTRATIONS_BUNDLE, bundleTfjsRegistrations } from '../scripts/bundle-tfjs-registrations.js';
import * as tf from './tfjs.js';

// What tfjs-core itself says the umbrella's registrations are, read from its own files.
const coreDist = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js'));
const read = (...path: string[]) => readFileSync(join(coreDist, ...path), 'utf8');
const imports = (source: string, folder = '') =>
  [...source.matchAll(new RegExp(`^import [^;]*'\\./(${folder}\\w+)';$`, 'gm'))].map((m) => m[1] as string);

describe('the TensorFlow.js the model runs on', () => {
  it('registers the gradient of every op tfjs-core has one for', () => {
    const kernels = imports(read('register_all_gradients.js'), 'gradients/').map((file) => {
      const name = /kernelName: (\w+)/.exec(read(`${file}.js`))?.[1];
      if (name === undefined) throw new Error(`tfjs-core ${file}.js names no kernelName`);
      return (tf as unknown as Record<string, string>)[name] ?? name;
    });
    expect(kernels.length).toBeGreaterThan(90);
    expect(kernels.filter((k) => tf.getGradient(k) === undefined)).toEqual([]);
  });

  it('puts every chained method on the Tensor class tfjs-core exports', () => {
    const methods = imports(read('public', 'chained_ops', 'register_all_chained_ops.js')).flatMap((file) =>
      [...read('public', 'chained_ops', `${file}.js`).matchAll(/prototype\.(\w+) =/g)].map((m) => m[1] as string),
    );
    expect(methods.length).toBeGreaterThan(130);
    const proto = tf.Tensor.prototype as unknown as Record<string, unknown>;
    expect(methods.filter((m) => typeof proto[m] !== 'function')).toEqual([]);
    expect(tf.tensor([1, 2, 3, 4]).reshape([2, 2]).shape).toEqual([2, 2]);
  });

  it('has the cpu backend registered and differentiates through it', () => {
    expect(tf.findBackendFactory('cpu')).toBeDefined();
    // d/dx sum(x^2 * 3) = 6x
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.square(x), 3)))(tf.tensor([1, -2, 0.5]));
    expect(Array.from(g.dataSync())).toEqual([6, -12, 3]);
  });

  it('loads the committed registrations bundle, the one the script makes from the installed tfjs-core', async () => {
    // Fails after a tfjs-core upgrade until `npm run bundle-tfjs -w @atomizer/model` is run and committed.
    expect(readFileSync(REGISTRATIONS_BUNDLE, 'utf8') === (await bundleTfjsRegistrations())).toBe(true);
  });
});
