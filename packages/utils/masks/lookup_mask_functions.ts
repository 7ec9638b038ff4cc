/**
 * Mask functions that look up per-row data: chunked attention (left-padding counts), padding
 * (a 2-D mask) and packed sequences (sequence ids).
 *
 * @module
 */

import { ShapeError, type Tensor } from "@denoformers/core";
import { checkPositiveInteger, formatShape } from "./_util.ts";
import { andMasks, causalMaskFunction, type MaskFunction } from "./mask_functions.ts";

/** `floor(x / divisor)` for int32 `x` and a positive integer divisor, rounding negatives down. */
function floorDiv(x: Tensor, divisor: number): Tensor {
  // True division then truncation; a quotient that truncation moved up (negative, inexact) drops
  // by one. Exact for |x| < 2^24, far beyond any sequence length.
  const quotient = x.div(divisor);
  const truncated = quotient.cast("int32");
  return truncated.sub(quotient.lt(truncated));
}

/** `values[rows]` for a 1-D tensor, keeping the index tensor's shape. */
function take1d(values: Tensor, rows: Tensor): Tensor {
  return values.indexSelect(0, rows.reshape([-1])).reshape(rows.shape);
}

/** `table[rows, cols]` with broadcasting index tensors; out-of-range columns raise, never wrap. */
function take2d(table: Tensor, rows: Tensor, cols: Tensor): Tensor {
  const width = table.shape[1];
  const inRange = cols.ge(0).logicalAnd(cols.lt(width));
  const flat = rows.mul(width).add(cols.where(inRange, table.size));
  return table.reshape([-1]).indexSelect(0, flat.reshape([-1])).reshape(flat.shape);
}

function check2d(what: string, t: Tensor): void {
  if (t.ndim !== 2) {
    throw new ShapeError(
      what,
      `Cannot create ${what}: expected a 2-D tensor [batch, length], got shape ${
        formatShape(t.shape)
      }`,
      [t.shape],
    );
  }
}

/**
 * A chunked-attention overlay: query and key must fall in the same chunk of `chunkSize`
 * positions, counted from the first real token of each row:
 * `floor((kv - lp[b]) / c) == floor((q - lp[b]) / c)` with floor division (negatives round down).
 *
 * @param chunkSize The chunk size (a positive integer).
 * @param leftPadding A 1-D int32 tensor `[B]`: the number of left-padding tokens of each row.
 * @returns The overlay mask function.
 * @throws {RangeError} When `chunkSize` is not a positive integer.
 * @throws {ShapeError} When `leftPadding` is not 1-D.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { arange, tensor } from "@denoformers/core";
 * import { chunkedOverlay } from "./lookup_mask_functions.ts";
 *
 * const i = arange(0, 4, 1, { backend: "cpu" });
 * const b = arange(0, 1, 1, { backend: "cpu" });
 * const lp = tensor([1], { dtype: "int32", backend: "cpu" });
 * const out = chunkedOverlay(2, lp)(b, b, i.reshape([4, 1]), i.reshape([1, 4]));
 * // Chunks start after the one padding token: {0}, {1, 2}, {3}.
 * assertEquals(await out.toArray(), [
 *   [true, false, false, false],
 *   [false, true, true, false],
 *   [false, true, true, false],
 *   [false, false, false, true],
 * ]);
 * ```
 */
export function chunkedOverlay(chunkSize: number, leftPadding: Tensor): MaskFunction {
  checkPositiveInteger("a chunked overlay", "the chunk size", chunkSize);
  if (leftPadding.ndim !== 1) {
    throw new ShapeError(
      "chunkedOverlay",
      `Cannot create a chunked overlay: left padding must be 1-D [batch], got shape ${
        formatShape(leftPadding.shape)
      }`,
      [leftPadding.shape],
    );
  }
  const lp = leftPadding.cast("int32");
  return (b, _h, q, kv) => {
    const shift = take1d(lp, b);
    return floorDiv(kv.sub(shift), chunkSize).eq(floorDiv(q.sub(shift), chunkSize));
  };
}

