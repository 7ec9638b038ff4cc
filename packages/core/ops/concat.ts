/**
 * `cat`: concatenation along one dimension as a single kernel (one thread per output element,
 * each reading from whichever input covers its position). Kernels take at most
 * {@linkcode MAX_CAT_INPUTS} inputs; the frontend concatenates larger lists in groups.
 *
 * @module
 */

import { ShapeError } from "../errors.ts";
import type { TypedArray } from "../dtype.ts";
import { contiguousStrides, formatShape, isContiguous, sizeOf } from "../shape.ts";
import { forceOffsets, gatherStrided } from "./cpu_util.ts";
import type { DimArgs } from "./index.ts";
import type { CpuView, KernelOpDef } from "./op_def.ts";
import { bindingsWgsl, ELEMENTWISE_WG, packUniforms, wgslType } from "./wgsl_util.ts";
import { splitWorkgroups } from "./wgsl_program.ts";

/** Inputs one cat kernel reads (storage bindings stay within WebGPU's default limit of 8). */
export const MAX_CAT_INPUTS = 6;

/**
 * cat as block copies: each input, gathered densely if it is a strided view, is `outer` runs of
 * `x.shape[dim] · inner` elements, each copied to its place in the output's row of
 * `meta.shape[dim] · inner`. Returns `false` for short runs, which the element loop does faster.
 */
function catBlocks(
  inputs: readonly CpuView[],
  out: TypedArray,
  shape: readonly number[],
  dim: number,
): boolean {
  const inner = sizeOf(shape.slice(dim + 1));
  if (inner * Math.min(...inputs.map((x) => x.shape[dim])) < 16) return false;
  if (inputs.some((x) => x.data.constructor !== out.constructor)) return false;
  const outer = sizeOf(shape.slice(0, dim));
  const row = shape[dim] * inner;
  let start = 0;
  for (const x of inputs) {
    const run = x.shape[dim] * inner;
    let src = x.data, base = x.offset;
    if (!isContiguous(x.shape, x.strides)) {
      src = new (out.constructor as new (n: number) => TypedArray)(sizeOf(x.shape));
      gatherStrided(x.data, x.offset, x.shape, x.strides, src);
      base = 0;
    }
    for (let o = 0; o < outer; o++) {
      out.set(src.subarray(base + o * run, base + (o + 1) * run), o * row + start * inner);
    }
    start += x.shape[dim];
  }
  return true;
}

/** Concatenates inputs along `dim` (all other dimensions equal). */
export const cat: KernelOpDef<DimArgs> = {
  kind: "kernel",
  name: "cat",
  infer(inputs, { dim }) {
    const first = inputs[0];
    const ok = inputs.length >= 1 && inputs.length <= MAX_CAT_INPUTS &&
      inputs.every((x) =>
        x.dtype === first.dtype && x.shape.length === first.shape.length &&
        x.shape.every((d, i) => i === dim || d === first.shape[i])
      );
    if (!ok) {
      throw new ShapeError(
        "cat",
        `Cannot cat tensors along dimension ${dim}: shapes ${
          inputs.map((x) => `${formatShape(x.shape)} (${x.dtype})`).join(", ")
        } differ outside it`,
        inputs.map((x) => x.shape),
      );
    }
    const total = inputs.reduce((n, x) => n + x.shape[dim], 0);
    return { shape: first.shape.map((d, i) => (i === dim ? total : d)), dtype: first.dtype };
  },
  cpu(inputs, out, meta, { dim }) {
    if (catBlocks(inputs, out, meta.shape, dim)) return;
    const outStrides = contiguousStrides(meta.shape);
    let start = 0;
    for (const x of inputs) {
      const src = forceOffsets(x.shape, x.strides, x.offset);
      const dst = forceOffsets(x.shape, outStrides, start * outStrides[dim]);
      for (let i = 0; i < src.length; i++) out[dst[i]] = x.data[src[i]];
      start += x.shape[dim];
    }
  },
  wgsl(inputs, meta, { dim }) {
    const nd = meta.shape.length;
    const n = sizeOf(meta.shape);
    const t = wgslType("cat", meta.dtype);
    // words: [n, outShape…, then per input: offset, start along dim, strides…]
    const words = [n, ...meta.shape];
    const at: number[] = [];
    let start = 0;
    for (const x of inputs) {
      at.push(words.length);
      words.push(x.offset, start, ...x.strides);
      start += x.shape[dim];
    }
    const code = () => {
      const coords = Array.from({ length: nd }, (_, d) => `c${d}`);
      const walk: string[] = [];
      for (let d = nd - 1; d >= 0; d--) {
        walk.push(`let c${d} = rem % m(${1 + d}u); rem = rem / m(${1 + d}u);`);
      }
      // Inputs are tested last to first: the first whose start is <= the coordinate owns it.
      const branches = inputs.map((_, k) => {
        const base = at[k];
        const terms = coords.map((c, d) =>
          d === dim
            ? `(${c} - m(${base + 1}u)) * m(${base + 2 + d}u)`
            : `${c} * m(${base + 2 + d}u)`
        );
        return `if (c${dim} >= m(${base + 1}u)) { out[i] = in${k}[m(${base}u) + ${
          terms.join(" + ")
        }]; return; }`;
      }).reverse();
      return `${bindingsWgsl(inputs.map(() => t), t, words.length)}
@compute @workgroup_size(${ELEMENTWISE_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${ELEMENTWISE_WG}u;
  if (i >= m(0u)) { return; }
  var rem = i;
  ${walk.join("\n  ")}
  ${branches.join("\n  ")}
}`;
    };
    return {
      key: `cat|${t}|nd${nd}|n${inputs.length}|d${dim}`,
      code,
      workgroups: splitWorkgroups(Math.ceil(n / ELEMENTWISE_WG)),
      uniforms: packUniforms(words),
    };
  },
  vjp: (g, _o, inputs, { dim }, needs) => {
    let start = 0;
    return inputs.map((x, k) => {
      const piece = needs[k] ? g.narrow(dim, start, x.shape[dim]) : null;
      start += x.shape[dim];
      return piece;
    });
  },
};
