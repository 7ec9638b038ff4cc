/**
 * Inputs and outputs shared by the architectures (Hugging Face's `BaseModelOutputWithPast`,
 * `CausalLMOutputWithPast`, `MaskedLMOutput`, with camelCase fields).
 *
 * @module
 */

import type { Tensor } from "@denoformers/core";
import type { DynamicCache } from "./cache.ts";

/** Options every base model's forward takes (Hugging Face keyword arguments, camelCased). */
export interface BaseModelOptions {
  /** `[B, S]` (or `[B, K]` with a cache): 1 = attend, 0 = padding. */
  attentionMask?: Tensor | null;
  /** Embeddings to use instead of `inputIds`, `[B, S, H]`. */
  inputsEmbeds?: Tensor | null;
  /** `[B, S]` positions (defaults to the cached length + 0..S-1). */
  positionIds?: Tensor | null;
  /** BERT segment ids, `[B, S]`. */
  tokenTypeIds?: Tensor | null;
  /** Return (and extend) a key/value cache. */
  useCache?: boolean;
  /** A cache from an earlier call. */
  pastKeyValues?: DynamicCache | null;
  /** Return every layer's hidden states (default `config.output_hidden_states`). */
  outputHiddenStates?: boolean;
  /** Return attention weights (default `config.output_attentions`). */
  outputAttentions?: boolean;
}

/** What a base model returns. */
export interface BaseModelOutput {
  /** `[B, S, H]`. */
  lastHiddenState: Tensor;
  /** The cache, when `useCache`. */
  pastKeyValues?: DynamicCache | null;
  /** Embeddings output and each layer's output, when asked. */
  hiddenStates?: Tensor[];
  /** Each layer's attention weights `[B, heads, Q, K]`, when asked. */
  attentions?: Tensor[];
}

/** What a base model with a pooler (BERT) returns. */
export interface BaseModelOutputWithPooling extends BaseModelOutput {
  /** `[B, H]`, or `null` without a pooler. */
  poolerOutput: Tensor | null;
}

/** What causal and masked LM heads return. */
export interface LMOutput {
  /** The loss, when labels were given. */
  loss?: Tensor;
  /** `[B, S, V]`. */
  logits: Tensor;
  /** The cache, when `useCache`. */
  pastKeyValues?: DynamicCache | null;
  /** As in {@linkcode BaseModelOutput}. */
  hiddenStates?: Tensor[];
  /** As in {@linkcode BaseModelOutput}. */
  attentions?: Tensor[];
}

/** LM head options: the base options plus labels. */
export interface LMOptions extends BaseModelOptions {
  /** int32 labels `[B, S]` (-100 ignored); causal heads shift them internally. */
  labels?: Tensor | null;
  /** Divide the summed loss by this instead of averaging. */
  numItemsInBatch?: number | Tensor;
}
