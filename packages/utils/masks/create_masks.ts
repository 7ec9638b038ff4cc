/**
 * Public builders for decoder (causal) attention: full causal, sliding-window causal and chunked
 * causal masks, in whatever format `config._attn_implementation` needs.
 *
 * @module
 */

import { type Tensor, tidy, zeros } from "@denoformers/core";
import { build, layerIndex, type Prepared, preprocess, requireConfigSize } from "./_preprocess.ts";
import {
  createBidirectionalMask,
  createBidirectionalSlidingWindowMask,
} from "./create_bidirectional_masks.ts";
import { chunkedCausalMaskFunction } from "./lookup_mask_functions.ts";
import {
  causalMaskFunction,
  type MaskFunction,
  slidingWindowCausalMaskFunction,
} from "./mask_functions.ts";
import type { MaskCache, MaskConfig } from "./types.ts";

/** Options of the causal mask builders. */
export interface CreateMaskOptions {
  /** The model config; `_attn_implementation` picks the mask builder. */
  config: MaskConfig;
  /** The input embeddings `[B, Q, ...]`: batch size, query length, dtype and backend. */
  inputsEmbeds: Tensor;
  /**
   * A 2-D padding mask `[B, L]` over all seen tokens (non-zero = real token), or a prepared 4-D
   * mask returned as is. On the CPU it is read to decide skips exactly, then moved to the
   * embeddings' backend.
   */
  attentionMask?: Tensor | null;
  /** The key/value cache: query offset and key/value sizes. */
  pastKeyValues?: MaskCache | null;
  /** Positions `[B or 1, Q]`; used to detect packed sequences when there is no mask and no cache. */
  positionIds?: Tensor | null;
  /** Union with the base pattern, applied first (disables the causal skip). */
  orMaskFunction?: MaskFunction | null;
  /** Intersection with the base pattern (disables the causal skip). */
  andMaskFunction?: MaskFunction | null;
}

function buildCausal(
  options: CreateMaskOptions,
  prep: Prepared,
  base: MaskFunction,
  localSize: number | null,
): Tensor | null {
  return build(prep, {
    base,
    orMaskFunction: options.orMaskFunction,
    andMaskFunction: options.andMaskFunction,
    causal: true,
    localSize,
    embeds: options.inputsEmbeds,
    cache: options.pastKeyValues,
    backend: options.inputsEmbeds.backend,
  }, options.config);
}

/**
 * Creates the causal mask for the implementation named by `config._attn_implementation`.
 *
 * - `config.is_causal === false` gives {@linkcode createBidirectionalMask} instead.
 * - An unregistered implementation gives `null` (no mask); a 4-D `attentionMask` is returned as is.
 * - With a cache, queries start at `cache.getSeqLength()` and keys are sized by
 *   `cache.getMaskSizes` for the first full-attention layer; without one, offsets are 0 and the
 *   key/value length is the 2-D mask's length, else the query length.
 * - Packed sequences are detected from `positionIds` when there is no mask and no cache.
 * - For sdpa the mask is `null` when attention's causal mode is equivalent (see `sdpaMask`).
 *
 * @param options Config, embeddings, optional padding mask, cache, positions and extra patterns.
 * @returns The mask in the implementation's format, or `null`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor, zeros } from "@denoformers/core";
 * import { createCausalMask } from "./create_masks.ts";
 *
 * const inputsEmbeds = zeros([1, 3, 4], { backend: "cpu" });
 * assertEquals(createCausalMask({ config: { _attn_implementation: "sdpa" }, inputsEmbeds }), null);
 * const mask = createCausalMask({
 *   config: { _attn_implementation: "eager" },
 *   inputsEmbeds,
 *   attentionMask: tensor([[0, 1, 1]], { backend: "cpu" }),
 * })!;
 * const min = -3.4028234663852886e38;
 * assertEquals(await mask.toArray(), [[[[min, min, min], [min, 0, min], [min, 0, 0]]]]);
 * ```
 */
export function createCausalMask(options: CreateMaskOptions): Tensor | null {
  if (options.config.is_causal === false) return createBidirectionalMask(options);
  return tidy(() => {
    const prep = preprocess(options, layerIndex(options.pastKeyValues, false));
    if (prep.exit) return prep.value;
    return buildCausal(options, prep, causalMaskFunction, null);
  });
}

