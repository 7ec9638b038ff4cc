/**
 * Indexing primitives: `gather`, `indexSelect`, `scatterAdd` and `topk` (which returns indices;
 * values come from a `gather`). Index tensors are int32. Out-of-range indices throw on the CPU;
 * on WebGPU the kernel skips them and the backend throws at the next read.
 *
 * @module
 */

import type { TypedArray } from "../dtype.ts";
import { DTypeError, ShapeError, UnsupportedOpError } from "../errors.ts";
import { contiguousStrides, formatShape, isContiguous, sizeOf } from "../shape.ts";
import { forceOffsets } from "./cpu_util.ts";
import type { CpuView, KernelOpDef, TensorMeta, ViewMeta } from "./op_def.ts";
import { bindingsWgsl, ELEMENTWISE_WG, errorsWgsl, packUniforms, wgslType } from "./wgsl_util.ts";
import { splitWorkgroups, type WgslProgram } from "./wgsl_program.ts";

/** Arguments naming the indexed dimension (already normalised). */
export interface DimArgs {
  /** The dimension. */
  readonly dim: number;
}

/** Error codes the WGSL kernels report, mapped back to op names by the backend. */
export const INDEX_ERROR_OPS: readonly string[] = ["", "gather", "indexSelect", "scatterAdd"];

/**
 * The message for an out-of-range index, shared by the CPU kernels and the WebGPU error buffer.
 *
 * @param op The op name.
 * @param index The bad index.
 * @param size The size of the indexed dimension.
 * @returns A `RangeError`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { indexRangeError } from "./index.ts";
 *
 * assertEquals(indexRangeError("gather", 7, 5).message, "Cannot gather: index 7 is out of range for a dimension of size 5");
 * ```
 */
export function indexRangeError(op: string, index: number, size: number): RangeError {
  return new RangeError(
    `Cannot ${op}: index ${index} is out of range for a dimension of size ${size}`,
  );
}

function checkIndex(op: string, index: TensorMeta): void {
  if (index.dtype !== "int32") {
    throw new DTypeError(op, `Cannot ${op}: index must be int32, got ${index.dtype}`, [
      index.dtype,
    ]);
  }
}

function withStride(strides: readonly number[], dim: number, value: number): number[] {
  return strides.map((s, i) => (i === dim ? value : s));
}

/** Index kernels: one thread per output (or per source) element, with a per-dimension walk. */
function walkWgsl(nd: number, shapeAt: number, strideLists: number[], names: string[]): string {
  const lines: string[] = [];
  for (let d = nd - 1; d >= 0; d--) {
    lines.push(`{ let c = rem % m(${shapeAt + d}u); rem = rem / m(${shapeAt + d}u);`);
    if (names.includes("cd")) lines.push(`  if (${d}u == m(1u)) { cd = c; }`);
    strideLists.forEach((at, k) => lines.push(`  ${names[k]} = ${names[k]} + c * m(${at + d}u);`));
    lines.push("}");
  }
  return lines.join("\n  ");
}

function program(key: string, code: () => string, count: number, words: number[]): WgslProgram {
  return {
    key,
    code,
    workgroups: splitWorkgroups(Math.ceil(count / ELEMENTWISE_WG)),
    uniforms: packUniforms(words),
    reportsErrors: true,
  };
}

const HEAD = (n: string) =>
  `@compute @workgroup_size(${ELEMENTWISE_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let ${n} = gid.x + gid.y * nwg.x * ${ELEMENTWISE_WG}u;`;

