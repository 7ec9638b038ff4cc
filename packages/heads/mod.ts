/**
 * Task heads with Hugging Face's semantics, generic over any base model registered with
 * `@denoformers/core`'s `ModelRegistry`:
 *
 * - `GenericForSequenceClassification` (pooled at each row's rightmost non-padding token),
 *   `GenericForQuestionAnswering` and `GenericForTokenClassification`, which hold the base model
 *   under the plugin's `baseModelPrefix`, so their weights carry Hugging Face's names
 *   (`model.*` + `score.weight`, `qa_outputs.*`, ...);
 * - `AutoModelForSequenceClassification`, `AutoModelForQuestionAnswering`,
 *   `AutoModelForTokenClassification`: a plugin's own head, else the generic one;
 * - the task losses (`forSequenceClassificationLoss` with problem-type inference,
 *   `forQuestionAnsweringLoss`, `forTokenClassificationLoss`), each overridable per model through
 *   `lossFunction`;
 * - the v4.34 XLNet/XLM heads `PoolerStartLogits`, `PoolerEndLogits`, `PoolerAnswerClass`,
 *   `SQuADHead` and `SequenceSummary`, with their original weight names.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import {
 *   Embedding,
 *   ModelRegistry,
 *   PretrainedConfig,
 *   PreTrainedModel,
 *   type Tensor,
 *   tensor,
 * } from "@denoformers/core";
 * import { AutoModelForSequenceClassification } from "@denoformers/heads";
 *
 * // A base model: ids [B, S] -> { lastHiddenState: [B, S, hidden_size] }.
 * class Toy extends PreTrainedModel {
 *   readonly baseModelPrefix = "model";
 *   embed_tokens = new Embedding(10, 4, { backend: "cpu" });
 *   forward(ids: Tensor) {
 *     return { lastHiddenState: this.embed_tokens.call(ids).tanh() };
 *   }
 * }
 * const registry = new ModelRegistry().register({
 *   modelType: "toy",
 *   parseConfig: (values) => new PretrainedConfig(values),
 *   createBaseModel: (config) => new Toy(config),
 *   baseModelPrefix: "model",
 * });
 *
 * const config = new PretrainedConfig({ model_type: "toy", hidden_size: 4, num_labels: 3, pad_token_id: 0 });
 * const model = AutoModelForSequenceClassification.fromConfig(config, { registry });
 * const ids = tensor([[0, 0, 5, 6], [7, 8, 0, 0]], { dtype: "int32", backend: "cpu" });
 * const labels = tensor([2, 1], { dtype: "int32", backend: "cpu" });
 * const { loss, logits } = model.call(ids, { labels });
 * assertEquals(logits.shape, [2, 3]);
 * assertEquals(loss!.shape, []);
 * assertEquals(Object.keys(model.stateDict()), ["model.embed_tokens.weight", "score.weight"]);
 * ```
 *
 * @module
 */

export type {
  BaseModel,
  BaseModelOptions,
  BaseModelOutputWithPast,
  GenericHeadOptions,
  QuestionAnsweringModelOutput,
  SequenceClassifierOutputWithPast,
  TokenClassifierOutput,
} from "./types.ts";
export {
  forQuestionAnsweringLoss,
  forSequenceClassificationLoss,
  forTokenClassificationLoss,
  type QuestionAnsweringLoss,
  type QuestionAnsweringLossOptions,
  type SequenceClassificationLoss,
  type SequenceClassificationLossOptions,
  type TokenClassificationLoss,
  type TokenClassificationLossOptions,
} from "./losses.ts";
export {
  GenericForSequenceClassification,
  lastNonPadToken,
  type SequenceClassificationOptions,
} from "./sequence_classification.ts";
export {
  GenericForQuestionAnswering,
  type QuestionAnsweringOptions,
} from "./question_answering.ts";
export {
  GenericForTokenClassification,
  type TokenClassificationOptions,
  tokenClassifierDropout,
} from "./token_classification.ts";
export {
  AutoModelForQuestionAnswering,
  AutoModelForSequenceClassification,
  type AutoModelForTask,
  AutoModelForTokenClassification,
  type QuestionAnsweringModel,
  type SequenceClassificationModel,
  type TokenClassificationModel,
} from "./auto.ts";
export { GenericHead } from "./generic_head.ts";
export { PoolerStartLogits } from "./pooler_start_logits.ts";
export { PoolerEndLogits, type PoolerEndLogitsOptions } from "./pooler_end_logits.ts";
export { PoolerAnswerClass, type PoolerAnswerClassOptions } from "./pooler_answer_class.ts";
export { SQuADHead, type SquadHeadOptions, type SquadHeadOutput } from "./squad_head.ts";
export { SequenceSummary, type SummaryType } from "./sequence_summary.ts";
