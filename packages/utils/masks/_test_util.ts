/**
 * Test helpers for the mask modules: one `Deno.test` per backend, and masks written as rows of
 * `0`/`1` digits.
 *
 * @module
 */

import { arange, type Tensor, zeros } from "@denoformers/core";

export { testBackends } from "@denoformers/core/testing";
import type { MaskFunction } from "./mask_functions.ts";

/**
 * Reads a `[B, 1, Q, K]` bool mask (one read) as one list of `"0"`/`"1"` row strings per batch.
 *
 * @param mask The mask.
 * @returns `rows[b][q]`, e.g. `"11000"`.
 */
export async function maskRows(mask: Tensor): Promise<string[][]> {
  const [batch, , q, k] = mask.shape;
  const values = await mask.data();
  return Array.from({ length: batch }, (_, b) =>
    Array.from(
      { length: q },
      (_, i) => Array.from(values.subarray((b * q + i) * k, (b * q + i + 1) * k), Number).join(""),
    ));
}

/**
 * Evaluates a mask function on the grid of positions `[0, B) x [0, 1) x [0, Q) x [0, K)` (plus
 * offsets) on the current backend, broadcast to `[B, 1, Q, K]`.
 *
 * @param fn The mask function.
 * @param sizes `[B, Q, K]` and optional offsets `[qOffset, kvOffset]`.
 * @returns The bool mask.
 */
export function evaluate(
  fn: MaskFunction,
  [batch, q, k]: readonly [number, number, number],
  [qOffset, kvOffset]: readonly [number, number] = [0, 0],
): Tensor {
  const b = arange(0, batch, 1).reshape([batch, 1, 1, 1]);
  const h = zeros([1, 1, 1, 1], { dtype: "int32" });
  const qi = arange(qOffset, qOffset + q, 1).reshape([1, 1, q, 1]);
  const kvi = arange(kvOffset, kvOffset + k, 1).reshape([1, 1, 1, k]);
  return fn(b, h, qi, kvi).expand([batch, 1, q, k]);
}
