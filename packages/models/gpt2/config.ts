/**
 * `GPT2Config`: the `config.json` of a GPT-2 checkpoint, with Hugging Face's keys and defaults and
 * its attribute map (`hidden_size` is `n_embd`, and so on).
 *
 * @module
 */

import { PretrainedConfig } from "@denoformers/core";

/** Generic names Hugging Face maps onto GPT-2's own keys (`GPT2Config.attribute_map`). */
const ATTRIBUTE_MAP = {
  hidden_size: "n_embd",
  max_position_embeddings: "n_positions",
  num_attention_heads: "n_head",
  num_hidden_layers: "n_layer",
} as const;

/** Keys that must hold positive integers. */
const POSITIVE_INTS = ["vocab_size", "n_positions", "n_embd", "n_layer", "n_head"] as const;

/**
 * GPT-2's configuration. Keys and defaults are Hugging Face's `GPT2Config` verbatim (the defaults
 * build the 124M-parameter `gpt2`). The generic names `hidden_size`, `num_attention_heads`,
 * `num_hidden_layers` and `max_position_embeddings` are getters and setters over `n_embd`,
 * `n_head`, `n_layer` and `n_positions`, so code written against any config can read them;
 * they are not written to `config.json`, and passing them to the constructor sets the GPT-2 key.
 *
 * @example Usage
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { GPT2Config } from "./mod.ts";
 *
 * const config = new GPT2Config({ n_embd: 32, n_head: 4, hidden_size: 64 });
 * assertEquals([config.n_embd, config.hidden_size, config.num_attention_heads], [64, 64, 4]);
 * assertEquals([config.model_type, config.activation_function, config.n_inner], ["gpt2", "gelu_new", null]);
 * assertEquals("hidden_size" in config.toDict(), false);
 * assertThrows(() => new GPT2Config({ n_layer: 0 }), RangeError, "n_layer");
 * ```
 */
export class GPT2Config extends PretrainedConfig {
  /** Tokens in the vocabulary. */
  declare vocab_size: number;
  /** Longest sequence (rows of the position table). */
  declare n_positions: number;
  /** Width of the residual stream. */
  declare n_embd: number;
  /** Number of blocks. */
  declare n_layer: number;
  /** Attention heads per block. */
  declare n_head: number;
  /** Width of the MLP (`null`: 4 · `n_embd`). */
  declare n_inner: number | null;
  /** MLP activation, a key of `ACT2FN`. */
  declare activation_function: string;
  /** Dropout on the outputs of attention and MLP. */
  declare resid_pdrop: number;
  /** Dropout on the embeddings. */
  declare embd_pdrop: number;
  /** Dropout on the attention probabilities. */
  declare attn_pdrop: number;
  /** Epsilon of every layer norm. */
  declare layer_norm_epsilon: number;
  /** How `SequenceSummary` pools (`"last"`, `"first"`, `"mean"`, `"cls_index"`). */
  declare summary_type: string;
  /** Whether `SequenceSummary` projects after pooling. */
  declare summary_use_proj: boolean;
  /** `SequenceSummary`'s activation (`"tanh"` or `null`). */
  declare summary_activation: string | null;
  /** Whether `SequenceSummary` projects to `num_labels` (else to the hidden size). */
  declare summary_proj_to_labels: boolean;
  /** `SequenceSummary`'s dropout before the projection. */
  declare summary_first_dropout: number;
  /** Divide attention scores by the square root of the head size. */
  declare scale_attn_weights: boolean;
  /** Also divide attention scores by `layer index + 1`. */
  declare scale_attn_by_inverse_layer_idx: boolean;
  /** Compute eager attention scores in float32 for half-precision models. */
  declare reorder_and_upcast_attn: boolean;

  /** Hugging Face's defaults (the 124M `gpt2`). */
  static override defaults: Readonly<Record<string, unknown>> = {
    model_type: "gpt2",
    vocab_size: 50257,
    n_positions: 1024,
    n_embd: 768,
    n_layer: 12,
    n_head: 12,
    n_inner: null,
    activation_function: "gelu_new",
    resid_pdrop: 0.1,
    embd_pdrop: 0.1,
    attn_pdrop: 0.1,
    layer_norm_epsilon: 1e-5,
    initializer_range: 0.02,
    summary_type: "cls_index",
    summary_use_proj: true,
    summary_activation: null,
    summary_proj_to_labels: true,
    summary_first_dropout: 0.1,
    scale_attn_weights: true,
    use_cache: true,
    bos_token_id: 50256,
    eos_token_id: 50256,
    scale_attn_by_inverse_layer_idx: false,
    reorder_and_upcast_attn: false,
    tie_word_embeddings: true,
  };

  /** Generic config names and the GPT-2 keys they stand for (Hugging Face `attribute_map`). */
  static readonly attributeMap: Readonly<Record<string, string>> = ATTRIBUTE_MAP;

  /**
   * Builds a config from `config.json` values; missing keys take Hugging Face's defaults.
   *
   * @param values The values (generic names such as `hidden_size` set the GPT-2 key).
   * @throws {TypeError} When a size is not a number.
   * @throws {RangeError} When a size is not a positive integer.
   */
  constructor(values: Record<string, unknown> = {}) {
    super(values);
    for (const key of POSITIVE_INTS) {
      const v = this[key] as unknown;
      if (typeof v !== "number") {
        throw new TypeError(
          `Cannot create GPT2Config: "${key}" must be a number, got ${String(v)}`,
        );
      }
      if (!Number.isInteger(v) || v < 1) {
        throw new RangeError(
          `Cannot create GPT2Config: "${key}" must be a positive integer, got ${v}`,
        );
      }
    }
  }

  /** `n_embd`. */
  get hidden_size(): number {
    return this.n_embd;
  }
  set hidden_size(v: number) {
    this.n_embd = v;
  }

  /** `n_head`. */
  get num_attention_heads(): number {
    return this.n_head;
  }
  set num_attention_heads(v: number) {
    this.n_head = v;
  }

  /** `n_layer`. */
  get num_hidden_layers(): number {
    return this.n_layer;
  }
  set num_hidden_layers(v: number) {
    this.n_layer = v;
  }

  /** `n_positions`. */
  get max_position_embeddings(): number {
    return this.n_positions;
  }
  set max_position_embeddings(v: number) {
    this.n_positions = v;
  }
}
