/**
 * `PretrainedConfig`: a Hugging Face `config.json` as an object with its keys verbatim, the common
 * attributes and defaults applied, and unknown keys kept for the round trip.
 *
 * @module
 */

/** The problem types sequence classification understands. */
export type ProblemType =
  | "regression"
  | "single_label_classification"
  | "multi_label_classification";

const PROBLEM_TYPES: readonly string[] = [
  "regression",
  "single_label_classification",
  "multi_label_classification",
];

/** Attributes every config has, with Hugging Face's defaults. */
const COMMON_DEFAULTS: Readonly<Record<string, unknown>> = {
  model_type: "",
  architectures: null,
  return_dict: true,
  output_hidden_states: false,
  output_attentions: false,
  use_cache: true,
  tie_word_embeddings: true,
  is_decoder: false,
  is_encoder_decoder: false,
  add_cross_attention: false,
  chunk_size_feed_forward: 0,
  initializer_range: 0.02,
  problem_type: null,
  pad_token_id: null,
  bos_token_id: null,
  eos_token_id: null,
  sep_token_id: null,
  decoder_start_token_id: null,
  finetuning_task: null,
  tokenizer_class: null,
  torch_dtype: null,
};

/** Keys that live on the object but are never written to `config.json`. */
const RUNTIME_ONLY = new Set(["_attn_implementation"]);

/**
 * A model configuration. Subclasses add model-specific keys with `static defaults` and declare
 * them with `declare` (so class fields do not overwrite what the constructor assigned).
 *
 * `num_labels` is derived from `id2label` (setting it rebuilds `LABEL_i` names); JSON string keys
 * of `id2label` and `pruned_heads` become integers; `attn_implementation` sets
 * `_attn_implementation`, which is not saved.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PretrainedConfig } from "@denoformers/core";
 *
 * const c = new PretrainedConfig({ model_type: "toy", id2label: { "0": "NEG", "1": "POS" }, my_key: 3 });
 * assertEquals([c.num_labels, c.label2id.POS, c.my_key], [2, 1, 3]);
 * assertEquals(new PretrainedConfig(c.toDict()).toDict(), c.toDict());
 * ```
 */
export class PretrainedConfig {
  /** Model-specific and unknown keys. */
  [key: string]: unknown;
  /** Registry key of the architecture. */
  declare model_type: string;
  /** Class names of saved architectures. */
  declare architectures: string[] | null;
  /** Label names by class index. */
  declare id2label: Record<number, string>;
  /** Class index by label name. */
  declare label2id: Record<string, number>;
  /** How sequence classification computes its loss (set on first use when null). */
  declare problem_type: ProblemType | null;
  /** Padding token id. */
  declare pad_token_id: number | null;
  /** Beginning-of-sequence token id. */
  declare bos_token_id: number | null;
  /** End-of-sequence token id(s). */
  declare eos_token_id: number | number[] | null;
  /** Return all hidden states. */
  declare output_hidden_states: boolean;
  /** Return attention weights. */
  declare output_attentions: boolean;
  /** Return the key/value cache. */
  declare use_cache: boolean;
  /** Tie the output projection to the input embeddings. */
  declare tie_word_embeddings: boolean;
  /** Standard deviation of the normal weight initialisation. */
  declare initializer_range: number;
  /** Attention implementation chosen at runtime (not saved). */
  declare _attn_implementation: string | null;
  /** Heads removed by pruning, per layer. */
  declare pruned_heads: Record<number, number[]>;
  /** Chunk size of feed-forward layers (0: no chunking). */
  declare chunk_size_feed_forward: number;

  /** Model-specific defaults, merged over the common ones. */
  static defaults: Readonly<Record<string, unknown>> = {};

  /**
   * Builds a config from `config.json` values (or keyword overrides).
   *
   * @param values The values.
   */
  constructor(values: Record<string, unknown> = {}) {
    const own = (new.target as typeof PretrainedConfig).defaults;
    Object.assign(this, COMMON_DEFAULTS, own);
    this._attn_implementation = null;
    this.pruned_heads = {};
    const {
      id2label,
      label2id: _label2id,
      num_labels,
      attn_implementation,
      pruned_heads,
      ...rest
    } = values;
    Object.assign(this, rest);
    if (attn_implementation !== undefined) {
      this._attn_implementation = attn_implementation as string;
    }
    if (pruned_heads) {
      this.pruned_heads = Object.fromEntries(
        Object.entries(pruned_heads as Record<string, number[]>).map((
          [k, v],
        ) => [Number(k), [...v]]),
      );
    }
    if (id2label) {
      this.#setLabels(
        Object.entries(id2label as Record<string, string>).map(([k, v]) => [Number(k), v]),
      );
    } else {
      this.num_labels = (num_labels as number | undefined) ?? 2;
    }
    if (this.problem_type !== null && !PROBLEM_TYPES.includes(this.problem_type)) {
      throw new RangeError(
        `Cannot use problem_type "${this.problem_type}": expected one of ${
          PROBLEM_TYPES.map((p) => `"${p}"`).join(", ")
        }`,
      );
    }
  }

  #setLabels(pairs: [number, string][]): void {
    this.id2label = Object.fromEntries(pairs.sort((a, b) => a[0] - b[0]));
    this.label2id = Object.fromEntries(pairs.map(([k, v]) => [v, k]));
  }

  /** Number of labels (`id2label` entries). */
  get num_labels(): number {
    return Object.keys(this.id2label).length;
  }
  set num_labels(n: number) {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`Cannot set num_labels to ${n}`);
    if (this.id2label && this.num_labels === n) return;
    this.#setLabels(Array.from({ length: n }, (_, i) => [i, `LABEL_${i}`]));
  }

  /**
   * The values as `config.json` stores them (integer keys as strings, runtime keys dropped).
   *
   * @returns A plain object.
   */
  toDict(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this)) {
      if (RUNTIME_ONLY.has(k) || typeof v === "function") continue;
      out[k] = v && typeof v === "object" ? structuredClone(v) : v;
    }
    return out;
  }

  /**
   * The `config.json` text (two-space indent, sorted keys as Hugging Face writes it).
   *
   * @returns JSON.
   */
  toJsonString(): string {
    const d = this.toDict();
    const sorted = Object.fromEntries(Object.keys(d).sort().map((k) => [k, d[k]]));
    return JSON.stringify(sorted, null, 2) + "\n";
  }
}