/** `out[i] = x[i with i[dim] replaced by index[i]]`, like `torch.gather`. */
export const gather: KernelOpDef<DimArgs> = {
  kind: "kernel",
  name: "gather",
  infer([x, index], { dim }) {
    checkIndex("gather", index);
    const ok = index.shape.length === x.shape.length &&
      index.shape.every((d, i) => i === dim || d <= x.shape[i]);
    if (!ok) {
      throw new ShapeError(
        "gather",
        `Cannot gather along dimension ${dim}: index shape ${
          formatShape(index.shape)
        } does not fit input shape ${formatShape(x.shape)}`,
        [x.shape, index.shape],
      );
    }
    return { shape: index.shape, dtype: x.dtype };
  },
  cpu([x, index], out, _meta, { dim }) {
    const base = forceOffsets(index.shape, withStride(x.strides, dim, 0), x.offset);
    const idx = forceOffsets(index.shape, index.strides, index.offset);
    const size = x.shape[dim];
    for (let i = 0; i < out.length; i++) {
      const j = index.data[idx[i]];
      if (j < 0 || j >= size) throw indexRangeError("gather", j, size);
      out[i] = x.data[base[i] + j * x.strides[dim]];
    }
  },
  wgsl([x, index], meta, { dim }) {
    const nd = meta.shape.length;
    const n = sizeOf(meta.shape);
    // words: [n, dim, size, xOffset, iOffset, xStrideDim, shape, xStrides(dim->0), iStrides]
    const words = [n, dim, x.shape[dim], x.offset, index.offset, x.strides[dim], ...meta.shape];
    words.push(...withStride(x.strides, dim, 0), ...index.strides);
    const t = wgslType("gather", x.dtype);
    const code = () =>
      `${bindingsWgsl([t, "i32"], t, words.length)}
${errorsWgsl(2)}
${HEAD("i")}
  if (i >= m(0u)) { return; }
  var rem = i;
  var xo = m(3u);
  var io = m(4u);
  ${walkWgsl(nd, 6, [6 + nd, 6 + 2 * nd], ["xo", "io"])}
  let j = in1[io];
  if (j < 0 || u32(j) >= m(2u)) { report(1u, j, m(2u)); return; }
  out[i] = in0[xo + u32(j) * m(5u)];
}`;
    return program(`gather|${t}|nd${nd}`, code, n, words);
  },
  vjp: (g, _o, [x, index], { dim }) => [x.zerosLike().scatterAdd(dim, index, g)],
};

/**
 * indexSelect where each selected slab (the dimensions after `dim`) is contiguous in `x`: checks
 * every index first, then copies whole slabs (an embedding lookup copies one row per token).
 * Returns `false`, having written nothing, for other layouts.
 */
function selectSlabs(
  x: CpuView,
  index: CpuView,
  out: TypedArray,
  shape: readonly number[],
  dim: number,
): boolean {
  const inner = shape.slice(dim + 1);
  const slab = sizeOf(inner);
  // Short slabs copy faster element by element, in the reference loop.
  if (slab < 16 || !isContiguous(inner, x.strides.slice(dim + 1))) return false;
  if (x.data.constructor !== out.constructor) return false;
  const len = shape[dim], size = x.shape[dim], xs = x.strides[dim];
  const rows = new Int32Array(len);
  for (let k = 0; k < len; k++) {
    const j = index.data[index.offset + k * index.strides[0]];
    if (j < 0 || j >= size) throw indexRangeError("indexSelect", j, size);
    rows[k] = j * xs;
  }
  const bases = forceOffsets(shape.slice(0, dim), x.strides.slice(0, dim), x.offset);
  const src = x.data as Float32Array, dst = out as Float32Array;
  for (let o = 0, at = 0; o < bases.length; o++) {
    for (let k = 0; k < len; k++, at += slab) {
      const from = bases[o] + rows[k];
      dst.set(src.subarray(from, from + slab), at);
    }
  }
  return true;
}

