/**
 * Helpers the CPU reference kernels share: turning strided views into flat element offsets.
 *
 * @module
 */

import { broadcastStrides, isContiguous, sizeOf } from "../shape.ts";
import type { CpuView } from "./op_def.ts";

/**
 * Element offsets of every element of a strided view, in row-major order of `shape`.
 *
 * @param shape The logical shape to walk.
 * @param strides Strides (in elements) for each dimension of `shape`.
 * @param offset Offset of the first element.
 * @returns `null` when the walk is the dense range `offset + i`, else one offset per element.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { stridedOffsets } from "./cpu_util.ts";
 *
 * assertEquals(stridedOffsets([2, 2], [1, 2], 0), new Int32Array([0, 2, 1, 3]));
 * assertEquals(stridedOffsets([2, 2], [2, 1], 0), null);
 * ```
 */
export function stridedOffsets(
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
): Int32Array | null {
  if (isContiguous(shape, strides)) return null;
  const n = sizeOf(shape);
  const out = new Int32Array(n);
  const nd = shape.length;
  const idx = new Array<number>(nd).fill(0);
  let off = offset;
  for (let i = 0; i < n; i++) {
    out[i] = off;
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]++;
      off += strides[d];
      if (idx[d] < shape[d]) break;
      off -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

/**
 * Element offsets for reading `view` broadcast to `target`.
 *
 * @param view The input view.
 * @param target The broadcast shape.
 * @returns Offsets as {@linkcode stridedOffsets} returns them.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { broadcastOffsets } from "./cpu_util.ts";
 *
 * const view = { data: new Float32Array(2), shape: [2], strides: [1], offset: 0, dtype: "float32" as const };
 * assertEquals(broadcastOffsets(view, [2, 2]), new Int32Array([0, 1, 0, 1]));
 * ```
 */
export function broadcastOffsets(view: CpuView, target: readonly number[]): Int32Array | null {
  return stridedOffsets(target, broadcastStrides(view.shape, view.strides, target), view.offset);
}

/**
 * Like {@linkcode stridedOffsets} but always returns the offsets array.
 *
 * @param shape The logical shape.
 * @param strides The strides.
 * @param offset The first element's offset.
 * @returns One offset per element.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { forceOffsets } from "./cpu_util.ts";
 *
 * assertEquals(forceOffsets([3], [1], 2), new Int32Array([2, 3, 4]));
 * ```
 */
export function forceOffsets(
  shape: readonly number[],
  strides: readonly number[],
  offset: number,
): Int32Array {
  const offs = stridedOffsets(shape, strides, offset);
  if (offs) return offs;
  const n = sizeOf(shape);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = offset + i;
  return out;
}
