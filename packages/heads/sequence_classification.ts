/**
 * `GenericForSequenceClassification`: a bias-free `score` layer on every position of a base
 * model, pooled at each row's rightmost non-padding token (Hugging Face `modeling_layers.py`).
 *
 * @module
 */

import { arange, Linear, type PretrainedConfig } from "@denoformers/core";
import type { Tensor } from "@denoformers/core";
import { callBaseModel, layerOptionsLike, warnOnce } from "./_common.ts";
import { GenericHead } from "./generic_head.ts";
import { forSequenceClassificationLoss, type SequenceClassificationLoss } from "./losses.ts";
import type {
  BaseModelOptions,
  GenericHeadOptions,
  SequenceClassifierOutputWithPast,
} from "./types.ts";

/** Options of {@linkcode GenericForSequenceClassification.forward}. */
export interface SequenceClassificationOptions extends BaseModelOptions {
  /** int32 classes `[B]`, float targets `[B, C]`, or regression values `[B]`. @default {undefined} */
  labels?: Tensor | null;
  /** Normalise the single-label loss by this count instead of averaging. @default {undefined} */
  numItemsInBatch?: number | Tensor;
}

/**
 * The position of each row's rightmost token that is not `padTokenId`, as int32 `[B]`
 * (`argmax_t(t · [id ≠ pad])`, the first maximum). Left, right and two-sided padding all work; a row
 * that is all padding, or whose only real token is at position 0, gives 0.
 *
 * @param inputIds int32 token ids `[B, S]`.
 * @param padTokenId The padding id.
 * @returns int32 indices `[B]`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { lastNonPadToken } from "@denoformers/heads";
 *
 * const ids = tensor([[5, 6, 0, 0], [0, 0, 5, 6], [5, 0, 6, 0]], { dtype: "int32", backend: "cpu" });
 * assertEquals(await lastNonPadToken(ids, 0).toArray(), [1, 3, 2]);
 * ```
 */
export function lastNonPadToken(inputIds: Tensor, padTokenId: number): Tensor {
  const seq = inputIds.shape[inputIds.ndim - 1];
  const positions = arange(0, seq, 1, { dtype: "int32", backend: inputIds.backend });
  return inputIds.ne(padTokenId).cast("int32").mul(positions).argmax(-1);
}

/**
 * Sequence classification on top of any registered base model, as Hugging Face's
 * `GenericForSequenceClassification`: the base model lives under the plugin's `baseModelPrefix`
 * (state-dict keys `<prefix>.*`), `score = Linear(hidden_size → num_labels, bias=false)` scores
 * every position, and the logits of each row's last non-padding token are returned. Without
 * `config.pad_token_id` only batches of one are accepted (their last position is used); with
 * `inputsEmbeds` the last position is used and a warning is logged once.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Embedding, PretrainedConfig, PreTrainedModel, type Tensor, tensor } from "@denoformers/core";
 * import { GenericForSequenceClassification } from "@denoformers/heads";
 *
 * class Toy extends PreTrainedModel {
 *   readonly baseModelPrefix = "model";
 *   embed_tokens = new Embedding(10, 4, { backend: "cpu" });
 *   forward(ids: Tensor) {
 *     return { lastHiddenState: this.embed_tokens.call(ids) };
 *   }
 * }
 * const config = new PretrainedConfig({ hidden_size: 4, num_labels: 3, pad_token_id: 0 });
 * const model = new GenericForSequenceClassification(config, { baseModel: new Toy(config) });
 * const ids = tensor([[5, 6, 0], [0, 7, 8]], { dtype: "int32", backend: "cpu" });
 * const out = model.call(ids, { labels: tensor([2, 0], { dtype: "int32", backend: "cpu" }) });
 * assertEquals(out.logits.shape, [2, 3]);
 * assertEquals(Object.keys(model.stateDict()), ["model.embed_tokens.weight", "score.weight"]);
 * assertEquals(config.problem_type, "single_label_classification");
 * ```
 */
export class GenericForSequenceClassification extends GenericHead<SequenceClassificationLoss> {
  /** `config.num_labels` at construction. */
  readonly numLabels: number;
  /** `Linear(hidden_size → num_labels)` without bias. */
  declare score: Linear;

  /**
   * Builds the base model through the registry (or wraps `options.baseModel`) and the score layer.
   *
   * @param config The config (`hidden_size`, `num_labels`, `pad_token_id`, `problem_type`).
   * @param options registry, baseModel and baseModelPrefix.
   * @throws {RangeError} When `config.model_type` is not registered and no base model is given.
   * @throws {TypeError} When `config.hidden_size` is not a positive integer.
   */
  constructor(config: PretrainedConfig, options: GenericHeadOptions = {}) {
    super(config, options, forSequenceClassificationLoss);
    this.numLabels = config.num_labels;
    this.score = new Linear(this.hiddenSize, this.numLabels, {
      ...layerOptionsLike(this.baseModel),
      bias: false,
    });
    this.postInit();
  }

  /**
   * Runs the base model, scores every position and pools each row at its last non-padding token.
   *
   * @param inputIds int32 ids `[B, S]` (or null with `inputsEmbeds`).
   * @param options Base-model options, labels and numItemsInBatch.
   * @returns Pooled logits `[B, num_labels]`, the loss when labels were given, and the base
   * model's cache, hidden states and attentions.
   * @throws {RangeError} For batches larger than one without `config.pad_token_id`.
   */
  forward(
    inputIds: Tensor | null,
    options: SequenceClassificationOptions = {},
  ): SequenceClassifierOutputWithPast {
    const { labels, numItemsInBatch, ...baseOptions } = options;
    const out = callBaseModel(this, inputIds, baseOptions);
    const logits = this.score.call(out.lastHiddenState); // (B, S, C)
    const [batch, , classes] = logits.shape;
    const pad = this.config.pad_token_id;
    let pooled: Tensor;
    if (pad === null || pad === undefined) {
      if (batch !== 1) {
        throw new RangeError(
          `Cannot handle batch sizes > 1 if no padding token is defined: batch size is ${batch} and config.pad_token_id is ${pad}`,
        );
      }
      pooled = logits.slice(1, -1).squeeze(1);
    } else if (inputIds) {
      const index = lastNonPadToken(inputIds, pad).reshape([batch, 1, 1]);
      pooled = logits.gather(1, index.expand([batch, 1, classes])).squeeze(1);
    } else {
      warnOnce(
        `${this.constructor.name} will not detect padding tokens in \`inputs_embeds\`. Results may be unexpected if using padding tokens in conjunction with \`inputs_embeds.\``,
      );
      pooled = logits.slice(1, -1).squeeze(1);
    }
    const result: SequenceClassifierOutputWithPast = { logits: pooled };
    if (labels) {
      result.loss = this.lossFunction(pooled, labels, {
        config: this.config,
        logits,
        numItemsInBatch,
      });
    }
    if (out.pastKeyValues !== undefined) result.pastKeyValues = out.pastKeyValues;
    if (out.hiddenStates) result.hiddenStates = out.hiddenStates;
    if (out.attentions) result.attentions = out.attentions;
    return result;
  }
}
