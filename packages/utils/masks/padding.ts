/**
 * Preparing the 2-D inputs of the mask builders: padding masks that must cover every key/value
 * position, and sequence ids recovered from the position ids of packed sequences.
 *
 * @module
 */

import { ShapeError, type Tensor, tidy } from "@denoformers/core";
import { hostValues } from "./_host.ts";
import { formatShape } from "./_util.ts";

function check2d(op: string, what: string, t: Tensor): void {
  if (t.ndim !== 2) {
    throw new ShapeError(
      op,
      `Cannot ${what}: expected a 2-D tensor [batch, length], got shape ${formatShape(t.shape)}`,
      [t.shape],
    );
  }
}

/**
 * Right-pads a 2-D padding mask with `false` (0) so that it covers `kvOffset + kvLength`
 * columns, the absolute key/value positions a mask function may look up. A mask that is already
 * long enough is returned unchanged (it is never sliced).
 *
 * @param attentionMask A 2-D mask `[B, L]`.
 * @param kvLength Number of key/value positions.
 * @param kvOffset Absolute position of the first key/value. @default {0}
 * @returns The mask, padded to at least `kvOffset + kvLength` columns, same dtype.
 * @throws {ShapeError} When `attentionMask` is not 2-D.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { preparePaddingMask } from "./padding.ts";
 *
 * const mask = tensor([[true, true]], { backend: "cpu" });
 * assertEquals(await preparePaddingMask(mask, 3, 1).toArray(), [[true, true, false, false]]);
 * assertEquals(preparePaddingMask(mask, 1, 0), mask);
 * ```
 */
export function preparePaddingMask(attentionMask: Tensor, kvLength: number, kvOffset = 0): Tensor {
  check2d("preparePaddingMask", "prepare a padding mask", attentionMask);
  const [batch, width] = attentionMask.shape;
  const missing = kvLength + kvOffset - width;
  if (missing <= 0) return attentionMask;
  return attentionMask.pad({
    shape: [batch, width + missing],
    starts: [0, 0],
    steps: [1, 1],
    value: 0,
  });
}

/** Inclusive prefix sum along the last dim of a 2-D int32 tensor (log-step scan). */
function cumsumLastDim(x: Tensor): Tensor {
  const [rows, length] = x.shape;
  let out = x;
  for (let step = 1; step < length; step *= 2) {
    const shifted = out.slice(1, 0, length - step).pad({
      shape: [rows, length],
      starts: [0, step],
      steps: [1, 1],
      value: 0,
    });
    out = out.add(shifted);
  }
  return out;
}

/** Whether every row counts up by exactly 1 (one sequence per row), or `null` if unknown. */
function oneSequencePerRow(positionIds: Tensor): boolean | null {
  const values = hostValues(positionIds);
  if (values === null) return null;
  const [rows, length] = positionIds.shape;
  for (let r = 0; r < rows; r++) {
    for (let t = r * length + 1; t < (r + 1) * length; t++) {
      if (values[t] - values[t - 1] !== 1) return false;
    }
  }
  return true;
}

/**
 * Recovers which packed sequence each token belongs to from its position ids: a new sequence
 * starts wherever the position does not grow by exactly 1, and ids count those starts from 0 in
 * each row. `[[0, 1, 2, 0, 1]]` gives `[[0, 0, 0, 1, 1]]`.
 *
 * Returns `null` when every row holds a single sequence. That needs the values on the host: for
 * position ids on a backend that cannot be read synchronously (WebGPU) the ids are always
 * returned, which gives the same attention pattern as `null` but keeps a mask from being skipped.
 *
 * @param positionIds A 2-D tensor `[B, T]` of positions.
 * @returns An int32 tensor `[B, T]` of sequence ids, or `null` for one sequence per row.
 * @throws {ShapeError} When `positionIds` is not 2-D.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { findPackedSequenceIndices } from "./padding.ts";
 *
 * const packed = tensor([[0, 1, 0, 1, 2, 0]], { dtype: "int32", backend: "cpu" });
 * assertEquals(await findPackedSequenceIndices(packed)!.toArray(), [[0, 0, 1, 1, 1, 2]]);
 * const single = tensor([[3, 4, 5]], { dtype: "int32", backend: "cpu" });
 * assertEquals(findPackedSequenceIndices(single), null);
 * ```
 */
export function findPackedSequenceIndices(positionIds: Tensor): Tensor | null {
  check2d("findPackedSequenceIndices", "find packed sequences", positionIds);
  const [rows, length] = positionIds.shape;
  if (length === 0 || oneSequencePerRow(positionIds) === true) return null;
  return tidy(() => sequenceIds(positionIds.cast("int32"), rows, length));
}

function sequenceIds(pos: Tensor, rows: number, length: number): Tensor {
  // The first token is compared with a virtual predecessor one position back, so it never
  // starts a new sequence: its break flag is the 0 padded in front.
  const breaks = pos.slice(1, 1).sub(pos.slice(1, 0, length - 1)).ne(1).cast("int32").pad({
    shape: [rows, length],
    starts: [0, 1],
    steps: [1, 1],
    value: 0,
  });
  return cumsumLastDim(breaks);
}
