/**
 * `repeatKv`: widens grouped key/value heads to one per query head (grouped-query attention).
 *
 * @module
 */

import { ShapeError, type Tensor } from "@denoformers/core";

/**
 * Repeats each key/value head `nRep` times in a row: `[B, KVH, S, D]` becomes
 * `[B, KVH·nRep, S, D]`, and output head `j` holds input head `⌊j / nRep⌋` (repeat-interleave,
 * as `torch.repeat_interleave(x, nRep, dim=1)`).
 *
 * The repetition is a broadcast view; the one copy happens when the view is folded into the
 * head dimension. With `nRep` 1 the input itself is returned.
 *
 * @param x Keys or values, `[B, KVH, S, D]`.
 * @param nRep Copies of each head (a positive integer).
 * @returns `[B, KVH·nRep, S, D]`.
 * @throws {ShapeError} When `x` is not 4-D.
 * @throws {RangeError} When `nRep` is not a positive integer.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { repeatKv } from "./repeat_kv.ts";
 *
 * // B = 1, KVH = 2, S = 1, D = 1
 * const kv = tensor([[[[1]], [[2]]]], { backend: "cpu" });
 * assertEquals(await repeatKv(kv, 2).toArray(), [[[[1]], [[1]], [[2]], [[2]]]]);
 * ```
 */
export function repeatKv(x: Tensor, nRep: number): Tensor {
  if (x.ndim !== 4) {
    throw new ShapeError(
      "repeatKv",
      `Cannot repeat key/value heads of a tensor of shape [${
        x.shape.join(", ")
      }]: expected 4 dimensions [B, KVH, S, D]`,
      [x.shape],
    );
  }
  if (!Number.isInteger(nRep) || nRep < 1) {
    throw new RangeError(
      `Cannot repeat key/value heads ${nRep} times: expected a positive integer`,
    );
  }
  if (nRep === 1) return x;
  const [b, kvh, s, d] = x.shape;
  return x.unsqueeze(2) // (B, KVH, 1, S, D)
    .expand([b, kvh, nRep, s, d]) // (B, KVH, nRep, S, D), a view
    .reshape([b, kvh * nRep, s, d]); // (B, H, S, D)
}
