// The one table-driven op test. For every primitive in OPS it runs the cases below and checks:
// the output shape against the expected one; WebGPU against the CPU reference (1e-5 relative);
// and every vjp against central finite differences computed on the CPU in float64.
import { assert, assertEquals } from "@std/assert";
import { grad } from "../autograd.ts";
import { fromTypedArray, type Tensor } from "../tensor.ts";
import { cat, layerNorm, rmsNorm, stack } from "../functional.ts";
import { manualSeed } from "../rng.ts";
import { rand } from "../creation.ts";
import { setBackend } from "../backends/registry.ts";
import { noGrad } from "../grad_mode.ts";
import { allocArray, type DType, isFloat } from "../dtype.ts";
import { sizeOf } from "../shape.ts";
import type { BackendName } from "../backends/backend.ts";
import { assertAllClose, testRng, webgpuAvailable } from "../_testing/backends.ts";
import { type OpName, OPS } from "./mod.ts";
import { FUSED_OPS } from "./fused.ts";

interface InputSpec {
  /** Logical shape the op sees. */
  shape: number[];
  dtype?: DType;
  /** Explicit values (else random in the op's domain). */
  values?: number[];
  /** Build as the transpose of a [.., b, a] base, so the op reads a non-contiguous view. */
  transposed?: boolean;
}

interface OpCase {
  name: string;
  inputs: InputSpec[];
  run: (xs: Tensor[]) => Tensor;
  shape: number[];
}

const c = (
  name: string,
  inputs: InputSpec[],
  shape: number[],
  run: (xs: Tensor[]) => Tensor,
): OpCase => ({
  name,
  inputs,
  run,
  shape,
});

function unaryCases(f: (x: Tensor) => Tensor): OpCase[] {
  return [
    c("2x3", [{ shape: [2, 3] }], [2, 3], ([x]) => f(x)),
    c("transposed 3x4", [{ shape: [3, 4], transposed: true }], [3, 4], ([x]) => f(x)),
    c("size-0", [{ shape: [0, 3] }], [0, 3], ([x]) => f(x)),
    c("size-1 and scalar", [{ shape: [1] }, { shape: [] }], [1], ([x, y]) => f(x).add(f(y))),
  ];
}

function binaryCases(f: (a: Tensor, b: Tensor) => Tensor, dtype?: DType): OpCase[] {
  const s = (shape: number[], extra: Partial<InputSpec> = {}): InputSpec => ({
    shape,
    dtype,
    ...extra,
  });
  return [
    c("same shape", [s([2, 3]), s([2, 3])], [2, 3], ([a, b]) => f(a, b)),
    c("broadcast", [s([2, 1, 3]), s([4, 1])], [2, 4, 3], ([a, b]) => f(a, b)),
    c("transposed lhs", [s([3, 2], { transposed: true }), s([2])], [3, 2], ([a, b]) => f(a, b)),
    c("size-0", [s([0, 3]), s([3])], [0, 3], ([a, b]) => f(a, b)),
    c("scalar rhs", [s([2]), s([])], [2], ([a, b]) => f(a, b)),
  ];
}

function reduceCases(
  f: (x: Tensor, axes: number | number[] | undefined, keepdim: boolean) => Tensor,
): OpCase[] {
  return [
    c("last axis", [{ shape: [2, 3, 4] }], [2, 3], ([x]) => f(x, -1, false)),
    c("axes [0, 2] keepdim", [{ shape: [2, 3, 4] }], [1, 3, 1], ([x]) => f(x, [0, -1], true)),
    c("all", [{ shape: [3, 5] }], [], ([x]) => f(x, undefined, false)),
    c("transposed", [{ shape: [4, 3], transposed: true }], [4], ([x]) => f(x, 1, false)),
    c("size-1 dim", [{ shape: [1, 5] }], [1], ([x]) => f(x, 1, false)),
    c("wide (workgroup reduction)", [{ shape: [2, 300] }], [2], ([x]) => f(x, 1, false)),
  ];
}

const int = (values: number[], shape = [values.length]): InputSpec => ({
  shape,
  dtype: "int32",
  values,
});
const bool = (values: number[], shape = [values.length]): InputSpec => ({
  shape,
  dtype: "bool",
  values,
});

