/**
 * Llama for `@denoformers/models`: the configuration, the model classes, and the registry plugin
 * `llama` (model type `"llama"`, base model `LlamaModel` under `"model"`, causal-LM head
 * `LlamaForCausalLM`, checkpointing of `LlamaDecoderLayer`s).
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { AutoConfig, autoClass, ModelRegistry, tensor, withBackend } from "@denoformers/core";
 * import { llama, LlamaForCausalLM } from "./mod.ts";
 *
 * const registry = new ModelRegistry().register(llama);
 * const config = AutoConfig.fromDict({
 *   model_type: "llama", vocab_size: 32, hidden_size: 16, intermediate_size: 32,
 *   num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 2,
 * }, { registry });
 * const AutoModelForCausalLM = autoClass("causalLm");
 * const lm = await withBackend("cpu", () => AutoModelForCausalLM.fromConfig(config, { registry }));
 * assertEquals(lm instanceof LlamaForCausalLM, true);
 * const ids = tensor([[1, 2, 3]], { dtype: "int32", backend: "cpu" });
 * assertEquals((lm as LlamaForCausalLM).call(ids, {}).logits.shape, [1, 3, 32]);
 * ```
 *
 * @module
 */

import type { ModelPlugin } from "@denoformers/core";
import { LlamaConfig } from "./config.ts";
import { LlamaDecoderLayer, LlamaForCausalLM, LlamaModel } from "./modeling.ts";

export { LlamaConfig } from "./config.ts";
export {
  LlamaAttention,
  type LlamaAttentionOptions,
  type LlamaAttentionOutput,
  LlamaDecoderLayer,
  type LlamaDecoderLayerOutput,
  LlamaForCausalLM,
  type LlamaForCausalLMOptions,
  LlamaMLP,
  LlamaModel,
  LlamaPreTrainedModel,
} from "./modeling.ts";

/**
 * The registry plugin of Llama.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { AutoModel, ModelRegistry, PretrainedConfig, withBackend } from "@denoformers/core";
 * import { llama, LlamaModel } from "./mod.ts";
 *
 * const registry = new ModelRegistry().register(llama);
 * const config = llama.parseConfig({
 *   vocab_size: 10, hidden_size: 8, intermediate_size: 8, num_attention_heads: 2,
 *   num_hidden_layers: 1,
 * });
 * const model = await withBackend("cpu", () => AutoModel.fromConfig(config, { registry }));
 * assert(model instanceof LlamaModel && config instanceof PretrainedConfig);
 * assert(llama.checkpointLayers!((model as LlamaModel).layers[0]));
 * ```
 */
export const llama: ModelPlugin<LlamaConfig> = {
  modelType: "llama",
  parseConfig: (values) => new LlamaConfig(values),
  createBaseModel: (config) => new LlamaModel(config),
  baseModelPrefix: "model",
  heads: { causalLm: (config) => new LlamaForCausalLM(config) },
  checkpointLayers: (m) => m instanceof LlamaDecoderLayer,
};