/** Selects entries of `x` along `dim` at the positions of a 1-D index. */
export const indexSelect: KernelOpDef<DimArgs> = {
  kind: "kernel",
  name: "indexSelect",
  infer([x, index], { dim }) {
    checkIndex("indexSelect", index);
    if (index.shape.length !== 1) {
      throw new ShapeError(
        "indexSelect",
        `Cannot indexSelect: index must be 1-D, got shape ${formatShape(index.shape)}`,
        [index.shape],
      );
    }
    return { shape: x.shape.map((d, i) => (i === dim ? index.shape[0] : d)), dtype: x.dtype };
  },
  cpu([x, index], out, meta, { dim }) {
    if (selectSlabs(x, index, out, meta.shape, dim)) return;
    const base = forceOffsets(meta.shape, withStride(x.strides, dim, 0), x.offset);
    const inner = contiguousStrides(meta.shape)[dim];
    const len = meta.shape[dim];
    const size = x.shape[dim];
    for (let i = 0; i < out.length; i++) {
      const j = index.data[index.offset + (Math.floor(i / inner) % len) * index.strides[0]];
      if (j < 0 || j >= size) throw indexRangeError("indexSelect", j, size);
      out[i] = x.data[base[i] + j * x.strides[dim]];
    }
  },
  wgsl([x, index], meta, { dim }) {
    const nd = meta.shape.length;
    const n = sizeOf(meta.shape);
    const words = [n, dim, x.shape[dim], x.offset, index.offset, index.strides[0], x.strides[dim]];
    words.push(...meta.shape, ...withStride(x.strides, dim, 0));
    const t = wgslType("indexSelect", x.dtype);
    const code = () =>
      `${bindingsWgsl([t, "i32"], t, words.length)}
${errorsWgsl(2)}
${HEAD("i")}
  if (i >= m(0u)) { return; }
  var rem = i;
  var xo = m(3u);
  var cd = 0u;
  ${walkWgsl(nd, 7, [7 + nd], ["xo", "cd"])}
  let j = in1[m(4u) + cd * m(5u)];
  if (j < 0 || u32(j) >= m(2u)) { report(2u, j, m(2u)); return; }
  out[i] = in0[xo + u32(j) * m(6u)];
}`;
    return program(`indexSelect|${t}|nd${nd}`, code, n, words);
  },
  vjp: (g, _o, [x, index], { dim }) => {
    const shape = g.shape.map((_, i) => (i === dim ? g.shape[i] : 1));
    return [x.zerosLike().scatterAdd(dim, index.reshape(shape).expand(g.shape), g)];
  },
};

/** `out = self`, then `out[i with i[dim] replaced by index[i]] += src[i]` for every index element. */
export const scatterAdd: KernelOpDef<DimArgs> = {
  kind: "kernel",
  name: "scatterAdd",
  infer([self, index, src], { dim }) {
    checkIndex("scatterAdd", index);
    const ok = index.shape.length === self.shape.length && src.shape.length === self.shape.length &&
      index.shape.every((d, i) => d <= src.shape[i] && (i === dim || d <= self.shape[i]));
    if (self.dtype !== src.dtype) {
      throw new DTypeError(
        "scatterAdd",
        `Cannot scatterAdd: self is ${self.dtype} but src is ${src.dtype}`,
        [self.dtype, src.dtype],
      );
    }
    if (!ok) {
      throw new ShapeError(
        "scatterAdd",
        `Cannot scatterAdd along dimension ${dim}: self ${
          formatShape(self.shape)
        } (${self.dtype}), index ${formatShape(index.shape)}, src ${
          formatShape(src.shape)
        } (${src.dtype}) do not fit`,
        [self.shape, index.shape, src.shape],
      );
    }
    return { shape: self.shape, dtype: self.dtype };
  },
  cpu([self, index, src], out, meta, { dim }) {
    copyInto(self, out);
    const outStrides = contiguousStrides(meta.shape);
    const dst = forceOffsets(index.shape, withStride(outStrides, dim, 0), 0);
    const idx = forceOffsets(index.shape, index.strides, index.offset);
    const from = forceOffsets(index.shape, src.strides, src.offset);
    const size = self.shape[dim];
    for (let i = 0; i < idx.length; i++) {
      const j = index.data[idx[i]];
      if (j < 0 || j >= size) throw indexRangeError("scatterAdd", j, size);
      out[dst[i] + j * outStrides[dim]] += src.data[from[i]];
    }
  },
  wgsl(inputs, meta, { dim }) {
    return scatterAddWgsl(inputs, meta, dim);
  },
  vjp: (g, _o, [_self, index, src], { dim }, needs) => [
    needs[0] ? g : null,
    null,
    needs[2]
      ? g.gather(dim, index).pad({
        shape: src.shape,
        starts: src.shape.map(() => 0),
        steps: src.shape.map(() => 1),
        value: 0,
      })
      : null,
  ],
};

