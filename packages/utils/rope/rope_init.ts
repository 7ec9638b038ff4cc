/**
 * The RoPE frequency initialisers of Hugging Face's `ROPE_INIT_FUNCTIONS`: each turns a config
 * into inverse frequencies `inv_freq[dim / 2]` and an attention factor that scales cos and sin.
 *
 * Frequencies are computed in float64 JavaScript numbers and stored as a float32 tensor. With
 * `P[i] = rope_theta^(2i / dim)`, the default frequencies are `1 / P[i]`.
 *
 * @module
 */

import { type BackendName, type Tensor, tensor } from "@denoformers/core";
import {
  type RopeConfig,
  ropeDim,
  type RopeLayerOptions,
  standardizeRopeParameters,
  type StandardRopeParameters,
} from "./rope_parameters.ts";

/** Options of a {@linkcode RopeInitFunction}. */
export interface RopeInitOptions extends RopeLayerOptions {
  /** The current sequence length (dynamic and longrope depend on it). @default {undefined} */
  seqLen?: number;
  /** Backend of the returned tensor. @default {the current backend} */
  backend?: BackendName;
}

/** What a {@linkcode RopeInitFunction} returns. */
export interface RopeInitResult {
  /** Inverse frequencies, float32, shape `[ceil(dim / 2)]`. */
  invFreq: Tensor;
  /** Factor applied to cos and sin. */
  attentionFactor: number;
}

/** Computes RoPE inverse frequencies and the attention factor from a config. */
export type RopeInitFunction = (config: RopeConfig, options?: RopeInitOptions) => RopeInitResult;

/** A YaRN correction range: frequency indices where the blend starts and ends. */
export interface YarnCorrectionRange {
  /** Below this index frequencies keep their value. */
  low: number;
  /** Above this index frequencies are divided by `factor`. */
  high: number;
}

interface Setup {
  params: StandardRopeParameters;
  dim: number;
  base: number;
  /** `P[i] = base^(2i / dim)` for i < ceil(dim / 2). */
  powers: number[];
}

function setup(config: RopeConfig, options: RopeInitOptions): Setup {
  const params = standardizeRopeParameters(config, options);
  const dim = ropeDim(config, options);
  const base = params.rope_theta;
  const powers = Array.from({ length: Math.ceil(dim / 2) }, (_, i) => base ** ((2 * i) / dim));
  return { params, dim, base, powers };
}

function need(value: unknown, key: string, type: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new TypeError(
      `Cannot compute rope frequencies for rope_type "${type}": expected a number in ${key}, got ${
        typeof value === "number" || value === undefined ? String(value) : JSON.stringify(value)
      }`,
    );
  }
  return value;
}

function result(
  inv: readonly number[],
  attentionFactor: number,
  o: RopeInitOptions,
): RopeInitResult {
  return { invFreq: tensor(new Float32Array(inv), { backend: o.backend }), attentionFactor };
}

function computeDefault(config: RopeConfig, options: RopeInitOptions = {}): RopeInitResult {
  const { powers } = setup(config, options);
  return result(powers.map((p) => 1 / p), 1.0, options);
}

function computeLinear(config: RopeConfig, options: RopeInitOptions = {}): RopeInitResult {
  const { params, powers } = setup(config, options);
  const factor = need(params.factor, "rope_parameters.factor", "linear");
  return result(powers.map((p) => 1 / p / factor), 1.0, options);
}

function computeDynamic(config: RopeConfig, options: RopeInitOptions = {}): RopeInitResult {
  const { params, dim, base } = setup(config, options);
  const factor = need(params.factor, "rope_parameters.factor", "dynamic");
  const mpe = need(config.max_position_embeddings, "config.max_position_embeddings", "dynamic");
  const len = Math.max(options.seqLen ?? mpe, mpe);
  // NTK-aware scaling: grow the base so the longest wavelength stretches with the context.
  const scaled = base * ((factor * len) / mpe - (factor - 1)) ** (dim / (dim - 2));
  const inv = Array.from({ length: Math.ceil(dim / 2) }, (_, i) => 1 / scaled ** ((2 * i) / dim));
  return result(inv, 1.0, options);
}

