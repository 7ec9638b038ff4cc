/**
 * Fused overrides of composites: `softmax` and `logSoftmax` along one dimension, `gelu`, and
 * `layerNorm` and `rmsNorm` over the last dimension. Their meaning is the composite
 * (`decompose`), which the op test checks them against; they exist because one kernel reading
 * each row two or three times beats five to eight separate kernels (benches/ops_bench.ts).
 *
 * @module
 */

import { contiguousStrides, formatShape, sizeOf } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { forceOffsets } from "./cpu_util.ts";
import type { CpuView, KernelOpDef, TensorMeta, ViewMeta } from "./op_def.ts";
import type { DimArgs } from "./index.ts";
import { elementwiseOp, type ElementwiseOpDef } from "./elementwise.ts";
import { erf, ERF_WGSL } from "./erf.ts";
import { bindingsWgsl, narrow, packUniforms, wgslType, widen } from "./wgsl_util.ts";
import { splitWorkgroups, type WgslProgram } from "./wgsl_program.ts";
import { countCpuKernel, getCpuKernels } from "../backends/cpu_kernels.ts";
import { wasmSoftmax } from "../wasm/wasm_elementwise.ts";
import { wasmLayerNorm, wasmRmsNorm } from "../wasm/wasm_norm.ts";
import { allocArray, type DType, isFloat, type TypedArray } from "../dtype.ts";
import { DTypeError, ShapeError } from "../errors.ts";

/** A fused kernel together with the composite that defines it. */
export interface FusedOpDef<A> extends KernelOpDef<A> {
  /**
   * The composite this kernel must agree with, given the op's inputs (the first, then the rest:
   * a norm's weight and bias when present).
   */
  decompose(x: Tensor, args: A, ...params: Tensor[]): Tensor;
}

const WG = 64;

/**
 * `reduce(t, v, isMax)`: the sum (or maximum) of `v` over the 64 invocations of a row's
 * workgroup, through shared memory; every invocation gets the result.
 */
const ROW_REDUCE_WGSL = `var<workgroup> red: array<f32, ${WG}>;
fn reduce(t: u32, v: f32, isMax: bool) -> f32 {
  red[t] = v;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (t < s) { red[t] = select(red[t] + red[t + s], max(red[t], red[t + s]), isMax); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}`;

/**
 * The start of a one-workgroup-per-row kernel: the row reduction, the entry point, which row this
 * workgroup owns (`row`, clamped; `live` is false for the padding workgroups of the 2-D dispatch),
 * the invocation's lane `t`, and `rem = row` for the caller's index walk. Uniform word 0 is the
 * row count.
 */
const ROW_KERNEL_HEAD = `${ROW_REDUCE_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = min(wid.x + wid.y * nwg.x, m(0u) - 1u);
  let live = wid.x + wid.y * nwg.x < m(0u);
  let t = lid.x;
  var rem = row;`;

function rowsWgsl(log: boolean, x: ViewMeta, meta: TensorMeta, dim: number): WgslProgram {
  const rowShape = x.shape.map((d, i) => (i === dim ? 1 : d));
  const nd = x.shape.length;
  const rows = sizeOf(rowShape);
  const outStrides = contiguousStrides(meta.shape);
  const words = [rows, x.shape[dim], x.strides[dim], outStrides[dim], x.offset, ...rowShape];
  words.push(...x.strides, ...outStrides);
  const t = wgslType(log ? "logSoftmax" : "softmax", x.dtype);
  const walk: string[] = [];
  for (let d = nd - 1; d >= 0; d--) {
    walk.push(`{ let c = rem % m(${5 + d}u); rem = rem / m(${5 + d}u);
    xo = xo + c * m(${5 + nd + d}u); oo = oo + c * m(${5 + 2 * nd + d}u); }`);
  }
  const write = log ? "x - mx - log(total)" : "exp(x - mx) / total";
  // Workgroup layout: 64 threads per row; two strided passes (max, then sum of exponentials)
  // combined through shared memory, then a third pass writes the row.
  const code = () =>
    `${bindingsWgsl([t], t, words.length)}
${ROW_KERNEL_HEAD}
  var xo = m(4u);
  var oo = 0u;
  ${walk.join("\n  ")}
  let n = m(1u);
  // Exactly -FLT_MAX: a rounded literal sits above it, so a row of -FLT_MAX (a fully masked
  // attention row) would exponentiate to all zeros and divide 0 by 0.
  var mx = bitcast<f32>(0xff7fffffu);
  for (var j = t; j < n; j += ${WG}u) { mx = max(mx, ${widen(t, "in0[xo + j * m(2u)]")}); }
  mx = reduce(t, mx, true);
  var total = 0.0;
  for (var j = t; j < n; j += ${WG}u) { total += exp(${widen(t, "in0[xo + j * m(2u)]")} - mx); }
  total = reduce(t, total, false);
  if (!live) { return; }
  for (var j = t; j < n; j += ${WG}u) {
    let x = ${widen(t, "in0[xo + j * m(2u)]")};
    out[oo + j * m(3u)] = ${narrow(t, write)};
  }
}`;
  return {
    key: `${log ? "logSoftmax" : "softmax"}|${t}|nd${nd}`,
    code,
    workgroups: splitWorkgroups(rows),
    uniforms: packUniforms(words),
  };
}

