/**
 * Public builders for bidirectional attention (encoders, cross-attention, and decoders whose
 * config sets `is_causal: false`).
 *
 * @module
 */

import { type Tensor, tidy } from "@denoformers/core";
import { build, layerIndex, preprocess, requireConfigSize } from "./_preprocess.ts";
import {
  bidirectionalMaskFunction,
  type MaskFunction,
  slidingWindowBidirectionalMaskFunction,
} from "./mask_functions.ts";
import type { MaskCache, MaskConfig } from "./types.ts";

/** Options of {@linkcode createBidirectionalMask} and {@linkcode createBidirectionalSlidingWindowMask}. */
export interface CreateBidirectionalMaskOptions {
  /** The model config; `_attn_implementation` picks the mask builder. */
  config: MaskConfig;
  /** The query-side embeddings `[B, Q, ...]`: query length and backend (and B, dtype without encoder states). */
  inputsEmbeds: Tensor;
  /** A 2-D padding mask `[B, K]` (non-zero = real token), or a prepared 4-D mask returned as is. */
  attentionMask?: Tensor | null;
  /** Encoder states `[B, K, ...]` for cross-attention: key/value length, batch size and dtype. */
  encoderHiddenStates?: Tensor | null;
  /** A cache, rarely used by encoders; gives the sizes when present. */
  pastKeyValues?: MaskCache | null;
  /** Union with the base pattern (disables the skip). */
  orMaskFunction?: MaskFunction | null;
  /** Intersection with the base pattern (disables the skip). */
  andMaskFunction?: MaskFunction | null;
}

function createWith(
  options: CreateBidirectionalMaskOptions,
  sliding: boolean,
): Tensor | null {
  const { config, inputsEmbeds, pastKeyValues } = options;
  return tidy(() => {
    const prep = preprocess({ ...options, positionIds: null }, layerIndex(pastKeyValues, sliding));
    if (prep.exit) return prep.value;
    const window = sliding
      ? requireConfigSize(config, "sliding_window", "a bidirectional sliding-window mask")
      : null;
    return build(prep, {
      base: window === null
        ? bidirectionalMaskFunction
        : slidingWindowBidirectionalMaskFunction(window),
      orMaskFunction: options.orMaskFunction,
      andMaskFunction: options.andMaskFunction,
      causal: false,
      localSize: window,
      embeds: options.encoderHiddenStates ?? inputsEmbeds,
      cache: pastKeyValues,
      backend: inputsEmbeds.backend,
    }, config);
  });
}

/**
 * Creates the mask of full bidirectional attention for the implementation named by
 * `config._attn_implementation`: every query sees every real key. Only padding masks keys.
 *
 * - An unregistered implementation gives `null` (no mask); a 4-D `attentionMask` is returned as is.
 * - The key/value length comes from the cache if given, else the 2-D mask, else the encoder
 *   states, else the query length.
 * - For sdpa the mask is skipped (`null`) when there is no padding and no `or`/`and` function.
 *
 * @param options Config, embeddings, optional padding mask, encoder states, cache and extra patterns.
 * @returns The mask in the implementation's format, or `null`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor, zeros } from "@denoformers/core";
 * import { createBidirectionalMask } from "./create_bidirectional_masks.ts";
 *
 * const inputsEmbeds = zeros([1, 3, 4], { backend: "cpu" });
 * const config = { _attn_implementation: "sdpa" };
 * assertEquals(createBidirectionalMask({ config, inputsEmbeds }), null);
 * const attentionMask = tensor([[1, 1, 0]], { backend: "cpu" });
 * const mask = createBidirectionalMask({ config, inputsEmbeds, attentionMask })!;
 * assertEquals(await mask.toArray(), [[[
 *   [true, true, false],
 *   [true, true, false],
 *   [true, true, false],
 * ]]]);
 * ```
 */
export function createBidirectionalMask(options: CreateBidirectionalMaskOptions): Tensor | null {
  return createWith(options, false);
}

/**
 * Creates a symmetric sliding-window mask (`|q - kv| <= config.sliding_window`) for the
 * implementation named by `config._attn_implementation`; otherwise as
 * {@linkcode createBidirectionalMask}, sized by the first sliding layer of a hybrid cache.
 *
 * @param options Config, embeddings, optional padding mask, encoder states, cache and extra patterns.
 * @returns The mask in the implementation's format, or `null`.
 * @throws {TypeError} When the config has no `sliding_window`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import { createBidirectionalSlidingWindowMask } from "./create_bidirectional_masks.ts";
 *
 * const mask = createBidirectionalSlidingWindowMask({
 *   config: { _attn_implementation: "sdpa", sliding_window: 1 },
 *   inputsEmbeds: zeros([1, 3, 4], { backend: "cpu" }),
 * })!;
 * assertEquals(await mask.toArray(), [[[
 *   [true, true, false],
 *   [true, true, true],
 *   [false, true, true],
 * ]]]);
 * ```
 */
export function createBidirectionalSlidingWindowMask(
  options: CreateBidirectionalMaskOptions,
): Tensor | null {
  return createWith(options, true);
}
