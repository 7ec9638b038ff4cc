/**
 * Float32 layer normalisation and RMS normalisation over the last dimension on the WebAssembly
 * SIMD kernels of `norm.wat`. The CPU backend tries these before its TypeScript reference kernels;
 * each function returns `false` without touching `out` when it cannot run (no WebAssembly SIMD,
 * not float32, a non-contiguous input, or more data than its workspace), and the reference runs
 * instead.
 *
 * @module
 */

import { isContiguous } from "../shape.ts";
import type { CpuView } from "../ops/op_def.ts";
import type { TypedArray } from "../dtype.ts";
import { NORM_WASM_BASE64 } from "./norm_wasm.ts";
import { instantiateOnce, LinearMemoryView } from "./wasm_module.ts";

interface NormExports {
  readonly memory: WebAssembly.Memory;
  layerNorm(
    x: number,
    out: number,
    rows: number,
    n: number,
    w: number,
    b: number,
    eps: number,
  ): void;
  rmsNorm(x: number, out: number, rows: number, n: number, w: number, eps: number): void;
}

/** The most floats the kernels copy into linear memory for one call (128 MiB). */
const MAX_FLOATS = 32 << 20;

const load = instantiateOnce<NormExports>(NORM_WASM_BASE64);
const heap = new LinearMemoryView();
const reserve = (k: NormExports, floats: number) => heap.reserve(k.memory, floats, MAX_FLOATS);

const align4 = (n: number): number => (n + 3) & ~3;

/** Copies a 1-D float32 view (any stride) to `mem[at..at+n)`, or `fill` when it is absent. */
function place(mem: Float32Array, at: number, n: number, v: CpuView | undefined, fill: number) {
  if (!v) {
    mem.fill(fill, at, at + n);
  } else if (v.strides[0] === 1 || n <= 1) {
    mem.set(v.data.subarray(v.offset, v.offset + n), at);
  } else {
    for (let j = 0; j < n; j++) mem[at + j] = v.data[v.offset + j * v.strides[0]];
  }
}

/** Whether `x`, `out` and every parameter suit the kernels (float32; `x` contiguous). */
function suits(x: CpuView, out: TypedArray, params: readonly CpuView[]): boolean {
  return x.data instanceof Float32Array && out instanceof Float32Array &&
    x.shape.length > 0 && isContiguous(x.shape, x.strides) &&
    params.every((p) => p.data instanceof Float32Array && p.shape.length === 1);
}

/**
 * Whether the WebAssembly SIMD normalisation kernels can run here.
 *
 * @returns `true` when WebAssembly with 128-bit SIMD is available.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { wasmNormAvailable } from "./wasm_norm.ts";
 *
 * assertEquals(typeof wasmNormAvailable(), "boolean");
 * ```
 */
export function wasmNormAvailable(): boolean {
  return load() !== null;
}

/**
 * Layer normalisation of a contiguous float32 `x` over its last dimension:
 * `(x - mean) · rsqrt(var + eps) · weight + bias` with the biased variance, the row statistics
 * accumulated in float64.
 *
 * @param x The input view.
 * @param weight The scale (1-D, the size of the last dimension), or `undefined`.
 * @param bias The shift (1-D), or `undefined`.
 * @param out The contiguous output, shaped like `x`.
 * @param eps Added to the variance.
 * @returns `false` without touching `out` when the kernel cannot run.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * import { wasmLayerNorm, wasmNormAvailable } from "./wasm_norm.ts";
 *
 * const x = { data: new Float32Array([1, 3]), shape: [1, 2], strides: [2, 1], offset: 0, dtype: "float32" as const };
 * const out = new Float32Array(2);
 * if (wasmNormAvailable() && wasmLayerNorm(x, undefined, undefined, out, 0)) {
 *   assertAlmostEquals(out[1], 1, 1e-6);
 * }
 * ```
 */
export function wasmLayerNorm(
  x: CpuView,
  weight: CpuView | undefined,
  bias: CpuView | undefined,
  out: TypedArray,
  eps: number,
): boolean {
  const params = [weight, bias].filter((p) => p !== undefined);
  if (!suits(x, out, params)) return false;
  const k = load();
  if (k === null) return false;
  const total = out.length;
  if (total === 0) return true;
  const n = x.shape[x.shape.length - 1];
  const pw = align4(total), pb = pw + align4(n);
  const mem = reserve(k, pb + n);
  if (mem === null) return false;
  mem.set(x.data.subarray(x.offset, x.offset + total), 0);
  place(mem, pw, n, weight, 1);
  place(mem, pb, n, bias, 0);
  k.layerNorm(0, 0, total / n, n, pw * 4, pb * 4, eps);
  out.set(mem.subarray(0, total));
  return true;
}

/**
 * RMS normalisation of a contiguous float32 `x` over its last dimension, as Llama defines it:
 * `weight · (x · rsqrt(mean(x²) + eps))`, the mean square accumulated in float64.
 *
 * @param x The input view.
 * @param weight The scale (1-D, the size of the last dimension), or `undefined`.
 * @param out The contiguous output, shaped like `x`.
 * @param eps Added to the mean square.
 * @returns `false` without touching `out` when the kernel cannot run.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * import { wasmNormAvailable, wasmRmsNorm } from "./wasm_norm.ts";
 *
 * const x = { data: new Float32Array([3, 4]), shape: [2], strides: [1], offset: 0, dtype: "float32" as const };
 * const out = new Float32Array(2);
 * if (wasmNormAvailable() && wasmRmsNorm(x, undefined, out, 0)) {
 *   assertAlmostEquals(out[0], 3 / Math.sqrt(12.5), 1e-6);
 * }
 * ```
 */
export function wasmRmsNorm(
  x: CpuView,
  weight: CpuView | undefined,
  out: TypedArray,
  eps: number,
): boolean {
  if (!suits(x, out, weight ? [weight] : [])) return false;
  const k = load();
  if (k === null) return false;
  const total = out.length;
  if (total === 0) return true;
  const n = x.shape[x.shape.length - 1];
  const pw = align4(total);
  const mem = reserve(k, pw + n);
  if (mem === null) return false;
  mem.set(x.data.subarray(x.offset, x.offset + total), 0);
  place(mem, pw, n, weight, 1);
  k.rmsNorm(0, 0, total / n, n, pw * 4, eps);
  out.set(mem.subarray(0, total));
  return true;
}
