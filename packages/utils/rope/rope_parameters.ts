/**
 * RoPE configuration: turning `config.rope_parameters` (or the legacy `config.rope_scaling`) into
 * one standard dictionary, the rotary dimension, and the per-type key checks of Hugging Face's
 * `modeling_rope_utils.py`.
 *
 * @module
 */

/** RoPE parameters as `config.json` stores them (keys verbatim). */
export interface RopeParameters {
  /** Other keys (model-specific ones, or mistakes the validator warns about). */
  [key: string]: unknown;
  /** The variant: `"default"`, `"linear"`, `"dynamic"`, `"yarn"`, `"longrope"`, `"llama3"`. */
  rope_type?: string;
  /** Legacy name of `rope_type`. */
  type?: string;
  /** The base of the geometric frequency progression. */
  rope_theta?: number;
  /** Fraction of the head dimension that is rotated. */
  partial_rotary_factor?: number;
  /** Context scaling factor (linear, dynamic, yarn, longrope, llama3). */
  factor?: number | null;
  /** Context length used in pre-training (yarn, longrope, llama3). */
  original_max_position_embeddings?: number;
  /** Scale applied to cos and sin (yarn, longrope). */
  attention_factor?: number | null;
  /** YaRN: rotations per context above which frequencies are kept. */
  beta_fast?: number | null;
  /** YaRN: rotations per context below which frequencies are divided by `factor`. */
  beta_slow?: number | null;
  /** YaRN: the `mscale` of DeepSeek-style attention scaling. */
  mscale?: number | null;
  /** YaRN: the `mscale_all_dim` of DeepSeek-style attention scaling. */
  mscale_all_dim?: number | null;
  /** YaRN: round the correction range outwards to integers. */
  truncate?: boolean | null;
  /** LongRoPE: per-frequency factors for short contexts. */
  short_factor?: readonly number[];
  /** LongRoPE: per-frequency factors for long contexts. */
  long_factor?: readonly number[];
  /** Llama 3: factor bounding the low-frequency wavelength. */
  low_freq_factor?: number;
  /** Llama 3: factor bounding the high-frequency wavelength. */
  high_freq_factor?: number;
}

/** RoPE parameters after {@linkcode standardizeRopeParameters}: type and base always set. */
export interface StandardRopeParameters extends RopeParameters {
  /** The variant. */
  rope_type: string;
  /** The base. */
  rope_theta: number;
}

/** A model configuration as the RoPE helpers read it (a `PretrainedConfig` or a plain object). */
export interface RopeConfig {
  /** Any other configuration key. */
  readonly [key: string]: unknown;
  /** RoPE parameters: one dictionary, or one per entry of `layer_types`. */
  readonly rope_parameters?: RopeParameters | Readonly<Record<string, RopeParameters>> | null;
  /** Legacy (v4) name of `rope_parameters`. */
  readonly rope_scaling?: RopeParameters | null;
  /** Legacy top-level base. */
  readonly rope_theta?: number | null;
  /** Top-level fraction of the head dimension that is rotated. */
  readonly partial_rotary_factor?: number | null;
  /** Head dimension (else `hidden_size / num_attention_heads`). */
  readonly head_dim?: number | null;
  /** Hidden size. */
  readonly hidden_size?: number;
  /** Number of attention heads. */
  readonly num_attention_heads?: number;
  /** Longest sequence the model is configured for. */
  readonly max_position_embeddings?: number;
  /** Top-level pre-training context length (Phi-3 style); wins over the one in the dictionary. */
  readonly original_max_position_embeddings?: number | null;
  /** Attention type of each layer, for per-layer-type RoPE parameters. */
  readonly layer_types?: readonly string[] | null;
}

/** Options selecting one entry of per-layer-type RoPE parameters. */
export interface RopeLayerOptions {
  /** The layer type, when `rope_parameters` is keyed by `config.layer_types`. */
  layerType?: string;
}

/** The base used when neither `rope_parameters` nor the config sets `rope_theta`. */
export const DEFAULT_ROPE_THETA = 10000.0;

const SCALED_TYPES: readonly string[] = ["llama3", "yarn", "longrope"];

/**
 * The layer types that `rope_parameters` is keyed by (its keys, when every one is an entry of
 * `config.layer_types`), or `null` when it is one dictionary shared by every layer.
 *
 * @param config The model configuration.
 * @returns The layer types in key order, or `null`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ropeLayerTypes } from "./rope_parameters.ts";
 *
 * const config = {
 *   layer_types: ["full_attention", "sliding_attention"],
 *   rope_parameters: { full_attention: { rope_theta: 1e6 }, sliding_attention: { rope_theta: 1e4 } },
 * };
 * assertEquals(ropeLayerTypes(config), ["full_attention", "sliding_attention"]);
 * assertEquals(ropeLayerTypes({ rope_parameters: { rope_theta: 1e4 } }), null);
 * ```
 */
