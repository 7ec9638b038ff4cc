/**
 * `BertConfig`: the keys and defaults of Hugging Face's `BertConfig` (`configuration_bert.py`),
 * verbatim, on top of the common `PretrainedConfig` attributes.
 *
 * @module
 */

import { PretrainedConfig } from "@denoformers/core";

/**
 * The configuration of a BERT model. Defaults are those of `bert-base-uncased`; every key keeps
 * its `config.json` spelling, and unknown keys survive the save/load round trip.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { BertConfig } from "./config.ts";
 *
 * const config = new BertConfig({ hidden_size: 32, num_attention_heads: 4 });
 * assertEquals([config.model_type, config.hidden_size, config.vocab_size], ["bert", 32, 30522]);
 * assertEquals([config.pad_token_id, config.layer_norm_eps], [0, 1e-12]);
 * ```
 */
export class BertConfig extends PretrainedConfig {
  /** Number of tokens in the vocabulary. */
  declare vocab_size: number;
  /** Width of the hidden states. */
  declare hidden_size: number;
  /** Number of encoder layers. */
  declare num_hidden_layers: number;
  /** Attention heads per layer (must divide `hidden_size`). */
  declare num_attention_heads: number;
  /** Width of the feed-forward block. */
  declare intermediate_size: number;
  /** Activation of the feed-forward block and of the masked-LM transform (a key of `ACT2FN`). */
  declare hidden_act: string;
  /** Dropout on embeddings and on every residual branch. */
  declare hidden_dropout_prob: number;
  /** Dropout on the attention probabilities. */
  declare attention_probs_dropout_prob: number;
  /** Longest sequence the position embeddings cover. */
  declare max_position_embeddings: number;
  /** Number of segment (token type) ids. */
  declare type_vocab_size: number;
  /** Epsilon of every LayerNorm. */
  declare layer_norm_eps: number;
  /** Only `"absolute"` is implemented here. */
  declare position_embedding_type: string;
  /** Dropout of classification heads (`null`: use `hidden_dropout_prob`). */
  declare classifier_dropout: number | null;

  /** Hugging Face's `BertConfig` defaults. */
  static override defaults: Readonly<Record<string, unknown>> = {
    model_type: "bert",
    vocab_size: 30522,
    hidden_size: 768,
    num_hidden_layers: 12,
    num_attention_heads: 12,
    intermediate_size: 3072,
    hidden_act: "gelu",
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    max_position_embeddings: 512,
    type_vocab_size: 2,
    initializer_range: 0.02,
    layer_norm_eps: 1e-12,
    pad_token_id: 0,
    position_embedding_type: "absolute",
    use_cache: true,
    classifier_dropout: null,
  };
}