function fusedRows(log: boolean): FusedOpDef<DimArgs> {
  const name = log ? "logSoftmax" : "softmax";
  return {
    kind: "kernel",
    name,
    infer: ([x]) => ({ shape: x.shape, dtype: x.dtype }),
    cpu([x], out, meta, { dim }) {
      if (getCpuKernels().wasm && wasmSoftmax(x, out, dim, log)) {
        return countCpuKernel(`wasm.${name}`);
      }
      const rowShape = x.shape.map((d, i) => (i === dim ? 1 : d));
      const outStrides = contiguousStrides(meta.shape);
      const src = forceOffsets(rowShape, x.strides, x.offset);
      const dst = forceOffsets(rowShape, outStrides, 0);
      const n = x.shape[dim];
      const xs = x.strides[dim];
      const os = outStrides[dim];
      for (let r = 0; r < src.length; r++) {
        let mx = -Infinity;
        for (let j = 0; j < n; j++) mx = Math.max(mx, x.data[src[r] + j * xs]);
        let total = 0;
        for (let j = 0; j < n; j++) total += Math.exp(x.data[src[r] + j * xs] - mx);
        const lse = Math.log(total);
        for (let j = 0; j < n; j++) {
          const v = x.data[src[r] + j * xs] - mx;
          out[dst[r] + j * os] = log ? v - lse : Math.exp(v) / total;
        }
      }
    },
    wgsl: ([x], meta, { dim }) => rowsWgsl(log, x, meta, dim),
    vjp: log
      ? (g, out, _i, { dim }) => [g.sub(out.exp().mul(g.sum(dim, { keepdim: true })))]
      : (g, out, _i, { dim }) => [out.mul(g.sub(g.mul(out).sum(dim, { keepdim: true })))],
    decompose(x, { dim }) {
      const shifted = x.sub(x.max(dim, { keepdim: true }).detach());
      if (log) return shifted.sub(shifted.exp().sum(dim, { keepdim: true }).log());
      const e = shifted.exp();
      return e.div(e.sum(dim, { keepdim: true }));
    },
  };
}

/** Softmax along `dim`: `exp(x - max) / sum(exp(x - max))`. */
export const softmax: FusedOpDef<DimArgs> = fusedRows(false);
/** Log-softmax along `dim`: `x - max - log(sum(exp(x - max)))`. */
export const logSoftmax: FusedOpDef<DimArgs> = fusedRows(true);

/** Arguments of {@linkcode gelu}. */
export interface GeluArgs {
  /** `"none"`: the erf form; `"tanh"`: the tanh approximation. */
  readonly approximate: "none" | "tanh";
}

const SQRT_2_OVER_PI = 0.7978845608028654;
const INV_SQRT_2PI = 0.3989422804014327;

/**
 * GELU in one elementwise kernel instead of five (benchmarked in benches/ops_bench.ts). Its meaning
 * is the composite `0.5·x·(1 + erf(x/√2))` (or the tanh form), which the op test checks it against.
 */
