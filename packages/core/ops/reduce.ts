/**
 * Reduction primitives over one or more axes: `sum`, `max`, `min`, `argmax`, `argmin`.
 *
 * @module
 */

import type { DType, TypedArray } from "../dtype.ts";
import { ShapeError } from "../errors.ts";
import { formatShape, sizeOf } from "../shape.ts";
import { forceOffsets } from "./cpu_util.ts";
import { countCpuKernel, getCpuKernels } from "../backends/cpu_kernels.ts";
import { wasmSum } from "../wasm/wasm_reduce.ts";
import type { CpuView, KernelOpDef, TensorMeta, ViewMeta, Vjp } from "./op_def.ts";
import { bindingsWgsl, computeType, narrow, packUniforms, wgslType, widen } from "./wgsl_util.ts";
import { splitWorkgroups, type WgslProgram } from "./wgsl_program.ts";

/** Arguments of every reduction. */
export interface ReduceArgs {
  /** Sorted, non-negative axes to reduce. */
  readonly axes: readonly number[];
  /** Keep reduced axes as size-1 dimensions. */
  readonly keepdim: boolean;
}

type Kind = "sum" | "max" | "min" | "argmax" | "argmin";

function splitAxes(x: ViewMeta, axes: readonly number[]) {
  const keptShape: number[] = [];
  const keptStrides: number[] = [];
  const redShape: number[] = [];
  const redStrides: number[] = [];
  x.shape.forEach((d, i) => {
    if (axes.includes(i)) {
      redShape.push(d);
      redStrides.push(x.strides[i]);
    } else {
      keptShape.push(d);
      keptStrides.push(x.strides[i]);
    }
  });
  return { keptShape, keptStrides, redShape, redStrides };
}

function reduceCpu(kind: Kind, x: CpuView, out: TypedArray, axes: readonly number[]): void {
  const { keptShape, keptStrides, redShape, redStrides } = splitAxes(x, axes);
  const base = forceOffsets(keptShape, keptStrides, x.offset);
  const red = forceOffsets(redShape, redStrides, 0);
  const data = x.data;
  const R = red.length;
  for (let o = 0; o < base.length; o++) {
    const b = base[o];
    if (kind === "sum") {
      let acc = 0;
      for (let r = 0; r < R; r++) acc += data[b + red[r]];
      out[o] = acc;
      continue;
    }
    let best = data[b + red[0]];
    let at = 0;
    const wantMax = kind === "max" || kind === "argmax";
    for (let r = 1; r < R; r++) {
      const v = data[b + red[r]];
      if (
        wantMax ? v > best || (v !== v && best === best) : v < best || (v !== v && best === best)
      ) {
        best = v;
        at = r;
      }
    }
    out[o] = kind === "max" || kind === "min" ? best : at;
  }
}

const WG = 64;

function reduceWgsl(
  kind: Kind,
  x: ViewMeta,
  outMeta: TensorMeta,
  axes: readonly number[],
): WgslProgram {
  const { keptShape, keptStrides, redShape, redStrides } = splitAxes(x, axes);
  const O = sizeOf(keptShape);
  const R = sizeOf(redShape);
  const nk = keptShape.length;
  const nr = redShape.length;
  // words: [O, R, offset, keptShape, keptStrides, redShape, redStrides]
  const words = [O, R, x.offset, ...keptShape, ...keptStrides, ...redShape, ...redStrides];
  const KS = 3, KT = 3 + nk, RS = 3 + 2 * nk, RT = 3 + 2 * nk + nr;
  const inT = wgslType(kind, x.dtype);
  const accT = computeType(inT);
  const outT = wgslType(kind, outMeta.dtype);
  const isArg = kind === "argmax" || kind === "argmin";
  const better = kind === "max" || kind === "argmax" ? ">" : "<";
  const wide = O < 1024 && R >= 256;
  const key = `reduce|${kind}|${inT}|k${nk}|r${nr}|${wide ? "wg" : "t"}`;
  const baseWgsl = (o: string) => {
    const lines = [`var rem = ${o};`, `var base = m(2u);`];
    for (let d = nk - 1; d >= 0; d--) {
      lines.push(
        `{ let c = rem % m(${KS + d}u); rem = rem / m(${KS + d}u); base = base + c * m(${
          KT + d
        }u); }`,
      );
    }
    return lines.join("\n  ");
  };
  const redOffset = (r: string) => {
    const lines = [`var rr = ${r};`, `var ro = 0u;`];
    for (let d = nr - 1; d >= 0; d--) {
      lines.push(
        `{ let c = rr % m(${RS + d}u); rr = rr / m(${RS + d}u); ro = ro + c * m(${RT + d}u); }`,
      );
    }
    return lines.join("\n    ");
  };
  const combine = kind === "sum"
    ? "acc = acc + v;"
    : `if (v ${better} acc || (v != v && acc == acc)) { acc = v; at = r; }`;
  const result = isArg ? "i32(at)" : narrow(outT, "acc");
  const code = () => {
    if (!wide) {
      return `${bindingsWgsl([inT], outT, words.length)}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = gid.x + gid.y * nwg.x * ${WG}u;
  if (o >= m(0u)) { return; }
  ${baseWgsl("o")}
  var acc = ${kind === "sum" ? `${accT}(0)` : widen(inT, "in0[base]")};
  var at = 0u;
  for (var r = ${kind === "sum" ? 0 : 1}u; r < m(1u); r++) {
    ${redOffset("r")}
    let v = ${widen(inT, "in0[base + ro]")};
    ${combine}
  }
  out[o] = ${result};
}`;
    }
    // Workgroup layout: 64 threads cooperate on one output; each strides over the reduced range,
    // then a shared-memory tree combines their partial results.
    return `${bindingsWgsl([inT], outT, words.length)}
var<workgroup> sv: array<${accT}, ${WG}>;
var<workgroup> si: array<u32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = wid.x + wid.y * nwg.x;
  let t = lid.x;
  let live = o < m(0u);
  ${baseWgsl("min(o, m(0u) - 1u)")}
  var acc = ${kind === "sum" ? `${accT}(0)` : widen(inT, "in0[base]")};
  var at = 0u;
  for (var r = t; r < m(1u); r += ${WG}u) {
    ${redOffset("r")}
    let v = ${widen(inT, "in0[base + ro]")};
    ${combine}
  }
  sv[t] = acc;
  si[t] = at;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (t < s) {
      let v = sv[t + s];
      let r = si[t + s];
      acc = sv[t];
      at = si[t];
      ${
      kind === "sum"
        ? "acc = acc + v;"
        : `if (v ${better} acc || (v == acc && r < at) || (v != v && acc == acc)) { acc = v; at = r; }`
    }
      sv[t] = acc;
      si[t] = at;
    }
    workgroupBarrier();
  }
  if (t == 0u && live) {
    acc = sv[0];
    at = si[0];
    out[o] = ${result};
  }
}`;
  };
  return {
    key,
    code,
    workgroups: wide ? splitWorkgroups(O) : splitWorkgroups(Math.ceil(O / WG)),
    uniforms: packUniforms(words),
  };
}

