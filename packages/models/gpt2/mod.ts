/**
 * GPT-2 for `@denoformers/models`: the config, the layers, `GPT2Model`, `GPT2LMHeadModel`, and the
 * registry plugin `gpt2` that lets `AutoModel` and the task heads build them from a
 * `config.json` with `"model_type": "gpt2"`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { AutoModel, ModelRegistry } from "@denoformers/core";
 * import { gpt2 } from "./mod.ts";
 *
 * const registry = new ModelRegistry().register(gpt2);
 * const config = gpt2.parseConfig({ vocab_size: 16, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 });
 * const model = AutoModel.fromConfig(config, { registry });
 * assertEquals(Object.keys(model.stateDict())[0], "wte.weight");
 * assertEquals(gpt2.heads!.causalLm!(config).baseModelPrefix, "transformer");
 * ```
 *
 * @module
 */

import type { ModelPlugin, PretrainedConfig } from "@denoformers/core";
import { GPT2Config } from "./config.ts";
import { GPT2Block, GPT2LMHeadModel, GPT2Model } from "./modeling.ts";

export { GPT2Config } from "./config.ts";
export { GPT2Attention, GPT2Block, GPT2LMHeadModel, GPT2MLP, GPT2Model } from "./modeling.ts";
export type {
  GPT2AttentionOptions,
  GPT2AttentionOutput,
  GPT2BlockOptions,
  GPT2BlockOutput,
} from "./types.ts";

/** A GPT-2 config from any config (a plain `PretrainedConfig` is re-read as a `GPT2Config`). */
function asGPT2Config(config: PretrainedConfig): GPT2Config {
  if (config instanceof GPT2Config) return config;
  const again = new GPT2Config(config.toDict());
  again._attn_implementation = config._attn_implementation;
  return again;
}

/**
 * The GPT-2 registry plugin: `model_type` `"gpt2"`, base model {@linkcode GPT2Model} under
 * `transformer`, the causal LM head {@linkcode GPT2LMHeadModel}, and {@linkcode GPT2Block} as the
 * checkpointed layer. Other tasks fall back to the generic heads.
 *
 * @example Usage
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { GPT2Block, gpt2 } from "./mod.ts";
 *
 * const config = gpt2.parseConfig({ n_embd: 8, n_head: 2, n_layer: 1, vocab_size: 8, n_positions: 4 });
 * assertEquals([gpt2.modelType, gpt2.baseModelPrefix, config.hidden_size], ["gpt2", "transformer", 8]);
 * assert(gpt2.checkpointLayers!(new GPT2Block(config)));
 * ```
 */
export const gpt2: ModelPlugin<GPT2Config> = {
  modelType: "gpt2",
  parseConfig: (values: Record<string, unknown>): GPT2Config => new GPT2Config(values),
  createBaseModel: (config: GPT2Config): GPT2Model => new GPT2Model(asGPT2Config(config)),
  baseModelPrefix: "transformer",
  heads: {
    causalLm: (config: GPT2Config): GPT2LMHeadModel => new GPT2LMHeadModel(asGPT2Config(config)),
  },
  checkpointLayers: (m) => m instanceof GPT2Block,
};
