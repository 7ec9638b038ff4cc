/**
 * The base-model contract the generic heads wrap, their constructor options, and their output
 * types (Hugging Face's output dataclasses with camelCase fields; absent fields are `undefined`).
 *
 * @module
 */

import type { ModelRegistry, PreTrainedModel, Tensor } from "@denoformers/core";

/** What a base model's `forward(inputIds, options)` accepts. */
export interface BaseModelOptions {
  /** 1 for tokens to attend to, 0 for padding, `[B, S]`. @default {undefined} */
  attentionMask?: Tensor | null;
  /** Input vectors `[B, S, hidden_size]` used instead of `inputIds`. @default {undefined} */
  inputsEmbeds?: Tensor | null;
  /** Position indices `[B, S]`. @default {undefined} (0, 1, ...) */
  positionIds?: Tensor | null;
  /** Segment ids `[B, S]` (BERT-style models). @default {undefined} */
  tokenTypeIds?: Tensor | null;
  /** A key/value cache from an earlier call. @default {undefined} */
  pastKeyValues?: unknown;
  /** Return the key/value cache. @default {config.use_cache} */
  useCache?: boolean;
  /** Return the hidden states of every layer. @default {config.output_hidden_states} */
  outputHiddenStates?: boolean;
  /** Return the attention weights of every layer. @default {config.output_attentions} */
  outputAttentions?: boolean;
}

/** What a base model returns (Hugging Face `BaseModelOutputWithPast`). */
export interface BaseModelOutputWithPast {
  /** The last layer's hidden states, `[B, S, hidden_size]`. */
  lastHiddenState: Tensor;
  /** The key/value cache, when requested. */
  pastKeyValues?: unknown;
  /** Hidden states of the embeddings and of every layer, when requested. */
  hiddenStates?: Tensor[];
  /** Attention weights of every layer, when requested. */
  attentions?: Tensor[];
}

/** A base model: a `PreTrainedModel` whose forward follows the contract above. */
export type BaseModel = PreTrainedModel & {
  forward(inputIds: Tensor | null, options?: BaseModelOptions): BaseModelOutputWithPast;
};

/** Constructor options of the generic heads. */
export interface GenericHeadOptions {
  /** Registry that builds the base model from `config.model_type`. @default {defaultRegistry} */
  registry?: ModelRegistry;
  /** An existing base model to wrap instead of building one (it is not re-initialised). @default {undefined} */
  baseModel?: PreTrainedModel;
  /**
   * Field that holds the base model (Hugging Face `base_model_prefix`).
   * @default {the plugin's baseModelPrefix, else the base model's, else "model"}
   */
  baseModelPrefix?: string;
}

/** Hugging Face `SequenceClassifierOutputWithPast`. */
export interface SequenceClassifierOutputWithPast {
  /** The classification (or regression) loss, when labels were given. */
  loss?: Tensor;
  /** Logits at each row's pooled position, `[B, num_labels]`. */
  logits: Tensor;
  /** The base model's key/value cache. */
  pastKeyValues?: unknown;
  /** The base model's hidden states. */
  hiddenStates?: Tensor[];
  /** The base model's attention weights. */
  attentions?: Tensor[];
}

/** Hugging Face `QuestionAnsweringModelOutput`. */
export interface QuestionAnsweringModelOutput {
  /** Mean of the start and end cross-entropies, when both positions were given. */
  loss?: Tensor;
  /** Span-start scores, `[B, S]`. */
  startLogits: Tensor;
  /** Span-end scores, `[B, S]`. */
  endLogits: Tensor;
  /** The base model's hidden states. */
  hiddenStates?: Tensor[];
  /** The base model's attention weights. */
  attentions?: Tensor[];
}

/** Hugging Face `TokenClassifierOutput`. */
export interface TokenClassifierOutput {
  /** Cross-entropy over non-ignored tokens, when labels were given. */
  loss?: Tensor;
  /** Per-token logits, `[B, S, num_labels]`. */
  logits: Tensor;
  /** The base model's hidden states. */
  hiddenStates?: Tensor[];
  /** The base model's attention weights. */
  attentions?: Tensor[];
}