/** Every primitive must have cases: a new op without them is a type error here. */
const CASES: { [K in OpName]: OpCase[] } = {
  neg: unaryCases((x) => x.neg()),
  abs: unaryCases((x) => x.abs()),
  sign: unaryCases((x) => x.sign()),
  exp: unaryCases((x) => x.exp()),
  log: unaryCases((x) => x.log()),
  sqrt: unaryCases((x) => x.sqrt()),
  rsqrt: unaryCases((x) => x.rsqrt()),
  sin: unaryCases((x) => x.sin()),
  cos: unaryCases((x) => x.cos()),
  tanh: unaryCases((x) => x.tanh()),
  sigmoid: unaryCases((x) => x.sigmoid()),
  erf: unaryCases((x) => x.erf()),
  relu: unaryCases((x) => x.relu()),
  logicalNot: [c("bool", [bool([1, 0, 1, 1])], [4], ([x]) => x.logicalNot())],
  copy: [
    ...unaryCases((x) => x.clone()),
    c(
      "permuted 3-D",
      [{ shape: [2, 3, 4] }],
      [4, 2, 3],
      ([x]) => x.permute([2, 0, 1]).contiguous(),
    ),
  ],
  add: binaryCases((a, b) => a.add(b)),
  sub: binaryCases((a, b) => a.sub(b)),
  mul: binaryCases((a, b) => a.mul(b)),
  div: binaryCases((a, b) => a.div(b)),
  pow: [
    ...binaryCases((a, b) => a.pow(b)),
    c(
      "negative base, integer exponent",
      [{ shape: [3], values: [-2, -1.5, 3] }],
      [3],
      ([a]) => a.pow(3),
    ),
  ],
  maximum: binaryCases((a, b) => a.maximum(b)),
  minimum: binaryCases((a, b) => a.minimum(b)),
  eq: binaryCases((a, b) => a.eq(b), "int32"),
  ne: binaryCases((a, b) => a.ne(b), "int32"),
  lt: binaryCases((a, b) => a.lt(b)),
  le: binaryCases((a, b) => a.le(b)),
  gt: binaryCases((a, b) => a.gt(b)),
  ge: binaryCases((a, b) => a.ge(b)),
  logicalAnd: [
    c("bool", [bool([1, 0, 1, 0]), bool([1, 1, 0, 0])], [4], ([a, b]) => a.logicalAnd(b)),
  ],
  logicalOr: [c("bool", [bool([1, 0, 1, 0]), bool([1, 1, 0, 0])], [4], ([a, b]) => a.logicalOr(b))],
  where: [
    c(
      "broadcast",
      [bool([1, 0, 1], [3]), { shape: [2, 3] }, { shape: [2, 1] }],
      [2, 3],
      ([m, a, b]) => a.where(m, b),
    ),
    c(
      "transposed",
      [bool([1, 0, 0, 1], [2, 2]), { shape: [2, 2], transposed: true }, { shape: [] }],
      [2, 2],
      (
        [m, a, b],
      ) => a.where(m, b),
    ),
  ],
  cast: [
    c(
      "float to int32",
      [{ shape: [2, 3], values: [1.7, -1.7, 0, 2.5, -0.2, 3] }],
      [2, 3],
      ([x]) => x.cast("int32"),
    ),
    c("int32 to float32", [int([1, -2, 3])], [3], ([x]) => x.cast("float32")),
    c("float to bool", [{ shape: [3], values: [0, 0.5, -1] }], [3], ([x]) => x.cast("bool")),
    c(
      "float roundtrip (differentiable)",
      [{ shape: [2, 2] }],
      [2, 2],
      ([x]) => x.cast(x.dtype).mul(2),
    ),
  ],
  sum: [
    ...reduceCases((x, a, k) => x.sum(a, { keepdim: k })),
    c("size-0 sum", [{ shape: [0, 3] }], [3], ([x]) => x.sum(0)),
  ],
  max: reduceCases((x, a, k) => x.max(a, { keepdim: k })),
  min: reduceCases((x, a, k) => x.min(a, { keepdim: k })),
  argmax: [
    c("last axis", [{ shape: [2, 3, 4] }], [2, 3], ([x]) => x.argmax(-1)),
    c("flattened", [{ shape: [3, 4], transposed: true }], [], ([x]) => x.argmax()),
    c(
      "ties pick first",
      [{ shape: [2, 3], values: [1, 3, 3, 2, 2, 0] }],
      [2],
      ([x]) => x.argmax(1),
    ),
    c("wide", [{ shape: [2, 300] }], [2], ([x]) => x.argmax(1)),
  ],
  argmin: [
    c("axis 0 keepdim", [{ shape: [3, 4] }], [1, 4], ([x]) => x.argmin(0, { keepdim: true })),
    c("ties pick first", [{ shape: [4], values: [2, 1, 1, 5] }], [], ([x]) => x.argmin(0)),
  ],
  reshape: [
    c("infer -1", [{ shape: [2, 3, 4] }], [6, 4], ([x]) => x.reshape([-1, 4]).mul(1)),
    c(
      "non-contiguous (copies)",
      [{ shape: [3, 4], transposed: true }],
      [12],
      ([x]) => x.reshape([12]).mul(1),
    ),
    c(
      "squeeze/unsqueeze",
      [{ shape: [2, 1, 3] }],
      [1, 2, 3],
      ([x]) => x.squeeze(1).unsqueeze(0).mul(1),
    ),
  ],
  permute: [
    c("3-D", [{ shape: [2, 3, 4] }], [4, 2, 3], ([x]) => x.permute([-1, 0, 1]).mul(1)),
    c("transpose", [{ shape: [2, 3] }], [3, 2], ([x]) => x.transpose(0, 1).mul(1)),
  ],
  expand: [
    c("size-1 dims", [{ shape: [3, 1] }], [2, 3, 4], ([x]) => x.expand([2, -1, 4]).mul(1)),
    c("scalar", [{ shape: [] }], [2, 2], ([x]) => x.expand([2, 2]).mul(1)),
  ],
  slice: [
    c("range", [{ shape: [5, 4] }], [2, 4], ([x]) => x.slice(0, 1, 3).mul(1)),
    c(
      "negative bounds, step",
      [{ shape: [3, 7] }],
      [3, 4],
      ([x]) => x.slice(-1, -7, undefined, 2).mul(1),
    ),
    c(
      "narrow and chunk",
      [{ shape: [4, 6] }],
      [4, 2],
      ([x]) => x.narrow(1, 1, 4).chunk(2, 1)[1].mul(1),
    ),
    c("empty", [{ shape: [4, 3] }], [0, 3], ([x]) => x.slice(0, 2, 2).mul(1)),
  ],
  cat: [
    c("dim 0", [{ shape: [2, 3] }, { shape: [1, 3] }], [3, 3], ([a, b]) => cat([a, b], 0)),
    c(
      "stack at -1 with a transposed input",
      [{ shape: [2, 3] }, { shape: [2, 3], transposed: true }],
      [2, 3, 2],
      ([a, b]) => stack([a, b], -1),
    ),
    c(
      "three inputs, middle dim, size-0 piece",
      [{ shape: [2, 1, 2] }, { shape: [2, 0, 2] }, { shape: [2, 3, 2] }],
      [2, 4, 2],
      ([a, b, d]) => cat([a, b, d], 1),
    ),
    c(
      "more inputs than one kernel takes",
      Array.from({ length: 8 }, () => ({ shape: [1, 2] })),
      [8, 2],
      (xs) => cat(xs, 0),
    ),
  ],
  pad: [
    c(
      "border",
      [{ shape: [2, 3] }],
      [4, 5],
      ([x]) => x.pad({ shape: [4, 5], starts: [1, 2], steps: [1, 1], value: 0 }),
    ),
    c(
      "strided",
      [{ shape: [2, 2] }],
      [3, 5],
      ([x]) => x.pad({ shape: [3, 5], starts: [1, 0], steps: [1, 3], value: 0 }),
    ),
  ],
  gather: [
    c(
      "dim 1",
      [{ shape: [2, 4] }, int([3, 0, 1, 1, 2, 0], [2, 3])],
      [2, 3],
      ([x, i]) => x.gather(1, i),
    ),
    c(
      "dim 0 transposed",
      [{ shape: [3, 2], transposed: true }, int([2, 0], [1, 2])],
      [1, 2],
      ([x, i]) => x.gather(0, i),
    ),
  ],
  indexSelect: [
    c(
      "rows (embedding)",
      [{ shape: [5, 3] }, int([4, 0, 4, 2])],
      [4, 3],
      ([x, i]) => x.indexSelect(0, i),
    ),
    c("last dim", [{ shape: [2, 3, 4] }, int([3, 1])], [2, 3, 2], ([x, i]) => x.indexSelect(-1, i)),
  ],
  scatterAdd: [
    c(
      "duplicates dim 0",
      [{ shape: [3, 2] }, int([0, 1, 0, 0, 2, 1], [3, 2]), { shape: [3, 2] }],
      [3, 2],
      ([s, i, x]) => s.scatterAdd(0, i, x),
    ),
    c(
      "dim 1 smaller index",
      [{ shape: [2, 4] }, int([3, 3], [2, 1]), { shape: [2, 3], transposed: true }],
      [2, 4],
      ([s, i, x]) => s.scatterAdd(1, i, x),
    ),
  ],
  topk: [
    c("largest last", [{ shape: [3, 5] }], [3, 2], ([x]) => x.topk(2).values),
    c(
      "smallest dim 0",
      [{ shape: [4, 3], transposed: true }],
      [2, 3],
      ([x]) => x.topk(2, { dim: 0, largest: false }).values,
    ),
    c("indices", [{ shape: [2, 6] }], [2, 3], ([x]) => x.topk(3).indices),
  ],
  softmax: [
    c("last", [{ shape: [2, 5] }], [2, 5], ([x]) => x.softmax(-1)),
    c("dim 0 transposed", [{ shape: [3, 4], transposed: true }], [3, 4], ([x]) => x.softmax(0)),
    c("wide", [{ shape: [2, 130] }], [2, 130], ([x]) => x.softmax(-1)),
  ],
  gelu: [
    ...unaryCases((x) => x.gelu()),
    c("tanh form", [{ shape: [3, 4], transposed: true }], [3, 4], ([x]) => x.gelu("tanh")),
  ],
  logSoftmax: [
    c("last", [{ shape: [2, 5] }], [2, 5], ([x]) => x.logSoftmax(-1)),
    c("dim 1 of 3-D", [{ shape: [2, 3, 2] }], [2, 3, 2], ([x]) => x.logSoftmax(1)),
  ],
  layerNorm: [
    c("last dim, no affine", [{ shape: [3, 5] }], [3, 5], ([x]) => layerNorm(x)),
    c(
      "weight and bias, 3-D",
      [{ shape: [2, 3, 4] }, { shape: [4] }, { shape: [4] }],
      [2, 3, 4],
      ([x, w, b]) => layerNorm(x, w, b, { eps: 1e-3 }),
    ),
    c(
      "transposed input, weight only",
      [{ shape: [3, 4], transposed: true }, { shape: [4] }],
      [3, 4],
      ([x, w]) => layerNorm(x, w),
    ),
    c(
      "wide (workgroup reduction)",
      [{ shape: [2, 130] }, { shape: [130] }, { shape: [130] }],
      [2, 130],
      ([x, w, b]) => layerNorm(x, w, b),
    ),
  ],
  rmsNorm: [
    c("last dim, no weight", [{ shape: [3, 5] }], [3, 5], ([x]) => rmsNorm(x)),
    c(
      "weight, 3-D",
      [{ shape: [2, 3, 4] }, { shape: [4] }],
      [2, 3, 4],
      ([x, w]) => rmsNorm(x, w, { eps: 1e-3 }),
    ),
    c(
      "transposed input",
      [{ shape: [4, 3], transposed: true }, { shape: [3] }],
      [4, 3],
      ([x, w]) => rmsNorm(x, w),
    ),
    c("wide", [{ shape: [2, 130] }, { shape: [130] }], [2, 130], ([x, w]) => rmsNorm(x, w)),
  ],
  matmul: [
    c("2-D", [{ shape: [3, 4] }, { shape: [4, 5] }], [3, 5], ([a, b]) => a.matmul(b)),
    c("1-D . 1-D", [{ shape: [4] }, { shape: [4] }], [], ([a, b]) => a.matmul(b)),
    c("1-D . 2-D", [{ shape: [4] }, { shape: [4, 3] }], [3], ([a, b]) => a.matmul(b)),
    c(
      "batched broadcast",
      [{ shape: [2, 1, 3, 4] }, { shape: [5, 4, 2] }],
      [2, 5, 3, 2],
      ([a, b]) => a.matmul(b),
    ),
    c(
      "transposed operands",
      [{ shape: [3, 4], transposed: true }, { shape: [4, 5], transposed: true }],
      [3, 5],
      (
        [a, b],
      ) => a.matmul(b),
    ),
    c("size-1 and K=1", [{ shape: [1, 1] }, { shape: [1, 6] }], [1, 6], ([a, b]) => a.matmul(b)),
  ],
  random: [
    c("uniform", [{ shape: [1] }], [3, 5], ([x]) => {
      manualSeed(1234);
      return rand([3, 5], { backend: x.backend });
    }),
    c("dropout mask", [{ shape: [9], values: [1, 1, 1, 1, 1, 1, 1, 1, 1] }], [9], ([x]) => {
      manualSeed(99);
      return x.dropout(0.5);
    }),
  ],
};

