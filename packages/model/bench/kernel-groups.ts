// Groups tfjs kernel names into the parts of the network the profile reports.
// Forward and gradient kernels of one layer kind share names (a softmax's
// gradient is Mul/Sum/Sub), so the elementwise group holds the backward of
// softmax, LayerNorm and GELU as well; the named groups are their forwards
// plus the kernels only they use.

export type KernelGroup =
  | 'matmul'
  | 'transpose'
  | 'softmax'
  | 'layernorm/reductions'
  | 'gelu (erf)'
  | 'gather/scatter'
  | 'concat/slice/split'
  | 'elementwise'
  | 'encoding (sin/cos)'
  | 'reshape/cast/other';

const GROUPS: Record<string, KernelGroup> = {
  BatchMatMul: 'matmul',
  _FusedMatMul: 'matmul',
  Transpose: 'transpose',
  Softmax: 'softmax',
  Max: 'softmax',
  Exp: 'softmax',
  Mean: 'layernorm/reductions',
  AtomizerLayerNorm: 'layernorm/reductions',
  AtomizerLayerNormGrad: 'layernorm/reductions',
  Sum: 'layernorm/reductions',
  SquaredDifference: 'layernorm/reductions',
  Rsqrt: 'layernorm/reductions',
  Erf: 'gelu (erf)',
  AtomizerGegluGate: 'gelu (erf)',
  AtomizerGegluGateGrad: 'gelu (erf)',
  GatherV2: 'gather/scatter',
  UnsortedSegmentSum: 'gather/scatter',
  ScatterNd: 'gather/scatter',
  Concat: 'concat/slice/split',
  Slice: 'concat/slice/split',
  SplitV: 'concat/slice/split',
  Pad: 'concat/slice/split',
  Tile: 'concat/slice/split',
  Sin: 'encoding (sin/cos)',
  Cos: 'encoding (sin/cos)',
  Add: 'elementwise',
  AddN: 'elementwise',
  Sub: 'elementwise',
  Mul: 'elementwise',
  RealDiv: 'elementwise',
  Neg: 'elementwise',
  Square: 'elementwise',
  Pow: 'elementwise',
  Maximum: 'elementwise',
  Minimum: 'elementwise',
  Abs: 'elementwise',
  Log1p: 'elementwise',
  Sigmoid: 'elementwise',
  Select: 'elementwise',
  Greater: 'elementwise',
  GreaterEqual: 'elementwise',
  Less: 'elementwise',
  LessEqual: 'elementwise',
  Step: 'elementwise',
  Sign: 'elementwise',
  Relu: 'elementwise',
  ZerosLike: 'elementwise',
  OnesLike: 'elementwise',
  Fill: 'elementwise',
};

export function kernelGroup(name: string): KernelGroup {
  return GROUPS[name] ?? 'reshape/cast/other';
}
