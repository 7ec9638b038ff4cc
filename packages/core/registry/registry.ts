/**
 * The plugin registry: architectures register a plugin under their `model_type`; the `Auto*`
 * classes and the task heads resolve through it. Registration is explicit.
 *
 * @module
 */

import type { Module } from "../nn/module.ts";
import type { PretrainedConfig } from "./config.ts";
import type { PreTrainedModel } from "./pretrained_model.ts";

/** Task names of the heads a plugin may provide (`"base"` is the bare model). */
export type TaskName =
  | "base"
  | "causalLm"
  | "maskedLm"
  | "sequenceClassification"
  | "tokenClassification"
  | "questionAnswering";

/**
 * Builds a task model from a config. Declared through a method type so a plugin for a specific
 * config class (`ModelPlugin<LlamaConfig>`) still fits where any plugin is expected.
 */
export type HeadFactory<C extends PretrainedConfig> = {
  build(config: C): PreTrainedModel;
}["build"];

/** What an architecture registers. */
export interface ModelPlugin<C extends PretrainedConfig = PretrainedConfig> {
  /** The `model_type` of its `config.json`. */
  readonly modelType: string;
  /** Builds the config (defaults applied) from `config.json` values. */
  parseConfig(values: Record<string, unknown>): C;
  /** Builds the base model (weights initialised). */
  createBaseModel(config: C): PreTrainedModel;
  /** Attribute under which task models hold the base model (Hugging Face `base_model_prefix`). */
  readonly baseModelPrefix: string;
  /** Model-specific task heads; other tasks fall back to the generic heads. */
  readonly heads?: Readonly<Partial<Record<TaskName, HeadFactory<C>>>>;
  /** Which layers gradient checkpointing wraps. */
  readonly checkpointLayers?: (m: Module) => boolean;
}

/**
 * Plugins by `model_type`.
 *
 * @example Usage
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { ModelRegistry } from "@denoformers/core";
 *
 * const registry = new ModelRegistry();
 * assertThrows(() => registry.get("bert"), RangeError, "no model types are registered");
 * ```
 */
export class ModelRegistry {
  #plugins = new Map<string, ModelPlugin>();

  /**
   * Registers a plugin.
   *
   * @param plugin The plugin.
   * @param options override (default false): replace an existing registration.
   * @returns This registry.
   * @throws {Error} When the type is taken and `override` is not set.
   */
  register<C extends PretrainedConfig>(
    plugin: ModelPlugin<C>,
    options: { override?: boolean } = {},
  ): this {
    if (this.#plugins.has(plugin.modelType) && !options.override) {
      throw new Error(
        `Cannot register model type "${plugin.modelType}": it is already registered (pass { override: true } to replace it)`,
      );
    }
    this.#plugins.set(plugin.modelType, plugin as unknown as ModelPlugin);
    return this;
  }

  /**
   * The plugin for a model type.
   *
   * @param modelType The `model_type`.
   * @returns The plugin.
   * @throws {RangeError} For unknown types, listing the registered ones.
   */
  get(modelType: string): ModelPlugin {
    const plugin = this.#plugins.get(modelType);
    if (!plugin) {
      const known = this.modelTypes();
      throw new RangeError(
        `Cannot create model for model_type "${modelType}": type is not registered: ${
          known.length
            ? `registered types are ${known.map((t) => `"${t}"`).join(", ")}`
            : "no model types are registered"
        }`,
      );
    }
    return plugin;
  }

  /**
   * Whether a model type is registered.
   *
   * @param modelType The `model_type`.
   * @returns `true` when registered.
   */
  has(modelType: string): boolean {
    return this.#plugins.has(modelType);
  }

  /**
   * The registered model types, sorted.
   *
   * @returns The types.
   */
  modelTypes(): string[] {
    return [...this.#plugins.keys()].sort();
  }
}

/**
 * The registry the `Auto*` classes use unless given another.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { defaultRegistry, ModelRegistry } from "@denoformers/core";
 *
 * assert(defaultRegistry instanceof ModelRegistry);
 * ```
 */
export const defaultRegistry: ModelRegistry = new ModelRegistry();
