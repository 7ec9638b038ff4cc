/**
 * `sdpaAttentionForward`: the `"sdpa"` attention implementation, with PyTorch
 * `scaled_dot_product_attention` semantics (bool masks, the `isCausal` flag, no weights).
 *
 * @module
 */

import { type Tensor, tensor, zeros } from "@denoformers/core";
import {
  attendValues,
  attentionScores,
  attentionSoftmax,
  minValue,
  prepareInputs,
} from "./_common.ts";
import type { AttentionModule, AttentionOptions, AttentionOutput } from "./types.ts";

let warnedWeights = false;

/** A top-left aligned causal mask `[Q, K]`: query `i` sees keys `0..i` (true = attend). */
function causalMask(q: number, k: number, like: Tensor): Tensor {
  const keep = new Uint8Array(q * k);
  for (let i = 0; i < q; i++) keep.fill(1, i * k, i * k + Math.min(i + 1, k));
  return tensor(keep, { dtype: "bool", shape: [q, k], backend: like.backend });
}

/**
 * Scaled dot-product attention with the semantics of PyTorch's
 * `scaled_dot_product_attention` as Hugging Face's `sdpa_attention_forward` calls it.
 *
 * - The mask is bool (true = attend) broadcastable to `[B, H, Q, K]`, usually
 *   `[B, 1, Q, K]`; a float mask is added to the scores as is, as PyTorch does.
 * - With no mask, a causal mask is applied when
 *   `(options.isCausal ?? module.isCausal ?? true) && Q > 1`. It is top-left aligned
 *   (query `i` sees keys `0..i`), which is right only when `Q == K`; the mask builders return
 *   `null` only then, or for a single query, which is never causal.
 * - Key/value heads are repeated to one per query head (`repeatKv`).
 * - The math is the eager one: `softmax(Q·Kᵀ · scaling + mask)` in float32, then `· V`. A query
 *   row whose bool mask allows no key gives zeros, as PyTorch's reference ("math") kernel does
 *   since 2.5; eager instead gives a uniform row there. Some fused kernels give NaN (Hugging Face
 *   issue #38690); zeros are the well-defined choice.
 * - Dropout on the probabilities only when `module.training` and `options.dropout > 0`.
 * - No weights are returned; asking for them with `options.outputAttentions` warns once.
 *
 * @param module The calling module (`training`, optional `numKeyValueGroups`, `isCausal`).
 * @param query Queries, `[B, H, Q, D]`.
 * @param key Keys, `[B, KVH, K, D]`.
 * @param value Values, `[B, KVH, K, Dv]`.
 * @param attentionMask Bool mask (true = attend), or an additive float mask, or `null`.
 * @param options `dropout` (default 0), `scaling` (default `D ** -0.5`), `isCausal`,
 * `softcap`, `outputAttentions`; other keys are ignored.
 * @returns `output` `[B, Q, H, Dv]` (contiguous) and `weights` `null`.
 * @throws {ShapeError} When the shapes do not fit together or the mask does not broadcast.
 * @throws {DTypeError} When the mask is int32.
 * @throws {RangeError} When `options.dropout` is not in [0, 1] or `options.softcap` is not
 * positive.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals, assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { sdpaAttentionForward } from "./sdpa.ts";
 *
 * const q = tensor([[[[1, 0], [0, 1]]]], { backend: "cpu" }); // [1, 1, 2, 2]
 * const v = tensor([[[[1, 2], [3, 4]]]], { backend: "cpu" });
 * // No mask and two queries: causal, so the first query only sees the first value.
 * const { output, weights } = sdpaAttentionForward({ training: false }, q, q, v, null, {});
 * assertEquals(weights, null);
 * const out = await output.toArray() as number[][][][]; // [B, Q, H, D]
 * assertEquals(out[0][0][0], [1, 2]);
 * assertAlmostEquals(out[0][1][0][0], 2, 1); // a blend of both values
 * ```
 */
export function sdpaAttentionForward(
  module: AttentionModule,
  query: Tensor,
  key: Tensor,
  value: Tensor,
  attentionMask: Tensor | null,
  options: AttentionOptions = {},
): AttentionOutput {
  if (options.outputAttentions && !warnedWeights) {
    warnedWeights = true;
    console.warn(
      "sdpaAttentionForward cannot return attention weights (outputAttentions): returning null " +
        'weights; use the "eager" attention implementation to get them',
    );
  }
  const mask = attentionMask;
  const kv = prepareInputs(
    "sdpaAttentionForward",
    { module, query, key, value, mask, options },
    "bool or float",
  );
  const q = query.shape[2];
  const k = key.shape[2];
  const isCausal = (options.isCausal ?? module.isCausal ?? true) && q > 1 && mask === null;
  let keep = isCausal ? causalMask(q, k, query) : null; // (Q, K), true = attend
  let scores = attentionScores(query, kv.key, options); // (B, H, Q, K)
  if (mask?.dtype === "bool") keep = mask;
  else if (mask) scores = scores.add(mask);
  if (keep) {
    const additive = zeros([], { dtype: scores.dtype, backend: scores.backend })
      .where(keep, minValue(scores.dtype));
    scores = scores.add(additive);
  }
  let probs = attentionSoftmax(scores, query.dtype);
  // Zero rows with no allowed key; elsewhere masked probabilities are already exactly 0.
  if (keep) probs = probs.where(keep, 0);
  return { output: attendValues(module, probs, kv.value, options).output, weights: null };
}