const DOMAINS: Partial<Record<OpName, [number, number]>> = {};
for (const [name, op] of Object.entries(OPS)) {
  const d = (op as { test?: { domain?: [number, number] } }).test?.domain;
  if (d) DOMAINS[name as OpName] = d;
}

/** Draws each case's input values once, rounded to float32 so every backend sees the same numbers. */
function inputValues(op: OpName, k: number, spec: InputSpec, index: number): number[] {
  if (spec.values) return spec.values;
  const rng = testRng(1000 * k + 17 * index + op.length);
  const [lo, hi] = DOMAINS[op] ?? [-2, 2];
  return Array.from({ length: sizeOf(spec.shape) }, () => Math.fround(lo + (hi - lo) * rng()));
}

/** Builds the base tensor (what gradients are taken against) and the view the op reads. */
function build(spec: InputSpec, values: number[], floatType: DType, backend: BackendName) {
  const dtype = spec.dtype ?? floatType;
  const baseShape = spec.transposed
    ? [...spec.shape.slice(0, -2), ...spec.shape.slice(-2).reverse()]
    : spec.shape;
  // Values are given in the logical (view) order; lay them out so the transposed view reads them back.
  let laid = values;
  if (spec.transposed) {
    const [r, cc] = spec.shape.slice(-2);
    laid = values.map((_, i) => values[(i % r) * cc + Math.floor(i / r)]);
  }
  const arr = allocArray(dtype, laid.length);
  laid.forEach((v, i) => (arr[i] = v));
  const base = fromTypedArray(arr, baseShape, backend);
  return { base, view: (b: Tensor) => (spec.transposed ? b.transpose(-1, -2) : b) };
}

