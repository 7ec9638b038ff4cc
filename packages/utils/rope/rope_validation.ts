/**
 * Checking RoPE parameters: the keys each `rope_type` requires and accepts, and warnings about
 * suspicious values (Hugging Face's `RotaryEmbeddingConfigMixin` validation).
 *
 * @module
 */

import {
  type RopeConfig,
  ropeDim,
  type RopeLayerOptions,
  ropeLayerTypes,
  standardizeRopeParameters,
  type StandardRopeParameters,
} from "./rope_parameters.ts";

/** Options of {@linkcode validateRopeParameters}. */
export interface ValidateRopeOptions extends RopeLayerOptions {
  /** Model-specific keys that are not reported as unrecognised. @default {[]} */
  ignoreKeys?: readonly string[];
}

interface KeyRule {
  required: readonly string[];
  optional: readonly string[];
}

const OMP = "original_max_position_embeddings";

const KEY_RULES: Readonly<Record<string, KeyRule>> = {
  default: { required: ["rope_type", "rope_theta"], optional: [] },
  linear: { required: ["rope_type", "factor", "rope_theta"], optional: [] },
  // Standardisation always adds rope_theta, so dynamic accepts it (and omp, as Hugging Face does).
  dynamic: { required: ["rope_type", "factor"], optional: ["rope_theta", OMP] },
  yarn: {
    required: ["rope_type", "factor", "rope_theta", OMP],
    optional: [
      "attention_factor",
      "beta_fast",
      "beta_slow",
      "mscale",
      "mscale_all_dim",
      "truncate",
    ],
  },
  longrope: {
    required: ["rope_type", "short_factor", "long_factor", "rope_theta", OMP],
    optional: ["attention_factor", "factor"],
  },
  llama3: {
    required: ["rope_type", "factor", OMP, "low_freq_factor", "high_freq_factor", "rope_theta"],
    optional: [],
  },
};

const ALWAYS_ALLOWED: readonly string[] = ["partial_rotary_factor", "type"];

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const show = (v: unknown): string => (v === undefined ? "undefined" : JSON.stringify(v));

function checkKeys(params: StandardRopeParameters, rule: KeyRule, ignore: readonly string[]): void {
  const type = params.rope_type;
  const missing = rule.required.filter((k) => params[k] === undefined);
  if (missing.length) {
    throw new TypeError(
      `Cannot use rope_type "${type}": missing required keys in rope_parameters: ${
        missing.map((k) => `"${k}"`).join(", ")
      }`,
    );
  }
  const known = [...rule.required, ...rule.optional, ...ALWAYS_ALLOWED, ...ignore];
  const unknown = Object.keys(params).filter((k) => !known.includes(k));
  if (unknown.length) {
    console.warn(
      `Unrecognized keys in rope_parameters for rope_type "${type}": ${
        unknown.map((k) => `"${k}"`).join(", ")
      }`,
    );
  }
}

