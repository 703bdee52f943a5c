import { describe, expect, it } from 'vitest';
import { ParamTable, defaultDecayFilter } from './param-table.js';

const specs = [
  { name: 'latents', shape: [4, 2] }, // 8 elements at 0
  { name: 'cross.q.weight', shape: [2, 3] }, // 6 at 8
  { name: 'cross.out.bias', shape: [3] }, // 3 at 14
  { name: 'ff.w1.weight', shape: [3, 2] }, // 6 at 17
  { name: 'ff.w2.weight', shape: [2, 2] }, // 4 at 23
  { name: 'head.norm.gain', shape: [2] }, // 2 at 27 -> total 29
];

describe('ParamTable', () => {
  it('lays parameters end to end and gives named views into one flat array', () => {
    const table = new ParamTable(specs);
    expect(table.size).toBe(29);
    expect(table.entry('ff.w1.weight')).toMatchObject({ offset: 17, size: 6 });
    const flat = Float32Array.from({ length: 29 }, (_, i) => i);
    const v = table.views(flat);
    expect(Array.from(v['cross.out.bias'] ?? [])).toEqual([14, 15, 16]);
    // A view, not a copy: writing through it changes the flat array.
    (v['head.norm.gain'] as Float32Array)[1] = -1;
    expect(flat[28]).toBe(-1);
    expect(Array.from(table.view(flat, 'latents'))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('merges adjacent decayed parameters into ranges (matrices only, no latents/norms/biases)', () => {
    const table = new ParamTable(specs);
    expect(defaultDecayFilter({ name: 'latents', shape: [4, 2] })).toBe(false);
    expect(defaultDecayFilter({ name: 'x.weight', shape: [5] })).toBe(false);
    // cross.q.weight [8,14) alone; ff.w1 + ff.w2 are adjacent: [17,27).
    expect(table.ranges()).toEqual([
      { offset: 8, length: 6 },
      { offset: 17, length: 10 },
    ]);
  });

  it('round-trips through named tensors and rejects a mismatched table', () => {
    const table = new ParamTable(specs);
    const flat = Float32Array.from({ length: 29 }, (_, i) => i * 0.5);
    const back = table.fromTensors(table.toTensors(flat));
    expect(back).toEqual(flat);
    expect(back).not.toBe(flat);

    const missing = table.toTensors(flat);
    delete missing['ff.w2.weight'];
    expect(() => table.fromTensors(missing)).toThrow(/'ff.w2.weight' is missing/);
    const wrongShape = { ...table.toTensors(flat), latents: { dtype: 'F32' as const, shape: [2, 4], data: new Float32Array(8) } };
    expect(() => table.fromTensors(wrongShape)).toThrow(/'latents': shape \[2, 4\], expected \[4, 2\]/);
    const extra = { ...table.toTensors(flat), other: { dtype: 'F32' as const, shape: [1], data: new Float32Array(1) } };
    expect(() => table.fromTensors(extra)).toThrow(/'other' is not a parameter/);
  });

  it('rejects duplicate names, bad shapes and wrong flat sizes', () => {
    expect(
      () =>
        new ParamTable([
          { name: 'a', shape: [1] },
          { name: 'a', shape: [2] },
        ]),
    ).toThrow(/'a' is listed twice/);
    expect(() => new ParamTable([{ name: 'b', shape: [2, -1] }])).toThrow(/'b': shape \[2, -1\]/);
    const table = new ParamTable(specs);
    expect(() => table.views(new Float32Array(28))).toThrow(/28 elements, the parameter table needs 29/);
    expect(() => table.entry('nope')).toThrow(/Unknown parameter 'nope'/);
  });
});
