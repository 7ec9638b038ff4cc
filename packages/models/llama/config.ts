/**
 * `LlamaConfig`: the configuration of Llama models, with the keys and defaults of Hugging Face's
 * `LlamaConfig` (`models/llama/configuration_llama.py`).
 *
 * @module
 */

import { PretrainedConfig } from "@denoformers/core";
import {
  type RopeParameters,
  standardizeRopeParameters,
  type StandardRopeParameters,
  validateRopeParameters,
} from "@denoformers/utils";

/** Keys that must hold positive integers. */
const POSITIVE_INTS = [
  "vocab_size",
  "hidden_size",
  "intermediate_size",
  "num_hidden_layers",
  "num_attention_heads",
  "num_key_value_heads",
  "head_dim",
  "max_position_embeddings",
] as const;

/**
 * The configuration of a Llama model. Keys and defaults are Hugging Face's, verbatim; unknown
 * keys are kept for the `config.json` round trip.
 *
 * At construction, as in Hugging Face: `num_key_value_heads` defaults to `num_attention_heads`
 * and `head_dim` to `hidden_size / num_attention_heads`; the legacy `rope_scaling` is renamed to
 * `rope_parameters`, which is standardised (`rope_type` and `rope_theta` always set, the
 * top-level `rope_theta` used when the dictionary has none) and validated with
 * `validateRopeParameters`. The top-level `rope_theta` mirrors `rope_parameters.rope_theta`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { LlamaConfig } from "./mod.ts";
 *
 * const config = new LlamaConfig({ hidden_size: 64, num_attention_heads: 4 });
 * assertEquals([config.head_dim, config.num_key_value_heads, config.vocab_size], [16, 4, 32000]);
 * assertEquals(config.rope_parameters, { rope_type: "default", rope_theta: 10000 });
 *
 * const scaled = new LlamaConfig({ rope_scaling: { type: "linear", factor: 2 } });
 * assertEquals(scaled.rope_parameters.rope_type, "linear");
 * assertEquals(scaled.rope_scaling, undefined);
 *
 * const bad = { num_attention_heads: 6, num_key_value_heads: 4 };
 * assertThrows(() => new LlamaConfig(bad), RangeError);
 * ```
 */
export class LlamaConfig extends PretrainedConfig {
  /** Number of tokens in the vocabulary. */
  declare vocab_size: number;
  /** Size of the hidden representations. */
  declare hidden_size: number;
  /** Size of the MLP's inner projection. */
  declare intermediate_size: number;
  /** Number of decoder layers. */
  declare num_hidden_layers: number;
  /** Number of query heads per attention layer. */
  declare num_attention_heads: number;
  /** Number of key/value heads (grouped-query attention when fewer than the query heads). */
  declare num_key_value_heads: number;
  /** Activation of the gated MLP (a key of `ACT2FN`). */
  declare hidden_act: string;
  /** Longest sequence the model is configured for. */
  declare max_position_embeddings: number;
  /** Epsilon of the RMS norms. */
  declare rms_norm_eps: number;
  /** Legacy top-level RoPE base (mirrors `rope_parameters.rope_theta`). */
  declare rope_theta: number;
  /** RoPE parameters after standardisation (`rope_type`, `rope_theta` and type-specific keys). */
  declare rope_parameters: StandardRopeParameters;
  /** Whether the query, key, value and output projections have biases. */
  declare attention_bias: boolean;
  /** Dropout probability on the attention probabilities (training only). */
  declare attention_dropout: number;
  /** Whether the MLP projections have biases. */
  declare mlp_bias: boolean;
  /** Size of one attention head. */
  declare head_dim: number;

  /** Hugging Face's `LlamaConfig` defaults. */
  static override defaults: Readonly<Record<string, unknown>> = {
    model_type: "llama",
    vocab_size: 32000,
    hidden_size: 4096,
    intermediate_size: 11008,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    num_key_value_heads: null,
    hidden_act: "silu",
    max_position_embeddings: 2048,
    initializer_range: 0.02,
    rms_norm_eps: 1e-6,
    use_cache: true,
    pad_token_id: null,
    bos_token_id: 1,
    eos_token_id: 2,
    tie_word_embeddings: false,
    rope_theta: 10000.0,
    rope_parameters: null,
    attention_bias: false,
    attention_dropout: 0.0,
    mlp_bias: false,
    head_dim: null,
  };

  /**
   * Builds a config from `config.json` values (or keyword overrides).
   *
   * @param values The values.
   * @throws {RangeError} When a size is not a positive integer or the query heads are not a
   * multiple of the key/value heads.
   * @throws {TypeError} When the RoPE parameters lack a key their `rope_type` requires.
   */
  constructor(values: Record<string, unknown> = {}) {
    super(values);
    this.num_key_value_heads ??= this.num_attention_heads;
    this.head_dim ??= Math.floor(this.hidden_size / this.num_attention_heads);
    // Hugging Face renames the legacy key and stores the standardised dictionary.
    const legacy = this.rope_scaling as RopeParameters | null | undefined;
    delete this.rope_scaling;
    this.rope_parameters = standardizeRopeParameters({
      ...this,
      rope_parameters: this.rope_parameters ?? legacy ?? null,
    });
    this.rope_theta = this.rope_parameters.rope_theta;
    for (const key of POSITIVE_INTS) {
      const v = this[key];
      if (!Number.isInteger(v) || v <= 0) {
        throw new RangeError(
          `Cannot build LlamaConfig: ${key} must be a positive integer, got ${v}`,
        );
      }
    }
    if (this.num_attention_heads % this.num_key_value_heads !== 0) {
      throw new RangeError(
        `Cannot build LlamaConfig: num_attention_heads (${this.num_attention_heads}) must be ` +
          `a multiple of num_key_value_heads (${this.num_key_value_heads})`,
      );
    }
    validateRopeParameters(this);
  }
}