export function ropeLayerTypes(config: RopeConfig): string[] | null {
  const layerTypes = config.layer_types;
  const keys = Object.keys(config.rope_parameters ?? config.rope_scaling ?? {});
  const keyed = Array.isArray(layerTypes) && keys.length > 0 &&
    keys.every((k) => layerTypes.includes(k));
  return keyed ? keys : null;
}

function standardizeOne(config: RopeConfig, raw: RopeParameters): StandardRopeParameters {
  const out: StandardRopeParameters = {
    ...raw,
    rope_type: raw.rope_type ?? raw.type ?? "default",
    rope_theta: raw.rope_theta ?? config.rope_theta ?? DEFAULT_ROPE_THETA,
  };
  if (config.partial_rotary_factor != null) {
    out.partial_rotary_factor = config.partial_rotary_factor;
  }
  if (SCALED_TYPES.includes(out.rope_type)) {
    // Phi-3 keeps the pre-training length at the top level; it takes priority.
    const top = config.original_max_position_embeddings;
    const omp = top ?? out.original_max_position_embeddings ?? config.max_position_embeddings;
    if (omp !== undefined) out.original_max_position_embeddings = omp;
  }
  return out;
}

/**
 * Returns the RoPE parameters of a config as one standard dictionary, without changing the config.
 *
 * The source is `config.rope_parameters`, else the legacy `config.rope_scaling`, else `{}`.
 * `rope_type` defaults to the legacy `type` or `"default"`; `rope_theta` to the top-level
 * `config.rope_theta` or 10000; a top-level `partial_rotary_factor` is copied in; for `llama3`,
 * `yarn` and `longrope`, `original_max_position_embeddings` comes from the top-level key of that
 * name when present, else from the dictionary, else from `max_position_embeddings`.
 *
 * @param config The model configuration.
 * @param options `layerType` picks an entry when `rope_parameters` is keyed by `layer_types`.
 * @returns A new dictionary; other keys are copied unchanged.
 * @throws {RangeError} When the parameters are per layer type and `layerType` is missing or unknown.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { standardizeRopeParameters } from "./rope_parameters.ts";
 *
 * const params = standardizeRopeParameters({
 *   rope_scaling: { type: "yarn", factor: 4 },
 *   rope_theta: 500000,
 *   max_position_embeddings: 4096,
 * });
 * assertEquals(params.rope_type, "yarn");
 * assertEquals(params.rope_theta, 500000);
 * assertEquals(params.original_max_position_embeddings, 4096);
 * ```
 */
export function standardizeRopeParameters(
  config: RopeConfig,
  options: RopeLayerOptions = {},
): StandardRopeParameters {
  const raw = (config.rope_parameters ?? config.rope_scaling ?? {}) as Record<string, unknown>;
  const layered = ropeLayerTypes(config);
  if (!layered) return standardizeOne(config, raw as RopeParameters);
  const { layerType } = options;
  if (layerType === undefined || !layered.includes(layerType)) {
    const have = layered.map((t) => `"${t}"`).join(", ");
    throw new RangeError(
      layerType === undefined
        ? `Cannot standardize rope parameters: they are keyed by layer type (${have}), pass { layerType }`
        : `Cannot select rope parameters for layer type "${layerType}": rope_parameters has ${have}`,
    );
  }
  return standardizeOne(config, raw[layerType] as RopeParameters);
}

/**
 * The head dimension: `config.head_dim`, else `floor(hidden_size / num_attention_heads)`.
 *
 * @param config The model configuration.
 * @returns The head dimension.
 * @throws {TypeError} When neither `head_dim` nor both `hidden_size` and `num_attention_heads` are set.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { headDim } from "./rope_parameters.ts";
 *
 * assertEquals(headDim({ hidden_size: 4096, num_attention_heads: 32 }), 128);
 * ```
 */
export function headDim(config: RopeConfig): number {
  if (config.head_dim) return config.head_dim;
  const { hidden_size: hidden, num_attention_heads: heads } = config;
  if (typeof hidden !== "number" || typeof heads !== "number" || heads <= 0) {
    throw new TypeError(
      `Cannot compute the head dimension: config has no head_dim, hidden_size ${hidden} and num_attention_heads ${heads}`,
    );
  }
  return Math.floor(hidden / heads);
}

/**
 * The number of rotated channels: `int(head_dim × partial_rotary_factor)` (factor default 1).
 *
 * @param config The model configuration.
 * @param options `layerType` for per-layer-type RoPE parameters.
 * @returns The rotary dimension.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ropeDim } from "./rope_parameters.ts";
 *
 * assertEquals(ropeDim({ head_dim: 96, partial_rotary_factor: 0.5 }), 48);
 * ```
 */
export function ropeDim(config: RopeConfig, options: RopeLayerOptions = {}): number {
  const factor = standardizeRopeParameters(config, options).partial_rotary_factor ?? 1.0;
  return Math.trunc(headDim(config) * factor);
}
