/**
 * `AutoConfig` and `AutoModel`: resolve a checkpoint's `model_type` through the registry.
 *
 * @module
 */

import { withBackend } from "../backends/registry.ts";
import type { PretrainedConfig } from "./config.ts";
import type { FromPretrainedOptions } from "./pretrained_model.ts";
import type { PreTrainedModel } from "./pretrained_model.ts";
import { defaultRegistry, type ModelRegistry, type TaskName } from "./registry.ts";
import { readJson } from "./source.ts";

/** Options naming the registry to resolve through. */
export interface RegistryOptions {
  /** The registry. @default {defaultRegistry} */
  registry?: ModelRegistry;
}

/**
 * Builds the config of any registered architecture from a checkpoint's `config.json`.
 *
 * @example Usage
 * ```ts
 * import { assertRejects } from "@std/assert";
 * import { AutoConfig, ModelRegistry } from "@denoformers/core";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify({ model_type: "nope" }));
 * await assertRejects(() => AutoConfig.fromPretrained(dir, { registry: new ModelRegistry() }), RangeError, "nope");
 * ```
 */
export class AutoConfig {
  /**
   * Reads `config.json` from a directory or base URL and parses it with the plugin of its
   * `model_type`.
   *
   * @param location Directory or base URL.
   * @param options The registry.
   * @returns The config.
   */
  static async fromPretrained(
    location: string | URL,
    options: RegistryOptions = {},
  ): Promise<PretrainedConfig> {
    const json = await readJson(location, "config.json");
    if (
      !json || typeof json !== "object" ||
      typeof (json as { model_type?: unknown }).model_type !== "string"
    ) {
      throw new TypeError(
        `Cannot build a config from "${location}/config.json": it has no "model_type" string`,
      );
    }
    const values = json as Record<string, unknown>;
    return (options.registry ?? defaultRegistry).get(values.model_type as string).parseConfig(
      values,
    );
  }

  /**
   * Parses config values with the plugin of their `model_type`.
   *
   * @param values `config.json` values.
   * @param options The registry.
   * @returns The config.
   */
  static fromDict(
    values: Record<string, unknown>,
    options: RegistryOptions = {},
  ): PretrainedConfig {
    return (options.registry ?? defaultRegistry).get(String(values.model_type)).parseConfig(values);
  }
}

/**
 * Builds a model for a task from a config or a pretrained checkpoint, through the registry.
 * `AutoModel` is the base model; the heads package defines the `AutoModelFor*` classes the same way.
 *
 * @param task The task.
 * @param fallback Builds the model when the plugin has no specific head for the task.
 * @returns The class-like object with `fromConfig` and `fromPretrained`.
 *
 * @example Usage
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { autoClass, ModelRegistry, PretrainedConfig } from "@denoformers/core";
 *
 * const AutoThing = autoClass("causalLm");
 * const config = new PretrainedConfig({ model_type: "none" });
 * assertThrows(() => AutoThing.fromConfig(config, { registry: new ModelRegistry() }), RangeError);
 * ```
 */
export function autoClass(
  task: TaskName,
  fallback?: (
    base: PreTrainedModel,
    config: PretrainedConfig,
    registry: ModelRegistry,
  ) => PreTrainedModel,
): AutoModelClass {
  const build = (config: PretrainedConfig, registry: ModelRegistry): PreTrainedModel => {
    const plugin = registry.get(config.model_type);
    if (task === "base") return plugin.createBaseModel(config);
    const head = plugin.heads?.[task];
    if (head) return head(config);
    if (fallback) return fallback(plugin.createBaseModel(config), config, registry);
    throw new RangeError(
      `Cannot build a "${task}" model for model_type "${config.model_type}": the plugin has no such head`,
    );
  };
  return {
    fromConfig: (config, options = {}) => build(config, options.registry ?? defaultRegistry),
    async fromPretrained(location, options = {}) {
      const registry = options.registry ?? defaultRegistry;
      const config = await AutoConfig.fromPretrained(location, { registry });
      const model = await withBackend(options.backend, () => build(config, registry));
      await model.loadPretrainedWeights(location);
      if (options.dtype) model.castFloats(options.dtype);
      return model;
    },
  };
}

/** The interface of `AutoModel` and the `AutoModelFor*` classes. */
export interface AutoModelClass {
  /** Builds a freshly initialised model for `config`. */
  fromConfig(config: PretrainedConfig, options?: RegistryOptions): PreTrainedModel;
  /** Builds a model from a checkpoint directory or URL and loads its weights. */
  fromPretrained(
    location: string | URL,
    options?: RegistryOptions & FromPretrainedOptions,
  ): Promise<PreTrainedModel>;
}

/**
 * The base model of any registered architecture.
 *
 * @example Usage
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { AutoModel, ModelRegistry, PretrainedConfig } from "@denoformers/core";
 *
 * const config = new PretrainedConfig({ model_type: "gpt99" });
 * assertThrows(() => AutoModel.fromConfig(config, { registry: new ModelRegistry() }), RangeError, "gpt99");
 * ```
 */
export const AutoModel: AutoModelClass = autoClass("base");