/**
 * Creates a sliding-window causal mask: each query sees the `config.sliding_window` most recent
 * positions, itself included. Sized by the first sliding layer of a hybrid cache; a mask whose
 * key/value length reaches the window is never skipped. `is_causal === false` gives the
 * bidirectional sliding-window mask. Otherwise as {@linkcode createCausalMask}.
 *
 * @param options Config, embeddings, optional padding mask, cache, positions and extra patterns.
 * @returns The mask in the implementation's format, or `null`.
 * @throws {TypeError} When the config has no `sliding_window`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import { createSlidingWindowCausalMask } from "./create_masks.ts";
 *
 * const mask = createSlidingWindowCausalMask({
 *   config: { _attn_implementation: "sdpa", sliding_window: 2 },
 *   inputsEmbeds: zeros([1, 3, 4], { backend: "cpu" }),
 * })!;
 * assertEquals(await mask.toArray(), [[[
 *   [true, false, false],
 *   [true, true, false],
 *   [false, true, true],
 * ]]]);
 * ```
 */
export function createSlidingWindowCausalMask(options: CreateMaskOptions): Tensor | null {
  if (options.config.is_causal === false) return createBidirectionalSlidingWindowMask(options);
  return tidy(() => {
    const prep = preprocess(options, layerIndex(options.pastKeyValues, true));
    if (prep.exit) return prep.value;
    const window = requireConfigSize(options.config, "sliding_window", "a sliding-window mask");
    return buildCausal(options, prep, slidingWindowCausalMaskFunction(window), window);
  });
}

/** Number of leading zeros of each row of a 2-D bool mask (the left padding), as int32 `[B]`. */
function leftPaddingCounts(mask: Tensor): Tensor {
  const [batch, length] = mask.shape;
  if (length === 0) return zeros([batch], { dtype: "int32", backend: mask.backend });
  const ints = mask.cast("int32");
  // argmax finds the first real token; a row without one is all padding.
  return ints.argmax(1).where(ints.max(1).cast("bool"), length);
}

/**
 * Creates a chunked causal mask: a query sees earlier positions of its own chunk of
 * `config.attention_chunk_size` tokens, chunks counted from each row's first real token (the
 * left padding is the number of leading zeros of the 2-D mask). Sized by the first sliding layer
 * of a hybrid cache. Otherwise as {@linkcode createCausalMask}.
 *
 * @param options Config, embeddings, optional padding mask, cache, positions and extra patterns.
 * @returns The mask in the implementation's format, or `null`.
 * @throws {TypeError} When the config has no `attention_chunk_size`.
 * @throws {RangeError} When flash attention is requested and `kvLength + kvOffset` exceeds the
 * chunk size (flash kernels cannot respect chunks).
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import { createChunkedCausalMask } from "./create_masks.ts";
 *
 * const mask = createChunkedCausalMask({
 *   config: { _attn_implementation: "sdpa", attention_chunk_size: 2 },
 *   inputsEmbeds: zeros([1, 3, 4], { backend: "cpu" }),
 * })!;
 * assertEquals(await mask.toArray(), [[[
 *   [true, false, false],
 *   [true, true, false],
 *   [false, false, true],
 * ]]]);
 * ```
 */
export function createChunkedCausalMask(options: CreateMaskOptions): Tensor | null {
  const { config, inputsEmbeds } = options;
  return tidy(() => {
    const prep = preprocess(options, layerIndex(options.pastKeyValues, true));
    if (prep.exit) return prep.value;
    const chunkSize = requireConfigSize(config, "attention_chunk_size", "a chunked mask");
    const total = prep.kvLength + prep.kvOffset;
    if (prep.implementation.includes("flash") && total > chunkSize) {
      throw new RangeError(
        `Cannot create a chunked mask for "${prep.implementation}": the key/value length ${total} exceeds the chunk size ${chunkSize}, which flash attention cannot respect; use another \`_attn_implementation\``,
      );
    }
    const leftPadding = prep.mask
      ? leftPaddingCounts(prep.mask)
      : zeros([inputsEmbeds.shape[0]], { dtype: "int32", backend: inputsEmbeds.backend });
    return buildCausal(options, prep, chunkedCausalMaskFunction(chunkSize, leftPadding), chunkSize);
  });
}
