/**
 * `eagerAttentionForward`: attention written out op by op, the default every model supplies to
 * `AttentionInterface.getInterface` (Llama's `eager_attention_forward`).
 *
 * @module
 */

import type { Tensor } from "@denoformers/core";
import { attendValues, attentionScores, attentionSoftmax, prepareInputs } from "./_common.ts";
import type { AttentionModule, AttentionOptions, AttentionOutput } from "./types.ts";

/**
 * Scaled dot-product attention computed op by op, returning the attention probabilities too.
 *
 * 1. Key/value heads are repeated to one per query head (`repeatKv` with
 *    `module.numKeyValueGroups`, or the ratio of head counts when the module has none).
 * 2. `scores = Q·Kᵀ · scaling` (`[B, H, Q, K]`), soft-capped when `options.softcap` is set.
 * 3. The additive mask is added (0 where attending, min(dtype) where masked), broadcast over
 *    heads. Without a mask every query sees every key: causality must come from the mask.
 * 4. Softmax over keys in float32, cast back to the query's dtype. Hugging Face computes it in
 *    float32 for every dtype; here float64 inputs keep float64 so gradients can be checked
 *    against finite differences. Because masked scores are finite, a fully masked row comes
 *    out uniform rather than NaN.
 * 5. Dropout on the probabilities when `module.training` and `options.dropout > 0`.
 * 6. `probs · V`, transposed to `[B, Q, H, D]` and made contiguous.
 *
 * `options.slidingWindow` and `options.isCausal` are ignored: the mask encodes both.
 *
 * @param module The calling module (`training`, optional `numKeyValueGroups`).
 * @param query Queries, `[B, H, Q, D]`.
 * @param key Keys, `[B, KVH, K, D]`.
 * @param value Values, `[B, KVH, K, Dv]`.
 * @param attentionMask Additive float mask broadcastable to `[B, H, Q, K]` (usually
 * `[B, 1, Q, K]`), or `null`.
 * @param options `dropout` (default 0), `scaling` (default `D ** -0.5`), `softcap`; other keys
 * are ignored.
 * @returns `output` `[B, Q, H, Dv]` and `weights`, the probabilities `[B, H, Q, K]` (after
 * dropout).
 * @throws {ShapeError} When the shapes do not fit together or the mask does not broadcast.
 * @throws {DTypeError} When the mask is bool or int32 (use `sdpaAttentionForward` for bool
 * masks).
 * @throws {RangeError} When `options.dropout` is not in [0, 1] or `options.softcap` is not
 * positive.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals, assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { eagerAttentionForward } from "./eager.ts";
 *
 * const q = tensor([[[[1, 0], [0, 1]]]], { backend: "cpu" }); // [1, 1, 2, 2]
 * const v = tensor([[[[1, 2], [3, 4]]]], { backend: "cpu" });
 * const min = -3.4028234663852886e38;
 * const causal = tensor([[[[0, min], [0, 0]]]], { backend: "cpu" }); // additive, [1, 1, 2, 2]
 * const module = { training: false };
 * const { output, weights } = eagerAttentionForward(module, q, q, v, causal, {});
 * assertEquals(output.shape, [1, 2, 1, 2]); // [B, Q, H, D]
 * const w = (await weights!.toArray() as number[][][][])[0][0];
 * assertEquals(w[0], [1, 0]); // the first query only sees the first key
 * assertAlmostEquals(w[1][0] + w[1][1], 1);
 * ```
 */
export function eagerAttentionForward(
  module: AttentionModule,
  query: Tensor,
  key: Tensor,
  value: Tensor,
  attentionMask: Tensor | null,
  options: AttentionOptions = {},
): AttentionOutput {
  const mask = attentionMask;
  const kv = prepareInputs(
    "eagerAttentionForward",
    { module, query, key, value, mask, options },
    "float",
  );
  let scores = attentionScores(query, kv.key, options); // (B, H, Q, K)
  if (mask) scores = scores.add(mask);
  const probs = attentionSoftmax(scores, query.dtype);
  const out = attendValues(module, probs, kv.value, options);
  return { output: out.output, weights: out.probs };
}