function checkValues(
  config: RopeConfig,
  params: StandardRopeParameters,
  layerType: string | undefined,
): void {
  const type = params.rope_type;
  const warn = (key: string, expected: string, value: unknown) =>
    console.warn(
      `rope_parameters.${key} for rope_type "${type}" should be ${expected}, got ${show(value)}`,
    );
  const { factor, attention_factor: attention } = params;
  const factorRequired = KEY_RULES[type].required.includes("factor");
  if ((factorRequired || factor != null) && !(isNumber(factor) && factor >= 1)) {
    warn("factor", "a number >= 1", factor);
  }
  if (attention != null && !(isNumber(attention) && attention >= 0)) {
    warn("attention_factor", "a number >= 0", attention);
  }
  const omp = params.original_max_position_embeddings;
  const mpe = config.max_position_embeddings;
  if (type === "yarn") {
    const { beta_fast: fast, beta_slow: slow } = params;
    if (fast != null && !isNumber(fast)) warn("beta_fast", "a number", fast);
    if (slow != null && !isNumber(slow)) warn("beta_slow", "a number", slow);
    if ((fast || 32) < (slow || 1)) {
      warn("beta_fast", `at least beta_slow (${show(slow || 1)})`, fast || 32);
    }
    if (isNumber(omp) && isNumber(mpe) && mpe / omp !== 1 && factor !== mpe / omp) {
      console.warn(
        `rope_parameters.factor ${
          show(factor)
        } for rope_type "yarn" differs from the implicit factor ` +
          `max_position_embeddings / original_max_position_embeddings = ${mpe / omp}; ` +
          `the explicit factor is used`,
      );
    }
  } else if (type === "longrope") {
    const half = Math.floor(ropeDim(config, { layerType }) / 2);
    for (const key of ["short_factor", "long_factor"]) {
      const list = params[key];
      if (!Array.isArray(list) || !list.every(isNumber)) warn(key, "a list of numbers", list);
      else if (list.length !== half) warn(key, `a list of length ${half}`, list.length);
    }
  } else if (type === "llama3") {
    const { low_freq_factor: low, high_freq_factor: high } = params;
    if (isNumber(low) && isNumber(high) && high <= low) {
      warn("high_freq_factor", `greater than low_freq_factor (${low})`, high);
    }
    if (!Number.isInteger(omp)) warn(OMP, "an integer", omp);
    else if (isNumber(mpe) && (omp as number) >= mpe) {
      warn(OMP, `less than max_position_embeddings (${mpe})`, omp);
    }
  }
}

/**
 * Checks the RoPE parameters of a config (after standardisation) against the keys each
 * `rope_type` requires and accepts.
 *
 * Missing required keys throw. Unrecognised keys produce one `console.warn` listing them all, and
 * each suspicious value one more: a `factor` that is not a number ≥ 1, an `attention_factor` below
 * 0, non-numeric YaRN betas or `beta_fast < beta_slow`, a YaRN `factor` that differs from
 * `max_position_embeddings / original_max_position_embeddings` when that ratio is not 1, LongRoPE
 * factor lists whose length is not `dim / 2`, and Llama 3's `high_freq_factor <= low_freq_factor`,
 * a non-integer `original_max_position_embeddings` or one not below `max_position_embeddings`.
 * JavaScript numbers do not tell `8` from `8.0`, so "a float" becomes "a number" here. A type
 * without a rule (a custom one) is reported with a warning and otherwise accepted.
 *
 * @param config The model configuration.
 * @param options `ignoreKeys` (model-specific keys not to report) and `layerType` (check one
 * entry of per-layer-type parameters; by default every entry is checked).
 * @throws {TypeError} When a required key is missing.
 *
 * @example Usage
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { validateRopeParameters } from "./rope_validation.ts";
 *
 * validateRopeParameters({ rope_parameters: { rope_type: "linear", factor: 2 } });
 * assertThrows(
 *   () => validateRopeParameters({ rope_parameters: { rope_type: "llama3", factor: 8 } }),
 *   TypeError,
 *   'Cannot use rope_type "llama3": missing required keys in rope_parameters',
 * );
 * ```
 */
export function validateRopeParameters(
  config: RopeConfig,
  options: ValidateRopeOptions = {},
): void {
  const layerTypes = options.layerType === undefined ? ropeLayerTypes(config) : null;
  for (const layerType of layerTypes ?? [options.layerType]) {
    const params = standardizeRopeParameters(config, { layerType });
    const rule = Object.hasOwn(KEY_RULES, params.rope_type) ? KEY_RULES[params.rope_type] : null;
    if (!rule) {
      console.warn(
        `No validation rule for rope_type "${params.rope_type}": its keys are unchecked`,
      );
      continue;
    }
    checkKeys(params, rule, options.ignoreKeys ?? []);
    checkValues(config, params, layerType);
  }
}
