/**
 * Shape arithmetic shared by every op: sizes, strides, broadcasting and axis checks.
 *
 * @module
 */

import { ShapeError } from "./errors.ts";

/**
 * Formats a shape the way every error message prints it: `[2, 3]`.
 *
 * @param shape The shape.
 * @returns The formatted shape.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { formatShape } from "./shape.ts";
 *
 * assertEquals(formatShape([2, 3]), "[2, 3]");
 * ```
 */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/**
 * The number of elements in a shape (1 for a scalar).
 *
 * @param shape The shape.
 * @returns The product of its dimensions.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { sizeOf } from "./shape.ts";
 *
 * assertEquals(sizeOf([2, 3]), 6);
 * ```
 */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Row-major strides (in elements) for a shape.
 *
 * @param shape The shape.
 * @returns The strides of a contiguous tensor of that shape.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { contiguousStrides } from "./shape.ts";
 *
 * assertEquals(contiguousStrides([2, 3, 4]), [12, 4, 1]);
 * ```
 */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/**
 * Whether a strided view is laid out exactly row-major (ignoring dimensions of size 1).
 *
 * @param shape The view's shape.
 * @param strides The view's strides.
 * @returns `true` when the view can be read as one dense block.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { isContiguous } from "./shape.ts";
 *
 * assert(isContiguous([2, 3], [3, 1]) && !isContiguous([2, 3], [1, 2]));
 * ```
 */
export function isContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] === 1) continue;
    if (strides[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/**
 * Broadcasts shapes with NumPy/PyTorch rules (align right; sizes equal or one of them 1).
 *
 * @param op The op name, for the error message.
 * @param shapes The shapes to broadcast.
 * @returns The broadcast shape.
 * @throws {ShapeError} When two sizes differ and neither is 1.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { broadcastShapes } from "./shape.ts";
 *
 * assertEquals(broadcastShapes("add", [[2, 1, 3], [4, 1]]), [2, 4, 3]);
 * ```
 */
export function broadcastShapes(op: string, shapes: readonly (readonly number[])[]): number[] {
  const ndim = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(ndim).fill(1);
  for (const shape of shapes) {
    for (let i = 0; i < shape.length; i++) {
      const o = ndim - shape.length + i;
      const d = shape[i];
      if (d === out[o] || d === 1) continue;
      if (out[o] === 1) {
        out[o] = d;
        continue;
      }
      throw new ShapeError(
        op,
        `Cannot ${op} tensors: shapes ${
          shapes.map(formatShape).join(" and ")
        } do not broadcast (dimension ${o - ndim} is ${out[o]} vs ${d})`,
        shapes,
      );
    }
  }
  return out;
}

/**
 * Strides that read a tensor of `shape`/`strides` as if it had been broadcast to `target`
 * (broadcast dimensions get stride 0).
 *
 * @param shape The source shape (right-aligned against `target`).
 * @param strides The source strides.
 * @param target The broadcast shape.
 * @returns Strides with one entry per dimension of `target`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { broadcastStrides } from "./shape.ts";
 *
 * assertEquals(broadcastStrides([3], [1], [2, 3]), [0, 1]);
 * ```
 */
export function broadcastStrides(
  shape: readonly number[],
  strides: readonly number[],
  target: readonly number[],
): number[] {
  const out = new Array<number>(target.length).fill(0);
  const lead = target.length - shape.length;
  for (let i = 0; i < shape.length; i++) {
    out[lead + i] = shape[i] === 1 ? 0 : strides[i];
  }
  return out;
}

/**
 * Resolves a possibly negative axis against a rank.
 *
 * @param op The op name, for the error message.
 * @param axis The axis (negative counts from the end).
 * @param ndim The rank of the tensor.
 * @returns The axis in `[0, ndim)`.
 * @throws {ShapeError} When the axis is out of range or not an integer.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { normalizeAxis } from "./shape.ts";
 *
 * assertEquals(normalizeAxis("sum", -1, 3), 2);
 * ```
 */
export function normalizeAxis(op: string, axis: number, ndim: number): number {
  const lo = -Math.max(ndim, 1);
  const hi = Math.max(ndim, 1) - 1;
  if (!Number.isInteger(axis) || axis < lo || axis > hi) {
    throw new ShapeError(
      op,
      `Cannot ${op} along axis ${axis}: expected an integer in [${lo}, ${hi}] for a tensor of rank ${ndim}`,
    );
  }
  return axis < 0 ? axis + Math.max(ndim, 1) : axis;
}

/**
 * Resolves a list of axes (or all axes when `undefined`), rejecting duplicates.
 *
 * @param op The op name, for the error message.
 * @param axes One axis, several, or `undefined` for all.
 * @param ndim The rank of the tensor.
 * @returns Sorted axes in `[0, ndim)`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { normalizeAxes } from "./shape.ts";
 *
 * assertEquals(normalizeAxes("sum", [-1, 0], 3), [0, 2]);
 * assertEquals(normalizeAxes("sum", undefined, 2), [0, 1]);
 * ```
 */
export function normalizeAxes(
  op: string,
  axes: number | readonly number[] | undefined,
  ndim: number,
): number[] {
  if (axes === undefined) return [...Array(ndim).keys()];
  const list = (typeof axes === "number" ? [axes] : axes).map((a) => normalizeAxis(op, a, ndim));
  const sorted = [...new Set(list)].sort((a, b) => a - b);
  if (sorted.length !== list.length) {
    throw new ShapeError(op, `Cannot ${op} over axes [${axes}]: an axis appears twice`);
  }
  return ndim === 0 ? [] : sorted;
}

/**
 * Strides that let a strided view be read with a new shape without copying, or `null` when the
 * new shape needs a copy (PyTorch's `view` rule: each group of merged or split dimensions must be
 * contiguous within itself).
 *
 * @param shape The view's shape.
 * @param strides The view's strides.
 * @param newShape The requested shape (same element count).
 * @returns The new strides, or `null`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { viewStrides } from "./shape.ts";
 *
 * // A transposed [3, 2] view can gain a size-1 dimension without a copy, but not be flattened.
 * assertEquals(viewStrides([3, 2], [1, 3], [3, 1, 2]), [1, 6, 3]);
 * assertEquals(viewStrides([3, 2], [1, 3], [6]), null);
 * ```
 */
export function viewStrides(
  shape: readonly number[],
  strides: readonly number[],
  newShape: readonly number[],
): number[] | null {
  if (sizeOf(shape) === 0 || shape.length === 0) return contiguousStrides(newShape);
  const out = new Array<number>(newShape.length);
  let viewD = newShape.length - 1;
  let chunkStride = strides[strides.length - 1];
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    tensorNumel *= shape[d];
    // A chunk ends where the next dimension out is not laid out right after this one.
    if (d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== tensorNumel * chunkStride)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        out[viewD] = viewNumel * chunkStride;
        viewNumel *= newShape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkStride = strides[d - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  return viewD === -1 ? out : null;
}
