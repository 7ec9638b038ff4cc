/**
 * Fused overrides of composites: `softmax` and `logSoftmax` along one dimension. Their meaning is
 * the composite (`decompose`), which the op test checks them against; they exist because one
 * kernel reading each row twice beats five separate kernels.
 *
 * @module
 */

import { contiguousStrides, sizeOf } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { forceOffsets } from "./cpu_util.ts";
import type { KernelOpDef, TensorMeta, ViewMeta } from "./op_def.ts";
import type { DimArgs } from "./index.ts";
import { elementwiseOp, type ElementwiseOpDef } from "./elementwise.ts";
import { erf, ERF_WGSL } from "./erf.ts";
import { bindingsWgsl, narrow, packUniforms, wgslType, widen } from "./wgsl_util.ts";
import { splitWorkgroups, type WgslProgram } from "./wgsl_program.ts";
import { countCpuKernel, getCpuKernels } from "../backends/cpu_kernels.ts";
import { wasmSoftmax } from "../wasm/wasm_elementwise.ts";

/** A fused kernel together with the composite that defines it. */
export interface FusedOpDef<A> extends KernelOpDef<A> {
  /** The composite this kernel must agree with. */
  decompose(x: Tensor, args: A): Tensor;
}

const WG = 64;

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
var<workgroup> red: array<f32, ${WG}>;
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
}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = min(wid.x + wid.y * nwg.x, m(0u) - 1u);
  let live = wid.x + wid.y * nwg.x < m(0u);
  let t = lid.x;
  var rem = row;
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

/** Every fused op, keyed by name. */
export const FUSED_OPS = { softmax, logSoftmax, gelu } as const;
