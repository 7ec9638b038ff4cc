/**
 * Architectures as registry plugins that load Hugging Face `config.json` + `*.safetensors`
 * checkpoints unchanged, with the KV cache and generation they share. Registration is explicit:
 * call {@linkcode registerBuiltinModels} (or register single plugins) before using the `Auto*`
 * classes.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { ModelRegistry } from "@denoformers/core";
 * import { registerBuiltinModels } from "@denoformers/models";
 *
 * const registry = registerBuiltinModels(new ModelRegistry());
 * assert(registry.has("llama"));
 * ```
 *
 * @module
 */

import { defaultRegistry, type ModelPlugin, type ModelRegistry } from "@denoformers/core";
import { bert } from "./bert/mod.ts";
import { gpt2 } from "./gpt2/mod.ts";
import { llama } from "./llama/mod.ts";

export { DynamicCache } from "./cache.ts";
export { type CausalLm, generate, type GenerateOptions } from "./generate.ts";
export type {
  BaseModelOptions,
  BaseModelOutput,
  BaseModelOutputWithPooling,
  LMOptions,
  LMOutput,
} from "./outputs.ts";
export * from "./bert/mod.ts";
export * from "./gpt2/mod.ts";
export * from "./llama/mod.ts";

/**
 * The built-in architectures, in one explicit list.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { BUILTIN_MODELS } from "@denoformers/models";
 *
 * assert(BUILTIN_MODELS.some((p) => p.modelType === "llama"));
 * ```
 */
export const BUILTIN_MODELS: readonly ModelPlugin[] = [bert, gpt2, llama];

/**
 * Registers every built-in architecture (skipping types already registered).
 *
 * @param registry The registry. @default {defaultRegistry}
 * @returns The registry.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { defaultRegistry } from "@denoformers/core";
 * import { registerBuiltinModels } from "@denoformers/models";
 *
 * assert(registerBuiltinModels().has("llama") && defaultRegistry.has("llama"));
 * ```
 */
export function registerBuiltinModels(registry: ModelRegistry = defaultRegistry): ModelRegistry {
  for (const plugin of BUILTIN_MODELS) {
    if (!registry.has(plugin.modelType)) registry.register(plugin);
  }
  return registry;
}
