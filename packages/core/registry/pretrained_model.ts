/**
 * `PreTrainedModel`: a `Module` with a config, a base-model prefix, Hugging Face weight
 * initialisation, and `savePretrained` / pretrained loading with Hugging Face's prefix rules.
 *
 * @module
 */

import type { BackendName } from "../backends/backend.ts";
import type { DType } from "../dtype.ts";
import { isFloat } from "../dtype.ts";
import { noGrad } from "../grad_mode.ts";
import { loadSafetensors, saveSafetensors } from "../io/safetensors_file.ts";
import { initWeights } from "../nn/init.ts";
import { Module } from "../nn/module.ts";
import { formatShape } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import type { PretrainedConfig } from "./config.ts";
import { childOf } from "./source.ts";

/** What loading pretrained weights found. */
export interface LoadingInfo {
  /** Model weights the checkpoint lacked; they keep their fresh initialisation. */
  missingKeys: string[];
  /** Checkpoint weights the model does not use. */
  unexpectedKeys: string[];
}

/** Options of pretrained loading. */
export interface FromPretrainedOptions {
  /** Backend for the parameters. @default {the current backend} */
  backend?: BackendName;
  /** Float dtype for the parameters. @default {"float32"} */
  dtype?: DType;
}

/**
 * Base class of every architecture and task model.
 *
 * Subclasses set `baseModelPrefix` (the field holding the base model in task models, e.g.
 * `"bert"`, `"model"`), build their layers in the constructor and call `postInit()` last.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Linear, PretrainedConfig, PreTrainedModel, type Tensor } from "@denoformers/core";
 *
 * class Toy extends PreTrainedModel {
 *   readonly baseModelPrefix = "toy";
 *   proj: Linear;
 *   constructor(config: PretrainedConfig) {
 *     super(config);
 *     this.proj = new Linear(2, 2, { backend: "cpu" });
 *     this.postInit();
 *   }
 *   forward(x: Tensor): Tensor {
 *     return this.proj.call(x);
 *   }
 * }
 * const m = new Toy(new PretrainedConfig({ model_type: "toy" }));
 * assertEquals(await m.proj.bias!.toArray(), [0, 0]);
 * ```
 */
export abstract class PreTrainedModel extends Module {
  /** The configuration. */
  config: PretrainedConfig;
  /** Field under which task models hold the base model (`""` when there is none). */
  abstract readonly baseModelPrefix: string;
  /** What the last pretrained load found, if the model was loaded. */
  loadingInfo: LoadingInfo | null = null;

  /**
   * Stores the config.
   *
   * @param config The configuration.
   */
  constructor(config: PretrainedConfig) {
    super();
    this.config = config;
  }

  /** The base model: the field named `baseModelPrefix`, or this model itself. */
  get baseModel(): Module {
    const m = (this as Record<string, unknown>)[this.baseModelPrefix];
    return m instanceof Module ? m : this;
  }

  /** Initialises weights with `config.initializer_range`, then ties weights. Call last in constructors. */
  postInit(): void {
    initWeights(this, this.config.initializer_range);
    this.tieWeights();
  }

  /** Ties shared weights (models with tied word embeddings override this). */
  tieWeights(): void {}

  /**
   * Writes `config.json` and `model.safetensors` (each tied tensor once, under its first name).
   *
   * @param dir Target directory (created if needed).
   */
  async savePretrained(dir: string): Promise<void> {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(childOf(dir, "config.json"), this.config.toJsonString());
    const seen = new Set<Tensor>();
    const tensors: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(this.stateDict())) {
      if (seen.has(t)) continue;
      seen.add(t);
      tensors[name] = t;
    }
    await saveSafetensors(childOf(dir, "model.safetensors"), tensors, { format: "pt" });
  }

  /**
   * Loads weights saved by `savePretrained` or Hugging Face (`model.safetensors`, or a sharded
   * `model.safetensors.index.json`) into this model, applying Hugging Face's prefix rules: a
   * base-model checkpoint loads into a task model by adding `baseModelPrefix`, and a task-model
   * checkpoint into a base model by stripping it. Missing weights keep their initialisation.
   *
   * @param location Directory or base URL.
   * @returns Missing and unexpected keys (also stored in `loadingInfo`).
   * @throws {RangeError} When a weight's shape differs from the model's.
   */
  async loadPretrainedWeights(location: string | URL): Promise<LoadingInfo> {
    const loaded = await loadSafetensors(String(location), { backend: "cpu" });
    const info = this.loadStateDictWithPrefix(loaded);
    for (const t of Object.values(loaded)) t.dispose();
    return info;
  }

  /**
   * Loads a state dict with Hugging Face's prefix rules (see {@linkcode loadPretrainedWeights}).
   *
   * @param stateDict Tensors by checkpoint name.
   * @returns Missing and unexpected keys.
   */
  loadStateDictWithPrefix(stateDict: Record<string, Tensor>): LoadingInfo {
    const own = this.stateDict();
    const prefix = this.baseModelPrefix ? `${this.baseModelPrefix}.` : "";
    const ownKeys = Object.keys(own);
    let renamed = stateDict;
    if (prefix) {
      const hasPrefix = Object.keys(stateDict).some((k) => k.startsWith(prefix));
      const expectsPrefix = ownKeys.some((k) => k.startsWith(prefix));
      if (!hasPrefix && expectsPrefix) {
        renamed = Object.fromEntries(Object.entries(stateDict).map(([k, v]) => [prefix + k, v]));
      } else if (hasPrefix && !expectsPrefix) {
        renamed = Object.fromEntries(
          Object.entries(stateDict).map((
            [k, v],
          ) => [k.startsWith(prefix) ? k.slice(prefix.length) : `\0${k}`, v]),
        );
      }
    }
    // Check in the model's own order, so the first mismatch reported is the first layer's.
    for (const k of ownKeys) {
      const t = renamed[k];
      const target = own[k];
      if (t && formatShape(target.shape) !== formatShape(t.shape)) {
        throw new RangeError(
          `Cannot load weight "${k}" into ${this.constructor.name}: expected shape ${
            formatShape(target.shape)
          }, checkpoint has ${formatShape(t.shape)}`,
        );
      }
    }
    const report = this.loadStateDict(renamed, { strict: false });
    // A tied tensor loaded under one of its names is not missing under the others.
    const loadedTensors = new Set(ownKeys.filter((k) => k in renamed).map((k) => own[k]));
    const info: LoadingInfo = {
      missingKeys: report.missingKeys.filter((k) => !loadedTensors.has(own[k])),
      unexpectedKeys: report.unexpectedKeys.map((k) => (k.startsWith("\0") ? k.slice(1) : k)),
    };
    this.tieWeights();
    this.loadingInfo = info;
    return info;
  }

  /**
   * Casts every float parameter and buffer to `dtype` in place.
   *
   * @param dtype A float dtype.
   * @returns This model.
   */
  castFloats(dtype: DType): this {
    if (!isFloat(dtype)) {
      throw new TypeError(`Cannot cast model weights to ${dtype}: expected a float dtype`);
    }
    noGrad(() => {
      const done = new Set<Tensor>();
      for (const t of Object.values(this.stateDict())) {
        if (done.has(t) || !isFloat(t.dtype) || t.dtype === dtype) continue;
        done.add(t);
        t.assign(t.cast(dtype), { allowDtypeChange: true });
      }
    });
    return this;
  }
}
