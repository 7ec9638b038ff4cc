/**
 * Float32 elementwise ops, GELU and softmax on the WebAssembly SIMD kernels of `elementwise.wat`.
 * The CPU backend tries these before its TypeScript reference kernels; each function returns
 * `false` without touching `out` when it cannot run (no WebAssembly SIMD, not float32, a layout
 * it does not handle, or more data than its workspace), and the reference runs instead.
 *
 * @module
 */

import { contiguousStrides, isContiguous, sizeOf } from "../shape.ts";
import type { CpuView } from "../ops/op_def.ts";
import type { TypedArray } from "../dtype.ts";
import { ELEMENTWISE_WASM_BASE64 } from "./elementwise_wasm.ts";
import { instantiateOnce, LinearMemoryView } from "./wasm_module.ts";

interface ElementwiseExports {
  readonly memory: WebAssembly.Memory;
  unary(op: number, x: number, out: number, n: number): void;
  binary(
    op: number,
    a: number,
    b: number,
    out: number,
    rows: number,
    cols: number,
    ars: number,
    acs: number,
    brs: number,
    bcs: number,
  ): void;
  softmax(x: number, out: number, rows: number, n: number, log: number, sums: number): void;
  select(
    c: number,
    a: number,
    b: number,
    out: number,
    rows: number,
    cols: number,
    crs: number,
    ccs: number,
    ars: number,
    acs: number,
    brs: number,
    bcs: number,
  ): void;
}

/** The most floats the kernels copy into linear memory for one call (128 MiB). */
const MAX_FLOATS = 32 << 20;

/** The unary functions of the module, by op name, with their opcode. */
const UNARY = { exp: 0, sigmoid: 1, gelu: 2, geluTanh: 3, erf: 4, neg: 5 } as const;
/** The binary operations of the module, by op name, with their opcode. */
const BINARY = { add: 0, sub: 1, mul: 2, div: 3 } as const;

/** A unary function the module computes. */
export type WasmUnaryOp = keyof typeof UNARY;
/** A binary operation the module computes. */
export type WasmBinaryOp = keyof typeof BINARY;

const load = instantiateOnce<ElementwiseExports>(ELEMENTWISE_WASM_BASE64);
const heap = new LinearMemoryView();
const reserve = (k: ElementwiseExports, floats: number) =>
  heap.reserve(k.memory, floats, MAX_FLOATS);

const align4 = (n: number): number => (n + 3) & ~3;

/**
 * Whether the WebAssembly SIMD elementwise kernels can run here.
 *
 * @returns `true` when WebAssembly with 128-bit SIMD is available.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { wasmElementwiseAvailable } from "./wasm_elementwise.ts";
 *
 * assertEquals(typeof wasmElementwiseAvailable(), "boolean");
 * ```
 */
export function wasmElementwiseAvailable(): boolean {
  return load() !== null;
}

/**
 * `out = f(x)` for a contiguous float32 `x`, with `f` one of `exp`, `sigmoid`, `gelu` (the erf
 * form), `geluTanh`, `erf` or `neg`.
 *
 * @param op The function.
 * @param x The input view.
 * @param out The contiguous output, as many elements as `x`.
 * @returns `false` without touching `out` when the kernel cannot run.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * import { wasmElementwiseAvailable, wasmUnary } from "./wasm_elementwise.ts";
 *
 * const x = { data: new Float32Array([0, 1]), shape: [2], strides: [1], offset: 0, dtype: "float32" as const };
 * const out = new Float32Array(2);
 * if (wasmElementwiseAvailable() && wasmUnary("exp", x, out)) assertAlmostEquals(out[1], Math.E, 1e-6);
 * ```
 */
export function wasmUnary(op: WasmUnaryOp, x: CpuView, out: TypedArray): boolean {
  if (!(x.data instanceof Float32Array) || !(out instanceof Float32Array)) return false;
  if (!isContiguous(x.shape, x.strides)) return false;
  const k = load();
  const n = out.length;
  if (k === null) return false;
  if (n === 0) return true;
  // In place in linear memory: the kernel reads each vector before writing it.
  const mem = reserve(k, n);
  if (mem === null) return false;
  mem.set(x.data.subarray(x.offset, x.offset + n), 0);
  k.unary(UNARY[op], 0, 0, n);
  out.set(mem.subarray(0, n));
  return true;
}

/** Dimensions and per-operand strides after dropping size-1 dims and merging contiguous runs. */
function collapse(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { dims: number[]; strides: number[][] } {
  const dims: number[] = [];
  const out: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && strides.every((s, i) => out[i][last] === s[d] * shape[d])) {
      dims[last] *= shape[d];
      strides.forEach((s, i) => out[i][last] = s[d]);
    } else {
      dims.push(shape[d]);
      strides.forEach((s, i) => out[i].push(s[d]));
    }
  }
  return { dims, strides: out };
}