function forward(op: OpName, k: number, cs: OpCase, floatType: DType, backend: BackendName) {
  const built = cs.inputs.map((s, i) => build(s, inputValues(op, k, s, i), floatType, backend));
  return { built, out: cs.run(built.map((b) => b.view(b.base))) };
}

const EPS = 1e-6;

/** Checks the vjp of a case against central differences in float64 on the CPU. */
function checkGradients(op: OpName, k: number, cs: OpCase): void {
  const specs = cs.inputs;
  const values = specs.map((s, i) => inputValues(op, k, s, i));
  const differentiable = specs.map((s) => isFloat(s.dtype ?? "float64"));
  const built = specs.map((s, i) => build(s, values[i], "float64", "cpu"));
  built.forEach((b, i) => differentiable[i] && b.base.requiresGrad_(true));
  const out = cs.run(built.map((b) => b.view(b.base)));
  if (!out.requiresGrad || out.size === 0) return;
  const rng = testRng(99 + k);
  const ct = fromTypedArray(
    Float64Array.from({ length: out.size }, () => rng() * 2 - 1),
    out.shape,
    "cpu",
  );
  const targets = built.filter((_, i) => differentiable[i]).map((b) => b.base);
  const analytic = grad(out, targets, { gradOutputs: [ct], allowUnused: true });
  const ctData = ct.dataSync();
  const objective = (vals: number[][]) =>
    noGrad(() => {
      const bs = specs.map((s, i) => build(s, vals[i], "float64", "cpu"));
      const o = cs.run(bs.map((b) => b.view(b.base))).dataSync();
      let sum = 0;
      for (let j = 0; j < o.length; j++) sum += o[j] * ctData[j];
      return sum;
    });
  let t = 0;
  specs.forEach((_, i) => {
    if (!differentiable[i]) return;
    const g = analytic[t++];
    const gData = g ? g.dataSync() : new Float64Array(values[i].length);
    // Gradients are laid out like the base; map view-order perturbations to base positions.
    const [r, cc] = specs[i].shape.slice(-2);
    for (let j = 0; j < values[i].length; j++) {
      const plus = values.map((v) => [...v]);
      const minus = values.map((v) => [...v]);
      plus[i][j] += EPS;
      minus[i][j] -= EPS;
      const numeric = (objective(plus) - objective(minus)) / (2 * EPS);
      const at = specs[i].transposed ? (j % cc) * r + Math.floor(j / cc) : j;
      const got = gData[at];
      assert(
        Math.abs(got - numeric) <= 1e-3 * Math.abs(numeric) + 1e-6,
        `${op} "${cs.name}": d/dinput${i}[${j}] is ${got}, finite differences give ${numeric}`,
      );
    }
  });
}

