/**
 * BERT: `BertConfig`, the model classes with Hugging Face's weight names, and the registry
 * plugin `bert` (base model `BertModel`, masked-LM head `BertForMaskedLM`).
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { AutoModel, ModelRegistry, tensor } from "@denoformers/core";
 * import { bert, BertConfig } from "./mod.ts";
 *
 * const registry = new ModelRegistry().register(bert);
 * const config = new BertConfig({ hidden_size: 8, num_attention_heads: 2, num_hidden_layers: 1 });
 * const model = AutoModel.fromConfig(config, { registry });
 * assertEquals(Object.keys(model.stateDict())[0], "embeddings.word_embeddings.weight");
 * ```
 *
 * @module
 */

import type { ModelPlugin } from "@denoformers/core";
import { BertConfig } from "./config.ts";
import { BertLayer } from "./layers.ts";
import { BertForMaskedLM, BertModel } from "./modeling.ts";
import {
  BertForQuestionAnswering,
  BertForSequenceClassification,
  BertForTokenClassification,
} from "./heads.ts";

export {
  BertForQuestionAnswering,
  BertForSequenceClassification,
  BertForTokenClassification,
  type BertHeadOptions,
  BertTaskModel,
} from "./heads.ts";

export { BertConfig } from "./config.ts";
export {
  BertAttention,
  BertEmbeddings,
  BertEncoder,
  BertIntermediate,
  BertLayer,
  type BertLayerOptions,
  type BertLayerOutput,
  BertOutput,
  BertPooler,
  BertSelfAttention,
  BertSelfOutput,
} from "./layers.ts";
export {
  BertForMaskedLM,
  BertLMPredictionHead,
  BertModel,
  type BertModelOptions,
  BertOnlyMLMHead,
  BertPredictionHeadTransform,
  BertPreTrainedModel,
} from "./modeling.ts";

/**
 * The registry plugin for `model_type: "bert"`: parses `BertConfig`, builds `BertModel`, provides
 * the `maskedLm` head and checkpoints every `BertLayer`.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { autoClass, ModelRegistry } from "@denoformers/core";
 * import { bert, BertForMaskedLM } from "./mod.ts";
 *
 * const registry = new ModelRegistry().register(bert);
 * const config = bert.parseConfig({ hidden_size: 8, num_attention_heads: 2, num_hidden_layers: 1 });
 * assert(autoClass("maskedLm").fromConfig(config, { registry }) instanceof BertForMaskedLM);
 * ```
 */
export const bert: ModelPlugin<BertConfig> = {
  modelType: "bert",
  parseConfig: (values) => new BertConfig(values),
  createBaseModel: (config) => new BertModel(config),
  baseModelPrefix: "bert",
  heads: {
    maskedLm: (config) => new BertForMaskedLM(config),
    sequenceClassification: (config) => new BertForSequenceClassification(config),
    tokenClassification: (config) => new BertForTokenClassification(config),
    questionAnswering: (config) => new BertForQuestionAnswering(config),
  },
  checkpointLayers: (m) => m instanceof BertLayer,
};