/** Strides of `x` read broadcast to `shape`: 0 along broadcast dimensions. */
function broadcastTo(x: CpuView, shape: readonly number[]): number[] {
  const lead = shape.length - x.shape.length;
  return shape.map((_, d) => {
    const i = d - lead;
    return i < 0 || x.shape[i] === 1 ? 0 : x.strides[i];
  });
}

/** How the broadcasting kernels walk an output: `[blocks, rows, cols]` and, per operand, strides and span. */
interface Walk {
  readonly dims: number[];
  readonly strides: number[][];
  readonly spans: number[];
}

/**
 * The kernels' walk over `shape` for operands broadcast to it, after merging contiguous
 * dimensions: `null` unless at most three dimensions remain and every operand's innermost stride
 * is 0 or 1 (and none is negative). A span is how many elements an operand's walk reaches from its
 * offset, which is what gets copied into linear memory.
 */
function planWalk(shape: readonly number[], operands: readonly CpuView[]): Walk | null {
  const plan = collapse(shape, [
    ...operands.map((x) => broadcastTo(x, shape)),
    contiguousStrides(shape),
  ]);
  const { dims } = plan;
  if (dims.length > 3) return null;
  while (dims.length < 3) {
    dims.unshift(1);
    for (const st of plan.strides) st.unshift(0);
  }
  const strides = plan.strides.slice(0, operands.length);
  if (strides.some((st) => st[2] > 1 || st.some((v) => v < 0))) return null;
  const spans = strides.map((st) => 1 + dims.reduce((t, d, i) => t + (d - 1) * st[i], 0));
  return { dims, strides, spans };
}

/**
 * `out = a op b` for float32 views broadcast to `shape`, with `op` one of `add`, `sub`, `mul`,
 * `div`. Runs when, after merging contiguous dimensions, at most three remain and each operand's
 * innermost stride is 0 (broadcast) or 1: same shapes, scalars, bias rows, per-row scales and
 * attention masks all do; a transposed operand does not.
 *
 * @param op The operation.
 * @param a The left operand.
 * @param b The right operand.
 * @param out The contiguous output of `shape`.
 * @param shape The broadcast output shape.
 * @returns `false` without touching `out` when the kernel cannot run.
 *
 * @example Add a bias row
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { wasmBinary, wasmElementwiseAvailable } from "./wasm_elementwise.ts";
 *
 * const a = { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2], strides: [2, 1], offset: 0, dtype: "float32" as const };
 * const b = { data: new Float32Array([10, 20]), shape: [2], strides: [1], offset: 0, dtype: "float32" as const };
 * const out = new Float32Array(4);
 * if (wasmElementwiseAvailable() && wasmBinary("add", a, b, out, [2, 2])) {
 *   assertEquals(Array.from(out), [11, 22, 13, 24]);
 * }
 * ```
 */
export function wasmBinary(
  op: WasmBinaryOp,
  a: CpuView,
  b: CpuView,
  out: TypedArray,
  shape: readonly number[],
): boolean {
  if (
    !(a.data instanceof Float32Array) || !(b.data instanceof Float32Array) ||
    !(out instanceof Float32Array)
  ) return false;
  const k = load();
  if (k === null) return false;
  const n = sizeOf(shape);
  if (n === 0) return true;
  const walk = planWalk(shape, [a, b]);
  if (walk === null) return false;
  const { dims, strides: [sa, sb], spans: [na, nb] } = walk;
  const pa = 0, pb = align4(na), po = pb + align4(nb);
  const mem = reserve(k, po + n);
  if (mem === null) return false;
  mem.set(a.data.subarray(a.offset, a.offset + na), pa);
  mem.set(b.data.subarray(b.offset, b.offset + nb), pb);
  const [blocks, rows, cols] = dims;
  for (let i = 0; i < blocks; i++) {
    k.binary(
      BINARY[op],
      (pa + i * sa[0]) * 4,
      (pb + i * sb[0]) * 4,
      (po + i * rows * cols) * 4,
      rows,
      cols,
      sa[1],
      sa[2],
      sb[1],
      sb[2],
    );
  }
  out.set(mem.subarray(po, po + n));
  return true;
}