function reduction(kind: Kind, vjp?: Vjp<ReduceArgs>): KernelOpDef<ReduceArgs> {
  return {
    kind: "kernel",
    name: kind,
    infer([x], { axes, keepdim }) {
      const R = axes.reduce((n, a) => n * x.shape[a], 1);
      if (kind !== "sum" && R === 0) {
        throw new ShapeError(
          kind,
          `Cannot ${kind} over an empty dimension: tensor of shape ${
            formatShape(x.shape)
          }, axes [${axes}]`,
          [x.shape],
        );
      }
      const shape = keepdim
        ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d))
        : x.shape.filter((_, i) => !axes.includes(i));
      const dtype: DType = kind === "argmax" || kind === "argmin" ? "int32" : x.dtype;
      return { shape, dtype };
    },
    cpu([x], out, _meta, { axes }) {
      if (kind === "sum" && getCpuKernels().wasm && wasmSum(x, out, axes)) {
        return countCpuKernel("wasm.sum");
      }
      reduceCpu(kind, x, out, axes);
    },
    wgsl: ([x], outMeta, { axes }) => reduceWgsl(kind, x, outMeta, axes),
    vjp,
  };
}

/** Restores reduced axes as size-1 dimensions so a reduced tensor broadcasts against its input. */
function keepDims(t: import("../tensor.ts").Tensor, inShape: readonly number[], args: ReduceArgs) {
  if (args.keepdim) return t;
  return t.reshape(inShape.map((d, i) => (args.axes.includes(i) ? 1 : d)));
}

/** Gradient of max/min: ties share the gradient evenly (PyTorch's `amax`/`amin` rule). */
const extremumVjp: Vjp<ReduceArgs> = (g, out, [x], args) => {
  const hit = x.eq(keepDims(out, x.shape, args)).cast(x.dtype);
  const count = hit.sum(args.axes, { keepdim: true });
  return [hit.mul(keepDims(g, x.shape, args)).div(count)];
};

/** Sum over axes. */
export const sum: KernelOpDef<ReduceArgs> = reduction(
  "sum",
  (g, _o, [x], args) => [keepDims(g, x.shape, args).expand(x.shape)],
);
/** Maximum over axes. */
export const max: KernelOpDef<ReduceArgs> = reduction("max", extremumVjp);
/** Minimum over axes. */
export const min: KernelOpDef<ReduceArgs> = reduction("min", extremumVjp);
/** Index of the first maximum (flat over the reduced axes, row-major). */
export const argmax: KernelOpDef<ReduceArgs> = reduction("argmax");
/** Index of the first minimum (flat over the reduced axes, row-major). */
export const argmin: KernelOpDef<ReduceArgs> = reduction("argmin");

/** Every reduction primitive, keyed by op name. */
export const REDUCE_OPS = { sum, max, min, argmax, argmin } as const;
