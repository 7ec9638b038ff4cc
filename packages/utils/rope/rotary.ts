/**
 * Applying rotary position embeddings to queries and keys, as Llama does (half-split pairs).
 *
 * @module
 */

import { cat, ShapeError, type Tensor } from "@denoformers/core";

/** Options of {@linkcode applyRotaryPosEmb}. */
export interface ApplyRotaryOptions {
  /**
   * Where a size-1 axis is inserted into `cos` and `sin` so they broadcast with `q` and `k`:
   * 1 for `[B, H, S, D]` layouts, 2 for `[B, S, H, D]`.
   *
   * @default {1}
   */
  unsqueezeDim?: number;
}

/** Queries and keys with rotary embeddings applied. */
export interface RotatedQueryKey {
  /** The rotated queries. */
  q: Tensor;
  /** The rotated keys. */
  k: Tensor;
}

/**
 * Rotates half the channels: splits the last dimension into a first half `x1` and a second half
 * `x2` and returns `concat(-x2, x1)`. Channel `i` pairs with channel `i + D/2` (GPT-NeoX style),
 * not with its neighbour (GPT-J's interleaved style).
 *
 * @param x A tensor whose last dimension is the head dimension.
 * @returns A tensor of the same shape.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { rotateHalf } from "./rotary.ts";
 *
 * const x = tensor([[1, 2, 3, 4]], { backend: "cpu" });
 * assertEquals(await rotateHalf(x).toArray(), [[-3, -4, 1, 2]]);
 * ```
 */
export function rotateHalf(x: Tensor): Tensor {
  const d = x.shape[x.ndim - 1];
  const half = Math.floor(d / 2);
  return cat([x.slice(-1, half, d).neg(), x.slice(-1, 0, half)], -1);
}

function rotate(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  return x.mul(cos).add(rotateHalf(x).mul(sin));
}

/**
 * Applies rotary position embeddings: `q' = q · cos + rotateHalf(q) · sin`, and the same for `k`.
 * `cos` and `sin` (`[B, S, D]`, as `RotaryEmbedding` returns them) get a size-1 axis at
 * `unsqueezeDim` first. Built from differentiable ops, so gradients reach `q`, `k`, `cos` and `sin`.
 * With a partial rotary factor, pass the rotated slice of the head dimension and concatenate the rest.
 *
 * @param q Queries, e.g. `[B, H, S, D]`.
 * @param k Keys, e.g. `[B, KVH, S, D]`.
 * @param cos Cosines, `[B, S, D]`.
 * @param sin Sines, `[B, S, D]`.
 * @param options `unsqueezeDim` (default 1).
 * @returns The rotated queries and keys.
 * @throws {ShapeError} When `cos` and `sin` differ in shape or do not match the last dimension.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { applyRotaryPosEmb } from "./rotary.ts";
 *
 * // One head, one position, D = 2: a rotation of (1, 0) by 90 degrees.
 * const q = tensor([[[[1, 0]]]], { backend: "cpu" });
 * const cos = tensor([[[0, 0]]], { backend: "cpu" });
 * const sin = tensor([[[1, 1]]], { backend: "cpu" });
 * const { q: rotated } = applyRotaryPosEmb(q, q, cos, sin);
 * const [x, y] = await rotated.data();
 * assertAlmostEquals(x, 0);
 * assertAlmostEquals(y, 1);
 * ```
 */
export function applyRotaryPosEmb(
  q: Tensor,
  k: Tensor,
  cos: Tensor,
  sin: Tensor,
  options: ApplyRotaryOptions = {},
): RotatedQueryKey {
  const { unsqueezeDim = 1 } = options;
  const d = q.shape[q.ndim - 1];
  const sameShape = cos.shape.length === sin.shape.length &&
    cos.shape.every((s, i) => s === sin.shape[i]);
  if (!sameShape || cos.shape[cos.ndim - 1] !== d || k.shape[k.ndim - 1] !== d) {
    throw new ShapeError(
      "applyRotaryPosEmb",
      `Cannot apply rotary embeddings: cos [${cos.shape.join(", ")}] and sin [${
        sin.shape.join(", ")
      }] must share a shape whose last dimension matches q [${q.shape.join(", ")}] and k [${
        k.shape.join(", ")
      }]`,
      [q.shape, k.shape, cos.shape, sin.shape],
    );
  }
  const c = cos.unsqueeze(unsqueezeDim);
  const s = sin.unsqueeze(unsqueezeDim);
  return { q: rotate(q, c, s), k: rotate(k, c, s) };
}
