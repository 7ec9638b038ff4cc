/**
 * `AutoModelForSequenceClassification`, `AutoModelForQuestionAnswering` and
 * `AutoModelForTokenClassification`: a plugin's own head when it registers one, else the generic
 * head wrapping the plugin's base model under its `baseModelPrefix`.
 *
 * @module
 */

import {
  autoClass,
  type AutoModelClass,
  type FromPretrainedOptions,
  type PretrainedConfig,
  type PreTrainedModel,
  type RegistryOptions,
  type Tensor,
} from "@denoformers/core";
import {
  GenericForQuestionAnswering,
  type QuestionAnsweringOptions,
} from "./question_answering.ts";
import {
  GenericForSequenceClassification,
  type SequenceClassificationOptions,
} from "./sequence_classification.ts";
import {
  GenericForTokenClassification,
  type TokenClassificationOptions,
} from "./token_classification.ts";
import type {
  QuestionAnsweringModelOutput,
  SequenceClassifierOutputWithPast,
  TokenClassifierOutput,
} from "./types.ts";

/** A sequence-classification model: the generic head or a plugin's own, with the same call. */
export interface SequenceClassificationModel extends PreTrainedModel {
  /** Classifies each sequence. */
  forward(
    inputIds: Tensor | null,
    options?: SequenceClassificationOptions,
  ): SequenceClassifierOutputWithPast;
}

/** A question-answering model: the generic head or a plugin's own, with the same call. */
export interface QuestionAnsweringModel extends PreTrainedModel {
  /** Scores span starts and ends. */
  forward(
    inputIds: Tensor | null,
    options?: QuestionAnsweringOptions,
  ): QuestionAnsweringModelOutput;
}

/** A token-classification model: the generic head or a plugin's own, with the same call. */
export interface TokenClassificationModel extends PreTrainedModel {
  /** Classifies each token. */
  forward(inputIds: Tensor | null, options?: TokenClassificationOptions): TokenClassifierOutput;
}

/** An `AutoModelClass` whose models have the task's call signature. */
export interface AutoModelForTask<M extends PreTrainedModel> extends AutoModelClass {
  /** Builds a freshly initialised model for `config`. */
  fromConfig(config: PretrainedConfig, options?: RegistryOptions): M;
  /** Builds a model from a checkpoint directory or URL and loads its weights. */
  fromPretrained(
    location: string | URL,
    options?: RegistryOptions & FromPretrainedOptions,
  ): Promise<M>;
}

/**
 * Builds sequence-classification models: the plugin's `heads.sequenceClassification`, else
 * {@linkcode GenericForSequenceClassification} around the plugin's base model.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { Embedding, ModelRegistry, PretrainedConfig, PreTrainedModel, type Tensor } from "@denoformers/core";
 * import { AutoModelForSequenceClassification, GenericForSequenceClassification } from "@denoformers/heads";
 *
 * class Toy extends PreTrainedModel {
 *   readonly baseModelPrefix = "transformer";
 *   embed_tokens = new Embedding(10, 4, { backend: "cpu" });
 *   forward(ids: Tensor) {
 *     return { lastHiddenState: this.embed_tokens.call(ids) };
 *   }
 * }
 * const registry = new ModelRegistry().register({
 *   modelType: "toy",
 *   parseConfig: (values) => new PretrainedConfig(values),
 *   createBaseModel: (config) => new Toy(config),
 *   baseModelPrefix: "transformer",
 * });
 * const config = new PretrainedConfig({ model_type: "toy", hidden_size: 4 });
 * const model = AutoModelForSequenceClassification.fromConfig(config, { registry });
 * assert(model instanceof GenericForSequenceClassification);
 * assert("transformer.embed_tokens.weight" in model.stateDict());
 * ```
 */
export const AutoModelForSequenceClassification: AutoModelForTask<SequenceClassificationModel> =
  autoClass(
    "sequenceClassification",
    (baseModel, config, registry) =>
      new GenericForSequenceClassification(config, { registry, baseModel }),
  ) as AutoModelForTask<SequenceClassificationModel>;

/**
 * Builds question-answering models: the plugin's `heads.questionAnswering`, else
 * {@linkcode GenericForQuestionAnswering} around the plugin's base model.
 *
 * @example Usage
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { ModelRegistry, PretrainedConfig } from "@denoformers/core";
 * import { AutoModelForQuestionAnswering } from "@denoformers/heads";
 *
 * const config = new PretrainedConfig({ model_type: "unknown", hidden_size: 4 });
 * assertThrows(
 *   () => AutoModelForQuestionAnswering.fromConfig(config, { registry: new ModelRegistry() }),
 *   RangeError,
 *   "unknown",
 * );
 * ```
 */
export const AutoModelForQuestionAnswering: AutoModelForTask<QuestionAnsweringModel> = autoClass(
  "questionAnswering",
  (baseModel, config, registry) => new GenericForQuestionAnswering(config, { registry, baseModel }),
) as AutoModelForTask<QuestionAnsweringModel>;

/**
 * Builds token-classification models: the plugin's `heads.tokenClassification`, else
 * {@linkcode GenericForTokenClassification} around the plugin's base model.
 *
 * @example Usage
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { ModelRegistry, PretrainedConfig } from "@denoformers/core";
 * import { AutoModelForTokenClassification } from "@denoformers/heads";
 *
 * const config = new PretrainedConfig({ model_type: "unknown", hidden_size: 4 });
 * assertThrows(
 *   () => AutoModelForTokenClassification.fromConfig(config, { registry: new ModelRegistry() }),
 *   RangeError,
 *   "is not registered",
 * );
 * ```
 */
export const AutoModelForTokenClassification: AutoModelForTask<TokenClassificationModel> =
  autoClass(
    "tokenClassification",
    (baseModel, config, registry) =>
      new GenericForTokenClassification(config, { registry, baseModel }),
  ) as AutoModelForTask<TokenClassificationModel>;
