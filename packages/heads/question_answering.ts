/**
 * `GenericForQuestionAnswering`: extractive span scoring with `qa_outputs = Linear(h → 2)` on a
 * base model (Hugging Face `modeling_layers.py`).
 *
 * @module
 */

import { Linear, type PretrainedConfig } from "@denoformers/core";
import type { Tensor } from "@denoformers/core";
import { callBaseModel, layerOptionsLike } from "./_common.ts";
import { GenericHead } from "./generic_head.ts";
import { forQuestionAnsweringLoss, type QuestionAnsweringLoss } from "./losses.ts";
import type {
  BaseModelOptions,
  GenericHeadOptions,
  QuestionAnsweringModelOutput,
} from "./types.ts";

/** Options of {@linkcode GenericForQuestionAnswering.forward}. */
export interface QuestionAnsweringOptions extends BaseModelOptions {
  /** int32 span starts `[B]`; the loss needs both positions. @default {undefined} */
  startPositions?: Tensor | null;
  /** int32 span ends `[B]`; the loss needs both positions. @default {undefined} */
  endPositions?: Tensor | null;
  /** Normalise each cross-entropy by this count instead of averaging. @default {undefined} */
  numItemsInBatch?: number | Tensor;
}

/**
 * Question answering on top of any registered base model, as Hugging Face's
 * `GenericForQuestionAnswering`: `qa_outputs = Linear(hidden_size → 2)` (with bias) gives `[B, S, 2]`,
 * split into start and end logits `[B, S]`. With both positions the loss is
 * {@linkcode forQuestionAnsweringLoss} (positions clamped to `[0, S]`, `S` ignored).
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Embedding, PretrainedConfig, PreTrainedModel, type Tensor, tensor } from "@denoformers/core";
 * import { GenericForQuestionAnswering } from "@denoformers/heads";
 *
 * class Toy extends PreTrainedModel {
 *   readonly baseModelPrefix = "model";
 *   embed_tokens = new Embedding(10, 4, { backend: "cpu" });
 *   forward(ids: Tensor) {
 *     return { lastHiddenState: this.embed_tokens.call(ids) };
 *   }
 * }
 * const config = new PretrainedConfig({ hidden_size: 4 });
 * const model = new GenericForQuestionAnswering(config, { baseModel: new Toy(config) });
 * const ids = tensor([[5, 6, 2, 3]], { dtype: "int32", backend: "cpu" });
 * const out = model.call(ids);
 * assertEquals([out.startLogits.shape, out.endLogits.shape], [[1, 4], [1, 4]]);
 * assertEquals(Object.keys(model.stateDict()).slice(1), ["qa_outputs.weight", "qa_outputs.bias"]);
 * ```
 */
export class GenericForQuestionAnswering extends GenericHead<QuestionAnsweringLoss> {
  /** `Linear(hidden_size → 2)`: start and end scores. */
  declare qa_outputs: Linear;

  /**
   * Builds the base model through the registry (or wraps `options.baseModel`) and `qa_outputs`.
   *
   * @param config The config (`hidden_size`).
   * @param options registry, baseModel and baseModelPrefix.
   * @throws {RangeError} When `config.model_type` is not registered and no base model is given.
   * @throws {TypeError} When `config.hidden_size` is not a positive integer.
   */
  constructor(config: PretrainedConfig, options: GenericHeadOptions = {}) {
    super(config, options, forQuestionAnsweringLoss);
    this.qa_outputs = new Linear(this.hiddenSize, 2, layerOptionsLike(this.baseModel));
    this.postInit();
  }

  /**
   * Runs the base model and scores span starts and ends.
   *
   * @param inputIds int32 ids `[B, S]` (or null with `inputsEmbeds`).
   * @param options Base-model options, startPositions, endPositions and numItemsInBatch.
   * @returns Start and end logits `[B, S]`, the loss when both positions were given, and the base
   * model's hidden states and attentions.
   */
  forward(
    inputIds: Tensor | null,
    options: QuestionAnsweringOptions = {},
  ): QuestionAnsweringModelOutput {
    const { startPositions, endPositions, numItemsInBatch, ...baseOptions } = options;
    const out = callBaseModel(this, inputIds, baseOptions);
    const logits = this.qa_outputs.call(out.lastHiddenState); // (B, S, 2)
    const [start, end] = logits.split(1, -1);
    const result: QuestionAnsweringModelOutput = {
      startLogits: start.squeeze(-1).contiguous(),
      endLogits: end.squeeze(-1).contiguous(),
    };
    if (startPositions && endPositions) {
      result.loss = this.lossFunction(result.startLogits, result.endLogits, {
        startPositions,
        endPositions,
        numItemsInBatch,
      });
    }
    if (out.hiddenStates) result.hiddenStates = out.hiddenStates;
    if (out.attentions) result.attentions = out.attentions;
    return result;
  }
}