for (const op of Object.keys(CASES) as OpName[]) {
  Deno.test(`op ${op}: shapes and finite-difference gradients [cpu]`, () => {
    CASES[op].forEach((cs, k) => {
      const { out } = forward(op, k, cs, "float32", "cpu");
      assertEquals(out.shape, cs.shape, `${op} "${cs.name}": shape`);
      const has = (OPS[op] as { vjp?: unknown }).vjp !== undefined;
      const floatIn = cs.inputs.some((s) => isFloat(s.dtype ?? "float32"));
      if (has && floatIn && !(OPS[op] as { test?: { noGrad?: boolean } }).test?.noGrad) {
        checkGradients(op, k, cs);
      }
    });
  });

  Deno.test({
    name: `op ${op}: webgpu matches the cpu reference, forward and backward [webgpu]`,
    ignore: !webgpuAvailable,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      await setBackend("webgpu");
      await setBackend("cpu");
      for (const [k, cs] of CASES[op].entries()) {
        const results: Record<BackendName, { out: number[]; grads: number[][] }> = {} as never;
        for (const backend of ["cpu", "webgpu"] as const) {
          const { built, out } = forward(op, k, cs, "float32", backend);
          const grads: number[][] = [];
          const floats = built.filter((b) => isFloat(b.base.dtype));
          if (out.size > 0 && (OPS[op] as { vjp?: unknown }).vjp && floats.length) {
            // Re-run with gradients on the float inputs, against a fixed cotangent.
            floats.forEach((b) => b.base.requiresGrad_(true));
            const again = cs.run(built.map((b) => b.view(b.base)));
            if (again.requiresGrad) {
              const rng = testRng(7 + k);
              const ct = fromTypedArray(
                Float32Array.from({ length: again.size }, () => rng() * 2 - 1),
                again.shape,
                backend,
              );
              const gs = grad(again, floats.map((b) => b.base), {
                gradOutputs: [ct],
                allowUnused: true,
              });
              for (const g of gs) grads.push(g ? Array.from(await g.data()) : []);
            }
          }
          assertEquals(out.shape, cs.shape, `${op} "${cs.name}" [${backend}]: shape`);
          results[backend] = { out: Array.from(await out.data()), grads };
        }
        assertAllClose(results.webgpu.out, results.cpu.out, {
          label: `${op} "${cs.name}" forward`,
        });
        results.cpu.grads.forEach((g, i) =>
          assertAllClose(results.webgpu.grads[i], g, {
            label: `${op} "${cs.name}" gradient ${i}`,
            atol: 1e-5,
          })
        );
      }
    },
  });
}