function copyInto(x: CpuView, out: TypedArray): void {
  const offs = forceOffsets(x.shape, x.strides, x.offset);
  for (let i = 0; i < offs.length; i++) out[i] = x.data[offs[i]];
}

/** Two passes: a strided copy of `self`, then one thread per index element adding atomically. */
function scatterAddWgsl([self, index, src]: readonly ViewMeta[], meta: TensorMeta, dim: number) {
  const t = wgslType("scatterAdd", self.dtype);
  // WGSL atomics are 32-bit; the frontend computes half-precision scatterAdd in float32.
  if (t === "f16") throw new UnsupportedOpError("scatterAdd", self.dtype, "webgpu");
  const nd = meta.shape.length;
  const n = sizeOf(index.shape);
  const outStrides = contiguousStrides(meta.shape);
  const words = [
    n,
    dim,
    self.shape[dim],
    index.offset,
    src.offset,
    outStrides[dim],
    ...index.shape,
  ];
  words.push(...withStride(outStrides, dim, 0), ...index.strides, ...src.strides);
  // A float add is a compare-exchange loop on the bit pattern: WGSL has no atomic f32 add.
  const add = t === "f32"
    ? `loop {
    let old = atomicLoad(&out[oo]);
    let r = atomicCompareExchangeWeak(&out[oo], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
  }`
    : `atomicAdd(&out[oo], bitcast<u32>(v));`;
  const code = () =>
    `${bindingsWgsl([t, "i32", t], "atomic<u32>", words.length)}
${errorsWgsl(3)}
${HEAD("i")}
  if (i >= m(0u)) { return; }
  var rem = i;
  var oo = 0u;
  var io = m(3u);
  var so = m(4u);
  ${walkWgsl(nd, 6, [6 + nd, 6 + 2 * nd, 6 + 3 * nd], ["oo", "io", "so"])}
  let j = in1[io];
  if (j < 0 || u32(j) >= m(2u)) { report(3u, j, m(2u)); return; }
  oo = oo + u32(j) * m(5u);
  let v = in2[so];
  ${add}
}`;
  const copy = copyProgram(self, meta);
  return [copy, program(`scatterAdd|${t}|nd${nd}`, code, n, words)];
}

function copyProgram(x: ViewMeta, meta: TensorMeta): WgslProgram {
  const nd = meta.shape.length;
  const n = sizeOf(meta.shape);
  const words = [n, 0, ...meta.shape, ...x.strides, x.offset];
  const t = wgslType("scatterAdd", x.dtype);
  const code = () =>
    `@group(0) @binding(0) var<storage, read> in0: array<${t}>;
@group(0) @binding(1) var<storage, read> in1: array<i32>;
@group(0) @binding(2) var<storage, read> in2: array<${t}>;
@group(0) @binding(3) var<storage, read_write> out: array<${t}>;
@group(0) @binding(4) var<uniform> u: array<vec4<u32>, ${Math.ceil(words.length / 4)}>;
fn m(i: u32) -> u32 { return u[i >> 2u][i & 3u]; }
${HEAD("i")}
  if (i >= m(0u)) { return; }
  var rem = i;
  var xo = m(${2 + 2 * nd}u);
  ${walkWgsl(nd, 2, [2 + nd], ["xo"])}
  out[i] = in0[xo];
}`;
  return { ...program(`scatterAddCopy|${t}|nd${nd}`, code, n, words), reportsErrors: false };
}