/**
 * The chunked causal pattern: the chunked overlay AND causal.
 *
 * @param chunkSize The chunk size (a positive integer).
 * @param leftPadding A 1-D int32 tensor `[B]` of left-padding counts.
 * @returns The mask function.
 * @throws {RangeError} When `chunkSize` is not a positive integer.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { arange, zeros } from "@denoformers/core";
 * import { chunkedCausalMaskFunction } from "./lookup_mask_functions.ts";
 *
 * const i = arange(0, 3, 1, { backend: "cpu" });
 * const b = arange(0, 1, 1, { backend: "cpu" });
 * const fn = chunkedCausalMaskFunction(2, zeros([1], { dtype: "int32", backend: "cpu" }));
 * assertEquals(await fn(b, b, i.reshape([3, 1]), i.reshape([1, 3])).toArray(), [
 *   [true, false, false],
 *   [true, true, false],
 *   [false, false, true],
 * ]);
 * ```
 */
export function chunkedCausalMaskFunction(chunkSize: number, leftPadding: Tensor): MaskFunction {
  return andMasks(chunkedOverlay(chunkSize, leftPadding), causalMaskFunction);
}

/**
 * The padding pattern from a 2-D mask: `mask[b, kv]`. The mask is indexed by **absolute**
 * key/value position, so it must cover `kvOffset + kvLength` columns (see `preparePaddingMask`);
 * a position outside it raises instead of wrapping into the next row.
 *
 * @param paddingMask A 2-D mask `[B, L]` (non-zero = real token).
 * @returns The mask function.
 * @throws {ShapeError} When `paddingMask` is not 2-D.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { arange, tensor } from "@denoformers/core";
 * import { paddingMaskFunction } from "./lookup_mask_functions.ts";
 *
 * const fn = paddingMaskFunction(tensor([[false, true, true]], { backend: "cpu" }));
 * const b = arange(0, 1, 1, { backend: "cpu" }).reshape([1, 1]);
 * const kv = arange(0, 3, 1, { backend: "cpu" }).reshape([1, 3]);
 * assertEquals(await fn(b, b, b, kv).toArray(), [[false, true, true]]);
 * ```
 */
export function paddingMaskFunction(paddingMask: Tensor): MaskFunction {
  check2d("a padding mask function", paddingMask);
  const mask = paddingMask.cast("bool");
  return (b, _h, _q, kv) => take2d(mask, b, kv);
}

/**
 * The packed-sequence pattern: a query attends only to keys of its own sequence,
 * `ids[b, q] == ids[b, kv]`.
 *
 * @param sequenceIds A 2-D int32 tensor `[B, T]` of sequence ids (see `findPackedSequenceIndices`).
 * @returns The mask function.
 * @throws {ShapeError} When `sequenceIds` is not 2-D.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { arange, tensor } from "@denoformers/core";
 * import { packedSequenceMaskFunction } from "./lookup_mask_functions.ts";
 *
 * const fn = packedSequenceMaskFunction(tensor([[0, 0, 1]], { dtype: "int32", backend: "cpu" }));
 * const b = arange(0, 1, 1, { backend: "cpu" }).reshape([1, 1, 1]);
 * const i = arange(0, 3, 1, { backend: "cpu" });
 * assertEquals(await fn(b, b, i.reshape([1, 3, 1]), i.reshape([1, 1, 3])).toArray(), [[
 *   [true, true, false],
 *   [true, true, false],
 *   [false, false, true],
 * ]]);
 * ```
 */
export function packedSequenceMaskFunction(sequenceIds: Tensor): MaskFunction {
  check2d("a packed-sequence mask function", sequenceIds);
  const ids = sequenceIds.cast("int32");
  return (b, _h, q, kv) => take2d(ids, b, q).eq(take2d(ids, b, kv));
}