Deno.test("fused softmax, logSoftmax and gelu agree with their composite definitions", async () => {
  const rng = testRng(5);
  const x = fromTypedArray(
    Float32Array.from({ length: 24 }, () => rng() * 8 - 4),
    [2, 3, 4],
    "cpu",
  );
  for (const name of ["softmax", "logSoftmax"] as const) {
    for (const dim of [0, 1, -1]) {
      const fused = name === "softmax" ? x.softmax(dim) : x.logSoftmax(dim);
      const composite = FUSED_OPS[name].decompose(x, { dim: (dim + 3) % 3 });
      assertAllClose(await fused.data(), await composite.data(), { label: `${name} dim ${dim}` });
    }
  }
  for (const approximate of ["none", "tanh"] as const) {
    const composite = FUSED_OPS.gelu.decompose(x, { approximate });
    assertAllClose(await x.gelu(approximate).data(), await composite.data(), {
      label: `gelu ${approximate}`,
    });
  }
});

Deno.test("fused layerNorm and rmsNorm agree with their composite definitions", async () => {
  const rng = testRng(6);
  const values = (n: number, shift = 0) =>
    Float32Array.from({ length: n }, () => shift + rng() * 8 - 4);
  const x = fromTypedArray(values(3 * 2 * 40), [3, 2, 40], "cpu");
  const w = fromTypedArray(values(40), [40], "cpu");
  const b = fromTypedArray(values(40), [40], "cpu");
  const eps = 1e-5;
  const ln = FUSED_OPS.layerNorm.decompose.bind(FUSED_OPS.layerNorm);
  const rms = FUSED_OPS.rmsNorm.decompose.bind(FUSED_OPS.rmsNorm);
  const pairs: [string, Tensor, Tensor][] = [
    ["layerNorm", layerNorm(x, null, null, { eps }), ln(x, { eps })],
    ["layerNorm weight", layerNorm(x, w, null, { eps }), ln(x, { eps }, w)],
    ["layerNorm weight and bias", layerNorm(x, w, b, { eps }), ln(x, { eps }, w, b)],
    ["rmsNorm", rmsNorm(x, null, { eps }), rms(x, { eps })],
    ["rmsNorm weight", rmsNorm(x, w, { eps }), rms(x, { eps }, w)],
  ];
  // Mixed dtypes take the composite's promotion: float16 normalised values, float32 scale.
  const half = x.cast("float16");
  pairs.push(["rmsNorm float16 x float32 weight", rmsNorm(half, w), rms(half, { eps: 1e-6 }, w)]);
  // The float16 composite rounds every intermediate to half precision (errors near 2%), so the
  // fused result is held to the float64 composite of the same values, and to its dtype.
  const half64 = half.cast("float64");
  const lnHalf = layerNorm(half, w, b);
  assertEquals(lnHalf.dtype, ln(half, { eps: 1e-5 }, w, b).dtype);
  pairs.push([
    "layerNorm float16 x float32 affine",
    lnHalf,
    ln(half64, { eps: 1e-5 }, w.cast("float64"), b.cast("float64")).cast("float32"),
  ]);
  for (const [label, fused, composite] of pairs) {
    assertEquals(fused.dtype, composite.dtype, `${label}: dtype`);
    const tol = fused.dtype === "float32" && !label.includes("float16")
      ? {}
      : { rtol: 2e-3, atol: 2e-3 };
    assertAllClose(await fused.data(), await composite.data(), { label, ...tol });
  }
  // A large mean: the fused kernel against the float64 composite (the float32 composite itself
  // loses about 1e-4 here to cancellation).
  const big = fromTypedArray(values(2 * 768, 1000), [2, 768], "cpu");
  const [w2, b2] = [
    fromTypedArray(values(768), [768], "cpu"),
    fromTypedArray(values(768), [768], "cpu"),
  ];
  const ref = ln(big.cast("float64"), { eps }, w2.cast("float64"), b2.cast("float64"));
  assertAllClose(await layerNorm(big, w2, b2, { eps }).data(), await ref.data(), {
    label: "layerNorm, mean 1000",
  });
});
