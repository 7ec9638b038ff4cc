/**
 * Helpers shared by the heads: reading config sizes, matching the base model's backend and dtype,
 * building and calling the base model, initialising only the new head layers, the `p_mask`
 * formula and warn-once.
 *
 * @module
 */

import {
  defaultRegistry,
  type DType,
  initWeights,
  type LayerOptions,
  type ModelRegistry,
  type Module,
  noGrad,
  type PretrainedConfig,
  type PreTrainedModel,
  type Tensor,
} from "@denoformers/core";
import type {
  BaseModel,
  BaseModelOptions,
  BaseModelOutputWithPast,
  GenericHeadOptions,
} from "./types.ts";

/** A positive-integer config value, or a `TypeError` naming the owner and the key. */
export function configInt(config: PretrainedConfig, key: string, owner: string): number {
  const v = config[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
    throw new TypeError(
      `Cannot build ${owner}: config.${key} is ${JSON.stringify(v)}, expected a positive integer`,
    );
  }
  return v;
}

/** `config[key]` when present and not null, else `fallback` (Hugging Face's `getattr` pattern). */
export function configOr<T>(config: PretrainedConfig, key: string, fallback: T): T {
  const v = config[key];
  return v === undefined || v === null ? fallback : v as T;
}

/** The backend of a module's first parameter, so new layers are created beside it. */
export function layerOptionsLike(module: Module): LayerOptions {
  const p = module.parameters()[0];
  return p ? { backend: p.backend } : {};
}

const FLOATS: readonly string[] = ["float16", "float32", "float64"];

/** Casts a module's float tensors to `dtype` in place (core cannot draw float16 weights directly). */
function castFloatsTo(module: Module, dtype: DType): void {
  noGrad(() => {
    for (const t of new Set(Object.values(module.stateDict()))) {
      if (FLOATS.includes(t.dtype) && t.dtype !== dtype) {
        t.assign(t.cast(dtype), { allowDtypeChange: true });
      }
    }
  });
}

/** The base model a generic head wraps, and the field that holds it. */
export function resolveBaseModel(
  config: PretrainedConfig,
  options: GenericHeadOptions,
): { prefix: string; base: PreTrainedModel } {
  const registry: ModelRegistry = options.registry ?? defaultRegistry;
  const plugin = options.baseModel && !registry.has(config.model_type)
    ? null
    : registry.get(config.model_type);
  const base = options.baseModel ?? plugin!.createBaseModel(config);
  const prefix = options.baseModelPrefix ?? plugin?.baseModelPrefix ??
    (base.baseModelPrefix || "model");
  return { prefix, base };
}

/** Runs the base model held under the head's prefix. */
export function callBaseModel(
  head: PreTrainedModel,
  inputIds: Tensor | null,
  options: BaseModelOptions,
): BaseModelOutputWithPast {
  const base = head.baseModel as BaseModel;
  if (base === (head as unknown)) {
    throw new TypeError(
      `Cannot run ${head.constructor.name}: it holds no base model under "${head.baseModelPrefix}"`,
    );
  }
  return base.call(inputIds, options);
}

/**
 * Initialises the head's own layers with `initializer_range` (the base model arrives initialised
 * or loaded, as Hugging Face skips already-initialised modules) in the base model's float dtype,
 * then ties weights.
 */
export function initHeadLayers(head: PreTrainedModel): void {
  const base = head.baseModel;
  const like = base.parameters().find((p) => FLOATS.includes(p.dtype));
  for (const [, child] of head.namedChildren()) {
    if (child === base) continue;
    initWeights(child, head.config.initializer_range);
    if (like && like.dtype !== "float32") castFloatsTo(child, like.dtype);
  }
  head.tieWeights();
}

/** The input embeddings of a head's base model (its `getInputEmbeddings()` or `embed_tokens`). */
export function inputEmbeddingsOf(head: PreTrainedModel): Module | null {
  const base = head.baseModel as Module & {
    getInputEmbeddings?: () => Module | null;
    embed_tokens?: Module;
  };
  if (typeof base.getInputEmbeddings === "function") return base.getInputEmbeddings();
  return base.embed_tokens ?? null;
}

/** Replaces the input embeddings of a head's base model. */
export function setInputEmbeddingsOf(head: PreTrainedModel, value: Module): void {
  const base = head.baseModel as Module & {
    setInputEmbeddings?: (m: Module) => void;
    embed_tokens?: Module;
  };
  if (typeof base.setInputEmbeddings === "function") base.setInputEmbeddings(value);
  else base.embed_tokens = value;
}

/** The masking constant of `p_mask`: 65500 for float16 parameters, else 1e30. */
export function pMaskConstant(paramDtype: string): number {
  return paramDtype === "float16" ? 65500 : 1e30;
}

/** `x·(1 − p) − C·p` (p = 1 marks positions that must not be chosen). */
export function applyPMask(
  x: Tensor,
  pMask: Tensor | null | undefined,
  paramDtype: string,
): Tensor {
  if (!pMask) return x;
  const p = pMask.cast(x.dtype);
  return x.mul(p.neg().add(1)).sub(p.mul(pMaskConstant(paramDtype)));
}

const warned = new Set<string>();

/** Logs `message` once per process (Hugging Face's `warning_once`). */
export function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  console.warn(message);
}

/** Squeezes the last dimension of a tensor with more than one dimension (labels given as [B, 1]). */
export function squeezeLast(t: Tensor): Tensor {
  return t.ndim > 1 ? t.squeeze(-1) : t;
}