/**
 * `out = cond ? a : b` for a bool `cond` and float32 or int32 `a`, `b` broadcast to `shape`, under
 * the same layout rule as {@linkcode wasmBinary} (at most three merged dimensions, innermost
 * strides 0 or 1): attention masks filling with a scalar, for instance.
 *
 * @param cond The condition (bool, stored one byte per element).
 * @param a Chosen where `cond` is true.
 * @param b Chosen where `cond` is false.
 * @param out The contiguous output of `shape`, the same type as `a` and `b`.
 * @param shape The broadcast output shape.
 * @returns `false` without touching `out` when the kernel cannot run.
 *
 * @example Mask a row
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { wasmElementwiseAvailable, wasmWhere } from "./wasm_elementwise.ts";
 *
 * const c = { data: new Uint8Array([1, 0, 1]), shape: [3], strides: [1], offset: 0, dtype: "bool" as const };
 * const a = { data: new Float32Array([1, 2, 3]), shape: [3], strides: [1], offset: 0, dtype: "float32" as const };
 * const b = { data: new Float32Array([-9]), shape: [], strides: [], offset: 0, dtype: "float32" as const };
 * const out = new Float32Array(3);
 * if (wasmElementwiseAvailable() && wasmWhere(c, a, b, out, [3])) assertEquals(Array.from(out), [1, -9, 3]);
 * ```
 */
export function wasmWhere(
  cond: CpuView,
  a: CpuView,
  b: CpuView,
  out: TypedArray,
  shape: readonly number[],
): boolean {
  const lanes = out instanceof Float32Array || out instanceof Int32Array;
  if (!lanes || !(cond.data instanceof Uint8Array)) return false;
  if (a.data.constructor !== out.constructor || b.data.constructor !== out.constructor) {
    return false;
  }
  const k = load();
  if (k === null) return false;
  const n = sizeOf(shape);
  if (n === 0) return true;
  const walk = planWalk(shape, [cond, a, b]);
  if (walk === null) return false;
  const { dims, strides: [sc, sa, sb], spans: [nc, na, nb] } = walk;
  const pa = 0, pb = align4(na), po = pb + align4(nb), pc = po + align4(n);
  const mem = reserve(k, pc + Math.ceil(nc / 4));
  if (mem === null) return false;
  const bits = (x: CpuView) => new Float32Array(x.data.buffer, x.data.byteOffset, x.data.length);
  mem.set(bits(a).subarray(a.offset, a.offset + na), pa);
  mem.set(bits(b).subarray(b.offset, b.offset + nb), pb);
  new Uint8Array(mem.buffer, pc * 4, nc).set(cond.data.subarray(cond.offset, cond.offset + nc));
  const [blocks, rows, cols] = dims;
  for (let i = 0; i < blocks; i++) {
    k.select(
      pc * 4 + i * sc[0],
      (pa + i * sa[0]) * 4,
      (pb + i * sb[0]) * 4,
      (po + i * rows * cols) * 4,
      rows,
      cols,
      sc[1],
      sc[2],
      sa[1],
      sa[2],
      sb[1],
      sb[2],
    );
  }
  bits({ ...a, data: out }).set(mem.subarray(po, po + n));
  return true;
}

/**
 * Softmax or log-softmax of a contiguous float32 `x` along its last dimension.
 *
 * @param x The input view.
 * @param out The contiguous output, shaped like `x`.
 * @param dim The softmax dimension (runs only for the last one).
 * @param log `true` for log-softmax.
 * @returns `false` without touching `out` when the kernel cannot run.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * import { wasmElementwiseAvailable, wasmSoftmax } from "./wasm_elementwise.ts";
 *
 * const x = { data: new Float32Array([0, 0]), shape: [1, 2], strides: [2, 1], offset: 0, dtype: "float32" as const };
 * const out = new Float32Array(2);
 * if (wasmElementwiseAvailable() && wasmSoftmax(x, out, 1, false)) assertAlmostEquals(out[0], 0.5, 1e-7);
 * ```
 */
export function wasmSoftmax(x: CpuView, out: TypedArray, dim: number, log: boolean): boolean {
  if (!(x.data instanceof Float32Array) || !(out instanceof Float32Array)) return false;
  if (dim !== x.shape.length - 1 || !isContiguous(x.shape, x.strides)) return false;
  const k = load();
  if (k === null) return false;
  const total = out.length;
  if (total === 0) return true;
  const n = x.shape[dim];
  const rows = total / n;
  const sums = align4(total);
  const mem = reserve(k, sums + rows);
  if (mem === null) return false;
  mem.set(x.data.subarray(x.offset, x.offset + total), 0);
  k.softmax(0, 0, rows, n, log ? 1 : 0, sums * 4);
  if (log) {
    for (let r = 0; r < rows; r++) {
      const lse = Math.fround(Math.log(mem[sums + r]));
      for (let j = r * n, end = j + n; j < end; j++) mem[j] -= lse;
    }
  }
  out.set(mem.subarray(0, total));
  return true;
}