export const gelu: FusedOpDef<GeluArgs> & ElementwiseOpDef<GeluArgs> = {
  ...elementwiseOp<GeluArgs>(
    "gelu",
    ({ approximate }) =>
      approximate === "tanh"
        ? (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
        : (x) => 0.5 * x * (1 + erf(x * Math.SQRT1_2)),
    (v, { approximate }) =>
      approximate === "tanh"
        ? `(0.5 * ${v} * (1.0 + tanh(clamp(${SQRT_2_OVER_PI} * (${v} + 0.044715 * ${v} * ${v} * ${v}), -15.0, 15.0))))`
        : `(0.5 * ${v} * (1.0 + erf_f32(${v} * ${Math.SQRT1_2})))`,
    (g, _o, [x], { approximate }) => {
      if (approximate === "tanh") {
        const x2 = x.mul(x);
        const t = x.add(x2.mul(x).mul(0.044715)).mul(SQRT_2_OVER_PI).tanh();
        const dt = t.mul(t).neg().add(1).mul(x2.mul(3 * 0.044715).add(1)).mul(SQRT_2_OVER_PI);
        return [g.mul(t.add(1).mul(0.5).add(x.mul(0.5).mul(dt)))];
      }
      const cdf = x.mul(Math.SQRT1_2).erf().add(1).mul(0.5);
      const pdf = x.mul(x).mul(-0.5).exp().mul(INV_SQRT_2PI);
      return [g.mul(cdf.add(x.mul(pdf)))];
    },
    ERF_WGSL,
  ),
  decompose(x, { approximate }) {
    if (approximate === "tanh") {
      const inner = x.add(x.mul(x).mul(x).mul(0.044715)).mul(SQRT_2_OVER_PI);
      return x.mul(0.5).mul(inner.tanh().add(1));
    }
    return x.mul(0.5).mul(x.mul(Math.SQRT1_2).erf().add(1));
  },
};

/** Arguments of {@linkcode layerNorm} and {@linkcode rmsNorm}. */
export interface NormArgs {
  /** Added to the variance (or the mean square) before the reciprocal square root. */
  readonly eps: number;
}

type NormKind = "layerNorm" | "rmsNorm";

/** Inputs are `x`, then optionally a weight, then (layerNorm only) a bias: 1-D, x's last size and dtype. */
function inferNorm(kind: NormKind, inputs: readonly TensorMeta[]): TensorMeta {
  const [x, ...params] = inputs;
  const max = kind === "layerNorm" ? 2 : 1;
  if (params.length > max) {
    throw new RangeError(
      `Cannot ${kind}: expected at most ${max + 1} inputs, got ${inputs.length}`,
    );
  }
  if (!isFloat(x.dtype)) {
    throw new DTypeError(kind, `Cannot ${kind}: input must be a float tensor, got ${x.dtype}`, [
      x.dtype,
    ]);
  }
  const n = x.shape.at(-1);
  if (n === undefined) {
    throw new ShapeError(kind, `Cannot ${kind}: input must have at least one dimension`, [
      x.shape,
    ]);
  }
  for (const p of params) {
    if (p.dtype !== x.dtype) {
      throw new DTypeError(
        kind,
        `Cannot ${kind}: weight and bias must have the input's dtype ${x.dtype}, got ${p.dtype}`,
        [x.dtype, p.dtype],
      );
    }
    if (p.shape.length !== 1 || p.shape[0] !== n) {
      throw new ShapeError(
        kind,
        `Cannot ${kind}: weight and bias must have shape [${n}] for input shape ${
          formatShape(x.shape)
        }, got ${formatShape(p.shape)}`,
        [x.shape, p.shape],
      );
    }
  }
  return { shape: x.shape, dtype: x.dtype };
}

/** A function rounding a number to `dtype`, as storing it in a tensor of that dtype would. */
function rounder(dtype: DType): (v: number) => number {
  if (dtype === "float32") return Math.fround;
  if (dtype === "float64") return (v) => v;
  const cell = allocArray(dtype, 1);
  return (v) => (cell[0] = v, cell[0]);
}

/** The reference kernels: row statistics and outputs in float64, rounded once on store. */
function normCpu(kind: NormKind, inputs: readonly CpuView[], out: TypedArray, eps: number): void {
  const [x, w, b] = inputs;
  const nd = x.shape.length;
  const n = x.shape[nd - 1];
  const rowShape = x.shape.map((d, i) => (i === nd - 1 ? 1 : d));
  const src = forceOffsets(rowShape, x.strides, x.offset);
  const xs = x.strides[nd - 1];
  const round = rounder(x.dtype);
  for (let r = 0; r < src.length; r++) {
    const at = (j: number) => x.data[src[r] + j * xs];
    let mean = 0;
    if (kind === "layerNorm") {
      for (let j = 0; j < n; j++) mean += at(j);
      mean /= n;
    }
    let sq = 0;
    for (let j = 0; j < n; j++) sq += (at(j) - mean) ** 2;
    const rstd = 1 / Math.sqrt(sq / n + eps);
    for (let j = 0; j < n; j++) {
      let y = (at(j) - mean) * rstd;
      // Llama rounds the normalised value to the input dtype before the weight scales it.
      if (kind === "rmsNorm" && w) y = round(y);
      if (w) y *= w.data[w.offset + j * w.strides[0]];
      if (b) y += b.data[b.offset + j * b.strides[0]];
      out[r * n + j] = y;
    }
  }
}

/** One workgroup of {@linkcode WG} threads per row; strided passes combined through shared memory. */
function normWgsl(kind: NormKind, inputs: readonly ViewMeta[], eps: number): WgslProgram {
  const [x, w, b] = inputs;
  const nd = x.shape.length;
  const rowShape = x.shape.map((d, i) => (i === nd - 1 ? 1 : d));
  const rows = sizeOf(rowShape);
  const epsBits = new Uint32Array(new Float32Array([eps]).buffer)[0];
  const words = [rows, x.shape[nd - 1], x.strides[nd - 1], x.offset, w?.offset ?? 0];
  words.push(w?.strides[0] ?? 0, b?.offset ?? 0, b?.strides[0] ?? 0, epsBits, ...rowShape);
  words.push(...x.strides);
  const t = wgslType(kind, x.dtype);
  const walk: string[] = [];
  for (let d = nd - 1; d >= 0; d--) {
    walk.push(
      `{ let c = rem % m(${9 + d}u); rem = rem / m(${9 + d}u); xo = xo + c * m(${9 + nd + d}u); }`,
    );
  }
  const load = (input: string, offset: number) =>
    widen(t, `${input}[m(${offset}u) + j * m(${offset + 1}u)]`);
  const ln = kind === "layerNorm";
  let y = ln ? "(x - mean) * rstd" : "x * rstd";
  if (w) y = `${ln ? y : widen(t, narrow(t, y))} * ${load("in1", 4)}`;
  if (b) y = `${y} + ${load("in2", 6)}`;
  const code = () =>
    `${bindingsWgsl(inputs.map(() => t), t, words.length)}
${ROW_KERNEL_HEAD}
  var xo = m(3u);
  ${walk.join("\n  ")}
  let n = m(1u);
  ${ln ? "var" : "let"} mean = 0.0;
  ${
      ln
        ? `var s = 0.0;
  for (var j = t; j < n; j += ${WG}u) { s += ${widen(t, "in0[xo + j * m(2u)]")}; }
  mean = reduce(t, s, false) / f32(n);`
        : ""
    }
  var q = 0.0;
  for (var j = t; j < n; j += ${WG}u) {
    let d = ${widen(t, "in0[xo + j * m(2u)]")} - mean;
    q += d * d;
  }
  let rstd = 1.0 / sqrt(reduce(t, q, false) / f32(n) + bitcast<f32>(m(8u)));
  if (!live) { return; }
  for (var j = t; j < n; j += ${WG}u) {
    let x = ${widen(t, "in0[xo + j * m(2u)]")};
    out[row * n + j] = ${narrow(t, y)};
  }
}`;
  return {
    key: `${kind}|${t}|${inputs.length}|nd${nd}`,
    code,
    workgroups: splitWorkgroups(rows),
    uniforms: packUniforms(words),
  };
}

/** Sums a gradient of x's shape down to the last dimension (the weight's shape). */
function toLast(t: Tensor): Tensor {
  return t.ndim === 1 ? t : t.sum(t.shape.slice(0, -1).map((_, i) => i));
}

/** Half-precision gradients are computed in float32, like the composites' forward. */
function gradType(dtype: DType): DType {
  return dtype === "float16" ? "float32" : dtype;
}

/**
 * Layer normalisation over the last dimension, `(x - mean) · rsqrt(var + eps) · weight + bias`
 * with the biased variance; inputs `[x]`, `[x, weight]` or `[x, weight, bias]`.
 */
export const layerNorm: FusedOpDef<NormArgs> = {
  kind: "kernel",
  name: "layerNorm",
  infer: (inputs) => inferNorm("layerNorm", inputs),
  cpu(inputs, out, _meta, { eps }) {
    const [x, w, b] = inputs;
    if (getCpuKernels().wasm && wasmLayerNorm(x, w, b, out, eps)) {
      return countCpuKernel("wasm.layerNorm");
    }
    normCpu("layerNorm", inputs, out, eps);
  },
  wgsl: (inputs, _meta, { eps }) => normWgsl("layerNorm", inputs, eps),
  vjp(g, _out, inputs, { eps }, needs) {
    const [x, w, b] = inputs;
    const ct = gradType(x.dtype);
    const xf = x.cast(ct);
    const gf = g.cast(ct);
    const xc = xf.sub(xf.mean(-1, { keepdim: true }));
    const rstd = xc.mul(xc).mean(-1, { keepdim: true }).add(eps).rsqrt();
    const xhat = xc.mul(rstd);
    const gy = w ? gf.mul(w.cast(ct)) : gf;
    const dx = needs[0]
      ? rstd.mul(
        gy.sub(gy.mean(-1, { keepdim: true }))
          .sub(xhat.mul(gy.mul(xhat).mean(-1, { keepdim: true }))),
      ).cast(x.dtype)
      : null;
    const grads = [dx];
    if (w) grads.push(needs[1] ? toLast(gf.mul(xhat)).cast(w.dtype) : null);
    if (b) grads.push(needs[2] ? toLast(gf).cast(b.dtype) : null);
    return grads;
  },
  decompose(x, { eps }, weight, bias) {
    const centered = x.sub(x.mean(-1, { keepdim: true }));
    const variance = centered.mul(centered).mean(-1, { keepdim: true });
    let y = centered.mul(variance.add(eps).rsqrt());
    if (weight) y = y.mul(weight);
    if (bias) y = y.add(bias);
    return y;
  },
};

/**
 * RMS normalisation over the last dimension as Llama defines it: `x · rsqrt(mean(x²) + eps)`
 * computed in float32 (float64 for float64 input), rounded to the input dtype, then scaled by
 * `weight`; inputs `[x]` or `[x, weight]`.
 */
export const rmsNorm: FusedOpDef<NormArgs> = {
  kind: "kernel",
  name: "rmsNorm",
  infer: (inputs) => inferNorm("rmsNorm", inputs),
  cpu(inputs, out, _meta, { eps }) {
    const [x, w] = inputs;
    if (getCpuKernels().wasm && wasmRmsNorm(x, w, out, eps)) {
      return countCpuKernel("wasm.rmsNorm");
    }
    normCpu("rmsNorm", inputs, out, eps);
  },
  wgsl: (inputs, _meta, { eps }) => normWgsl("rmsNorm", inputs, eps),
  vjp(g, _out, inputs, { eps }, needs) {
    const [x, w] = inputs;
    const ct = gradType(x.dtype);
    const xf = x.cast(ct);
    const gf = g.cast(ct);
    const rstd = xf.mul(xf).mean(-1, { keepdim: true }).add(eps).rsqrt();
    const gy = w ? gf.mul(w.cast(ct)) : gf;
    // d/dx of x·r with r = (mean(x²) + eps)^-½ is r·gy - x·r³·mean(gy·x).
    const dx = needs[0]
      ? rstd.mul(gy).sub(
        xf.mul(rstd.mul(rstd).mul(rstd)).mul(gy.mul(xf).mean(-1, { keepdim: true })),
      )
        .cast(x.dtype)
      : null;
    if (!w) return [dx];
    const y = xf.mul(rstd).cast(x.dtype).cast(ct);
    return [dx, needs[1] ? toLast(gf.mul(y)).cast(w.dtype) : null];
  },
  decompose(x, { eps }, weight) {
    const h = x.cast(x.dtype === "float64" ? "float64" : "float32");
    const y = h.mul(h.mul(h).mean(-1, { keepdim: true }).add(eps).rsqrt()).cast(x.dtype);
    return weight ? weight.mul(y) : y;
  },
};

/** Every fused op, keyed by name. */
export const FUSED_OPS = { softmax, logSoftmax, gelu, layerNorm, rmsNorm } as const;