/** YaRN's magnitude correction: 1 for `scale <= 1`, else `0.1 · m · ln(scale) + 1`. */
function yarnMscale(scale: number, m = 1): number {
  return scale <= 1 ? 1.0 : 0.1 * m * Math.log(scale) + 1.0;
}

function yarnOmp(config: RopeConfig, params: StandardRopeParameters): number {
  const omp = params.original_max_position_embeddings ?? config.max_position_embeddings;
  return need(omp, "rope_parameters.original_max_position_embeddings", "yarn");
}

function correctionRange(s: Setup, omp: number): YarnCorrectionRange {
  const { params, dim, base } = s;
  const fast = params.beta_fast || 32;
  const slow = params.beta_slow || 1;
  // The index whose wavelength fits `rotations` times into the original context.
  const corrDim = (rotations: number) =>
    (dim * Math.log(omp / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
  let low = corrDim(fast);
  let high = corrDim(slow);
  if (params.truncate === undefined || params.truncate === null ? true : params.truncate) {
    low = Math.floor(low);
    high = Math.ceil(high);
  }
  return { low: Math.max(low, 0), high: Math.min(high, dim - 1) };
}

/**
 * The YaRN correction range of a config: `low = floor(corr(beta_fast))`, `high =
 * ceil(corr(beta_slow))` (without rounding when `truncate` is false), clamped to `[0, dim - 1]`,
 * where `corr(r) = dim · ln(omp / (2π r)) / (2 ln rope_theta)`, `beta_fast` defaults to 32 and
 * `beta_slow` to 1.
 *
 * @param config The model configuration (its RoPE parameters need not say `"yarn"`).
 * @param options `layerType` for per-layer-type RoPE parameters.
 * @returns The range.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { yarnCorrectionRange } from "./rope_init.ts";
 *
 * const config = {
 *   head_dim: 128,
 *   max_position_embeddings: 2048,
 *   rope_parameters: { rope_type: "yarn", factor: 10, rope_theta: 10000 },
 * };
 * assertEquals(yarnCorrectionRange(config), { low: 16, high: 41 });
 * ```
 */
export function yarnCorrectionRange(
  config: RopeConfig,
  options: RopeLayerOptions = {},
): YarnCorrectionRange {
  const s = setup(config, options);
  return correctionRange(s, yarnOmp(config, s.params));
}

function computeYarn(config: RopeConfig, options: RopeInitOptions = {}): RopeInitResult {
  const s = setup(config, options);
  const { params, powers } = s;
  const omp = yarnOmp(config, params);
  const mpe = config.max_position_embeddings;
  const factor = need(params.factor ?? (mpe ?? NaN) / omp, "rope_parameters.factor", "yarn");
  const { mscale, mscale_all_dim: mscaleAllDim } = params;
  const attentionFactor = params.attention_factor ??
    (mscale && mscaleAllDim
      ? yarnMscale(factor, mscale) / yarnMscale(factor, mscaleAllDim)
      : yarnMscale(factor));
  const { low, high: rawHigh } = correctionRange(s, omp);
  const high = low === rawHigh ? rawHigh + 0.001 : rawHigh; // no division by zero in the ramp
  const inv = powers.map((p, i) => {
    const ramp = Math.min(Math.max((i - low) / (high - low), 0), 1);
    return (1 / (factor * p)) * ramp + (1 / p) * (1 - ramp);
  });
  return result(inv, attentionFactor, options);
}

function computeLongrope(config: RopeConfig, options: RopeInitOptions = {}): RopeInitResult {
  const { params, powers } = setup(config, options);
  const mpe = config.max_position_embeddings;
  const omp = need(
    params.original_max_position_embeddings ?? mpe,
    "rope_parameters.original_max_position_embeddings",
    "longrope",
  );
  const factor = need(params.factor ?? (mpe ?? NaN) / omp, "rope_parameters.factor", "longrope");
  const attentionFactor = params.attention_factor ??
    (factor <= 1 ? 1.0 : Math.sqrt(1 + Math.log(factor) / Math.log(omp)));
  const long = options.seqLen && options.seqLen > omp;
  const key = long ? "long_factor" : "short_factor";
  const ext = params[key];
  if (!Array.isArray(ext) || ext.length !== powers.length) {
    throw new RangeError(
      `Cannot compute rope frequencies for rope_type "longrope": expected rope_parameters.${key} to be a list of ${powers.length} numbers, got ${
        Array.isArray(ext) ? `${ext.length} entries` : JSON.stringify(ext)
      }`,
    );
  }
  return result(powers.map((p, i) => 1 / (ext[i] * p)), attentionFactor, options);
}

function computeLlama3(config: RopeConfig, options: RopeInitOptions = {}): RopeInitResult {
  const { params, powers } = setup(config, options);
  const factor = need(params.factor, "rope_parameters.factor", "llama3");
  const lowFactor = need(params.low_freq_factor, "rope_parameters.low_freq_factor", "llama3");
  const highFactor = need(params.high_freq_factor, "rope_parameters.high_freq_factor", "llama3");
  const omp = need(
    params.original_max_position_embeddings,
    "rope_parameters.original_max_position_embeddings",
    "llama3",
  );
  const lowWavelen = omp / lowFactor;
  const highWavelen = omp / highFactor;
  const inv = powers.map((p) => {
    const base = 1 / p;
    const wavelen = (2 * Math.PI) / base;
    // Long wavelengths are interpolated, short ones kept, the band between blended smoothly.
    const scaled = wavelen > lowWavelen ? base / factor : base;
    if (wavelen < highWavelen || wavelen > lowWavelen) return scaled;
    const smooth = (omp / wavelen - lowFactor) / (highFactor - lowFactor);
    return ((1 - smooth) * scaled) / factor + smooth * scaled;
  });
  return result(inv, 1.0, options);
}

/**
 * The RoPE initialisers by `rope_type`: `default`, `linear`, `dynamic`, `yarn`, `longrope`,
 * `llama3`. Each returns `{ invFreq, attentionFactor }`:
 *
 * - `default`: `1 / P[i]`; factor 1.
 * - `linear`: `1 / (P[i] · factor)`; factor 1.
 * - `dynamic` (NTK-aware): with `L = max(seqLen ?? mpe, mpe)`, the base becomes
 *   `base · (factor · L / mpe − (factor − 1))^(dim / (dim − 2))`; factor 1. At `L = mpe` it equals
 *   `default`.
 * - `yarn`: blends `1 / (factor · P[i])` (low frequencies) and `1 / P[i]` (high frequencies) with
 *   a linear ramp over {@linkcode yarnCorrectionRange}; the factor is `attention_factor`, else
 *   `mscale(factor, mscale) / mscale(factor, mscale_all_dim)` when both are set, else
 *   `0.1 · ln(factor) + 1`. A missing `factor` is `mpe / original_max_position_embeddings`.
 * - `longrope`: `1 / (ext[i] · P[i])` with `ext = long_factor` when `seqLen > omp`, else
 *   `short_factor`; the factor is `attention_factor`, else `sqrt(1 + ln(factor) / ln(omp))`
 *   (1 when `factor <= 1`), where a missing `factor` is `mpe / omp`.
 * - `llama3`: frequencies with wavelength above `omp / low_freq_factor` are divided by `factor`,
 *   those below `omp / high_freq_factor` are kept, and those between are blended smoothly; factor 1.
 *
 * Unlike Llama's own default function, these honour `partial_rotary_factor`. The record is
 * mutable, so custom types can be registered.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals, assertEquals } from "@std/assert";
 * import { ROPE_INIT_FUNCTIONS } from "./rope_init.ts";
 *
 * const config = { head_dim: 4, rope_parameters: { rope_type: "linear", factor: 2, rope_theta: 100 } };
 * const { invFreq, attentionFactor } = ROPE_INIT_FUNCTIONS.linear(config, { backend: "cpu" });
 * const values = await invFreq.toArray() as number[];
 * assertAlmostEquals(values[0], 0.5);
 * assertAlmostEquals(values[1], 0.05);
 * assertEquals(attentionFactor, 1);
 * ```
 */
export const ROPE_INIT_FUNCTIONS: Record<string, RopeInitFunction> = {
  default: computeDefault,
  linear: computeLinear,
  dynamic: computeDynamic,
  yarn: computeYarn,
  longrope: computeLongrope,
  llama3: computeLlama3,
};