/** Arguments of {@linkcode topk}. */
export interface TopkArgs {
  /** How many entries to keep. */
  readonly k: number;
  /** The dimension (already normalised). */
  readonly dim: number;
  /** Largest (`true`) or smallest entries. */
  readonly largest: boolean;
}

/** Indices of the `k` largest (or smallest) entries along `dim`, best first; ties keep the lower index. */
export const topk: KernelOpDef<TopkArgs> = {
  kind: "kernel",
  name: "topk",
  infer([x], { k, dim }) {
    if (!Number.isInteger(k) || k < 0 || k > (x.shape[dim] ?? 1)) {
      throw new ShapeError(
        "topk",
        `Cannot topk: k = ${k} is out of range for dimension ${dim} of shape ${
          formatShape(x.shape)
        }`,
        [x.shape],
      );
    }
    return { shape: x.shape.map((d, i) => (i === dim ? k : d)), dtype: "int32" };
  },
  cpu([x], out, meta, { k, dim, largest }) {
    const rowShape = x.shape.map((d, i) => (i === dim ? 1 : d));
    const rows = forceOffsets(rowShape, x.strides, x.offset);
    const outRows = forceOffsets(rowShape, withStride(contiguousStrides(meta.shape), dim, 0), 0);
    const n = x.shape[dim];
    const outStride = contiguousStrides(meta.shape)[dim];
    const order = new Array<number>(n);
    for (let r = 0; r < rows.length; r++) {
      for (let j = 0; j < n; j++) order[j] = j;
      const v = (j: number) => x.data[rows[r] + j * x.strides[dim]];
      order.sort((p, q) => {
        const d = largest ? v(q) - v(p) : v(p) - v(q);
        return d !== 0 && !Number.isNaN(d) ? d : p - q;
      });
      for (let j = 0; j < k; j++) out[outRows[r] + j * outStride] = order[j];
    }
  },
  wgsl([x], meta, { k, dim, largest }) {
    const nd = x.shape.length;
    const rowShape = x.shape.map((d, i) => (i === dim ? 1 : d));
    const nRows = sizeOf(rowShape);
    const outStrides = contiguousStrides(meta.shape);
    const words = [nRows, k, x.shape[dim], x.strides[dim], outStrides[dim], x.offset, ...rowShape];
    words.push(...x.strides, ...withStride(outStrides, dim, 0));
    const t = wgslType("topk", x.dtype);
    const better = largest ? ">" : "<";
    // Selection without extra memory: the next pick is the best entry that ranks after the previous
    // pick in the order (value, then lower index first).
    const code = () =>
      `${bindingsWgsl([t], "i32", words.length)}
${HEAD("r")}
  if (r >= m(0u)) { return; }
  var rem = r;
  var xo = m(5u);
  var oo = 0u;
  ${walkWgsl(nd, 6, [6 + nd, 6 + 2 * nd], ["xo", "oo"])}
  var pv = in0[xo];
  var pj = -1;
  for (var s = 0u; s < m(1u); s++) {
    var bj = -1;
    var bv = pv;
    for (var j = 0; j < i32(m(2u)); j++) {
      let v = in0[xo + u32(j) * m(3u)];
      let after = pj < 0 || (v ${largest ? "<" : ">"} pv) || (v == pv && j > pj);
      if (after && (bj < 0 || v ${better} bv)) { bj = j; bv = v; }
    }
    out[oo + s * m(4u)] = bj;
    pj = bj;
    pv = bv;
  }
}`;
    return { ...program(`topk|${t}|${largest}|nd${nd}`, code, nRows, words), reportsErrors: false };
  },
};

/** Every indexing primitive, keyed by op name. */
export const INDEX_OPS = { gather, indexSelect, scatterAdd, topk } as const;
