/**
 * Float32 `sum` on the WebAssembly SIMD kernels of `reduce.wat`, accumulating in float64 like the
 * TypeScript reference kernel. The CPU backend tries it before the reference; it returns `false`
 * without touching `out` when it cannot run (no WebAssembly SIMD, not float32, a strided input, or
 * reduced axes that are neither all leading nor all trailing).
 *
 * @module
 */

import { isContiguous, sizeOf } from "../shape.ts";
import type { CpuView } from "../ops/op_def.ts";
import type { TypedArray } from "../dtype.ts";
import { REDUCE_WASM_BASE64 } from "./reduce_wasm.ts";
import { instantiateOnce, LinearMemoryView } from "./wasm_module.ts";

interface ReduceExports {
  readonly memory: WebAssembly.Memory;
  rowSum(x: number, out: number, rows: number, n: number): void;
  colSum(x: number, out: number, rows: number, n: number, acc: number): void;
}

/** The most floats copied into linear memory for one call (128 MiB). */
const MAX_FLOATS = 32 << 20;

const load = instantiateOnce<ReduceExports>(REDUCE_WASM_BASE64);
const heap = new LinearMemoryView();

/**
 * `out = x.sum(axes)` for a contiguous float32 `x` whose reduced axes (ignoring size-1 ones) are
 * all trailing (each row sums to one value) or all leading (rows add up elementwise).
 *
 * @param x The input view.
 * @param out The contiguous output.
 * @param axes The reduced axes, sorted and non-negative.
 * @returns `false` without touching `out` when the kernel cannot run.
 *
 * @example Row and column sums
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { wasmSum } from "./wasm_reduce.ts";
 *
 * const x = { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3], strides: [3, 1], offset: 0, dtype: "float32" as const };
 * const rows = new Float32Array(2), cols = new Float32Array(3);
 * if (wasmSum(x, rows, [1]) && wasmSum(x, cols, [0])) {
 *   assertEquals(Array.from(rows), [6, 15]);
 *   assertEquals(Array.from(cols), [5, 7, 9]);
 * }
 * ```
 */
export function wasmSum(x: CpuView, out: TypedArray, axes: readonly number[]): boolean {
  if (!(x.data instanceof Float32Array) || !(out instanceof Float32Array)) return false;
  if (!isContiguous(x.shape, x.strides)) return false;
  const k = load();
  if (k === null) return false;
  const total = sizeOf(x.shape);
  if (total === 0 || out.length === 0) return false;
  // Which non-trivial dimensions are reduced, in order.
  const reduced = x.shape.flatMap((d, i) => d === 1 ? [] : [axes.includes(i)]);
  const first = reduced.indexOf(true);
  if (first < 0) return false;
  const firstKept = reduced.indexOf(false), lastKept = reduced.lastIndexOf(false);
  const trailing = lastKept < first; // kept dimensions, then reduced ones
  const leading = firstKept > reduced.lastIndexOf(true); // reduced dimensions, then kept ones
  if (!leading && !trailing) return false;
  const n = trailing ? total / out.length : out.length;
  const rows = total / n;
  const pOut = (total + 3) & ~3;
  const pAcc = pOut + ((out.length + 3) & ~3);
  const mem = heap.reserve(k.memory, pAcc + (trailing ? 0 : 2 * n), MAX_FLOATS);
  if (mem === null) return false;
  mem.set(x.data.subarray(x.offset, x.offset + total), 0);
  if (trailing) k.rowSum(0, pOut * 4, rows, n);
  else k.colSum(0, pOut * 4, rows, n, pAcc * 4);
  out.set(mem.subarray(pOut, pOut + out.length));
  return true;
}
