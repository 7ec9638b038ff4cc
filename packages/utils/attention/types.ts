/**
 * The attention-function contract shared by every implementation registered in the
 * `AttentionInterface`: what a model passes in and what it gets back.
 *
 * @module
 */

import type { Tensor } from "@denoformers/core";

/**
 * What an attention function may read from the attention module that calls it. A core `Module`
 * subclass satisfies it through its `training` field.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { Module, type Tensor } from "@denoformers/core";
 * import type { AttentionModule } from "./types.ts";
 *
 * class GroupedAttention extends Module {
 *   numKeyValueGroups = 2;
 *   forward(x: Tensor): Tensor {
 *     return x;
 *   }
 * }
 * const module: AttentionModule = new GroupedAttention();
 * assert(module.training);
 * ```
 */
export interface AttentionModule {
  /** Whether the module is in training mode (attention dropout is active only then). */
  training: boolean;
  /**
   * Query heads per key/value head (`num_attention_heads / num_key_value_heads`).
   *
   * @default {the ratio of the query's and the key's head counts}
   */
  numKeyValueGroups?: number;
  /**
   * Whether the attention is causal when no mask is given (read by `sdpa`).
   *
   * @default {true}
   */
  isCausal?: boolean;
}

/**
 * Keyword options passed to an attention function. Keys beyond the documented ones (for
 * example `positionIds`) reach a custom function untouched; the built-in functions ignore them.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import type { AttentionOptions } from "./types.ts";
 *
 * const options: AttentionOptions = { dropout: 0, scaling: 0.125, positionIds: [0, 1] };
 * assertEquals(options.positionIds, [0, 1]);
 * ```
 */
export interface AttentionOptions {
  /**
   * Dropout probability on the attention probabilities, applied only while `module.training`.
   *
   * @default {0}
   */
  dropout?: number;
  /**
   * Factor applied to `Q·Kᵀ`.
   *
   * @default {D ** -0.5, with D the head dimension}
   */
  scaling?: number;
  /**
   * Sliding-window size. The built-in functions ignore it: the mask already encodes the window.
   */
  slidingWindow?: number;
  /** Logit soft-capping: scores become `softcap · tanh(scores / softcap)` before masking. */
  softcap?: number;
  /**
   * Whether `sdpa` applies a causal mask when no mask is given (overrides `module.isCausal`).
   */
  isCausal?: boolean;
  /** Ask for the attention probabilities (`sdpa` cannot return them and warns once). */
  outputAttentions?: boolean;
  /** Anything else a model forwards; custom functions receive it unchanged. */
  [key: string]: unknown;
}

/**
 * The result of an attention function.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import type { AttentionOutput } from "./types.ts";
 *
 * const result: AttentionOutput = { output: zeros([1, 2, 4, 8], { backend: "cpu" }), weights: null };
 * assertEquals(result.output.shape, [1, 2, 4, 8]); // [B, Q, H, D]
 * ```
 */
export interface AttentionOutput {
  /** The attended values, `[B, Q, H, D]`, contiguous. */
  output: Tensor;
  /** The attention probabilities `[B, H, Q, K]`, or `null` when the function cannot give them. */
  weights: Tensor | null;
}

/**
 * An attention implementation (Hugging Face's `attention_interface` callables).
 *
 * The caller has already applied rotary embeddings and the cache update; it reshapes `output` to
 * `[B, Q, H·D]` and applies its output projection.
 *
 * @param module The calling attention module.
 * @param query Queries, `[B, H, Q, D]`.
 * @param key Keys, `[B, KVH, K, D]` (KVH divides H).
 * @param value Values, `[B, KVH, K, Dv]`.
 * @param attentionMask The mask the mask interface built for this implementation (`sdpa`: bool
 * `[B, 1, Q, K]`, true = attend; `eager`: additive float, 0 or min(dtype)), or `null`.
 * @param options Dropout, scaling and any other keyword options.
 * @returns The output `[B, Q, H, Dv]` and, when available, the weights `[B, H, Q, K]`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import { eagerAttentionForward } from "./eager.ts";
 * import type { AttentionFunction } from "./types.ts";
 *
 * // A custom function: reads an extra option, then delegates to eager attention.
 * const seen: unknown[] = [];
 * const logging: AttentionFunction = (module, query, key, value, mask, options) => {
 *   seen.push(options.layerIdx);
 *   return eagerAttentionForward(module, query, key, value, mask, options);
 * };
 * const q = zeros([1, 2, 3, 4], { backend: "cpu" }); // [B, H, Q, D]
 * const { output } = logging({ training: false }, q, q, q, null, { layerIdx: 5 });
 * assertEquals([output.shape, seen], [[1, 3, 2, 4], [5]]);
 * ```
 */
export type AttentionFunction = (
  module: AttentionModule,
  query: Tensor,
  key: Tensor,
  value: Tensor,
  attentionMask: Tensor | null,
  options: AttentionOptions,
) => AttentionOutput;
