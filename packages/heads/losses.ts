/**
 * The task losses of the generic heads with Hugging Face's semantics (`loss_utils.py`):
 * sequence classification (problem-type inference written back to the config), question
 * answering (clamped positions, out-of-range ignored) and token classification (ignore -100),
 * each honouring `numItemsInBatch` where Hugging Face does.
 *
 * @module
 */

import {
  bceWithLogits,
  crossEntropy,
  mseLoss,
  type PretrainedConfig,
  type ProblemType,
  ShapeError,
  type Tensor,
} from "@denoformers/core";
import { squeezeLast } from "./_common.ts";

/** Options of {@linkcode forSequenceClassificationLoss}. */
export interface SequenceClassificationLossOptions {
  /** The model config: `num_labels` and `problem_type` (set here on first use when null). */
  config: PretrainedConfig;
  /** Logits at every position `[B, S, C]` (unused by the default loss; for custom losses). @default {undefined} */
  logits?: Tensor;
  /** Divide the summed single-label cross-entropy by this instead of averaging. @default {undefined} */
  numItemsInBatch?: number | Tensor;
}

/** Options of {@linkcode forQuestionAnsweringLoss}. */
export interface QuestionAnsweringLossOptions {
  /** int32 start positions `[B]` (or `[B, 1]`). */
  startPositions: Tensor;
  /** int32 end positions `[B]` (or `[B, 1]`). */
  endPositions: Tensor;
  /** Divide each summed cross-entropy by this instead of averaging. @default {undefined} */
  numItemsInBatch?: number | Tensor;
}

/** Options of {@linkcode forTokenClassificationLoss}. */
export interface TokenClassificationLossOptions {
  /** The model config (unused by the default loss; for custom losses). @default {undefined} */
  config?: PretrainedConfig;
  /** Label value that contributes nothing. @default {-100} */
  ignoreIndex?: number;
  /** Divide the summed cross-entropy by this instead of averaging. @default {undefined} */
  numItemsInBatch?: number | Tensor;
}

/** The signature of a sequence-classification loss (the default or a user override). */
export type SequenceClassificationLoss = (
  pooledLogits: Tensor,
  labels: Tensor,
  options: SequenceClassificationLossOptions,
) => Tensor;

/** The signature of a question-answering loss (the default or a user override). */
export type QuestionAnsweringLoss = (
  startLogits: Tensor,
  endLogits: Tensor,
  options: QuestionAnsweringLossOptions,
) => Tensor;

/** The signature of a token-classification loss (the default or a user override). */
export type TokenClassificationLoss = (
  logits: Tensor,
  labels: Tensor,
  options: TokenClassificationLossOptions,
) => Tensor;

const PROBLEM_TYPES: readonly ProblemType[] = [
  "regression",
  "single_label_classification",
  "multi_label_classification",
];

/**
 * Hugging Face's `ForSequenceClassificationLoss`. When `config.problem_type` is null it is set on
 * the config for good: `num_labels` 1 → `"regression"`; int32 labels → `"single_label_classification"`;
 * anything else (float or bool labels) → `"multi_label_classification"`. Then regression is the
 * mean squared error (on squeezed values when `num_labels` is 1), single-label is cross-entropy
 * over `[B, C]` (ignoring -100, with `numItemsInBatch`), multi-label is mean binary
 * cross-entropy with logits against `[B, C]` targets.
 *
 * @param pooledLogits Pooled logits `[B, C]`.
 * @param labels Labels: int32 `[B]` classes, float `[B, C]` targets, or `[B]` values for regression.
 * @param options config, logits and numItemsInBatch.
 * @returns The scalar loss.
 * @throws {RangeError} When `config.problem_type` is not one of the three types.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals, assertEquals } from "@std/assert";
 * import { PretrainedConfig, tensor, zeros } from "@denoformers/core";
 * import { forSequenceClassificationLoss } from "@denoformers/heads";
 *
 * const config = new PretrainedConfig({ num_labels: 4 });
 * const labels = tensor([2, 0], { dtype: "int32", backend: "cpu" });
 * const loss = forSequenceClassificationLoss(zeros([2, 4], { backend: "cpu" }), labels, { config });
 * assertAlmostEquals(await loss.item(), Math.log(4), 1e-6);
 * assertEquals(config.problem_type, "single_label_classification");
 * ```
 */
export function forSequenceClassificationLoss(
  pooledLogits: Tensor,
  labels: Tensor,
  options: SequenceClassificationLossOptions,
): Tensor {
  const { config, numItemsInBatch } = options;
  const numLabels = config.num_labels;
  if (config.problem_type === null || config.problem_type === undefined) {
    config.problem_type = numLabels === 1
      ? "regression"
      : labels.dtype === "int32"
      ? "single_label_classification"
      : "multi_label_classification";
  }
  switch (config.problem_type) {
    case "regression":
      return numLabels === 1
        ? mseLoss(pooledLogits.squeeze(), labels.squeeze())
        : mseLoss(pooledLogits, labels);
    case "single_label_classification":
      return crossEntropy(pooledLogits.reshape([-1, numLabels]), labels.reshape([-1]), {
        numItemsInBatch,
      });
    case "multi_label_classification":
      return bceWithLogits(pooledLogits, labels);
    default:
      throw new RangeError(
        `Cannot compute the sequence classification loss: invalid problem type "${config.problem_type}", expected one of ${
          PROBLEM_TYPES.map((p) => `"${p}"`).join(", ")
        }`,
      );
  }
}

/**
 * Hugging Face's `ForQuestionAnsweringLoss`: positions with a trailing size-1 dimension are
 * squeezed, both are clamped to `[0, S]`, position `S` (out of range) is ignored, and the loss is
 * the mean of the start and end cross-entropies. Negative positions clamp to 0 and count.
 *
 * @param startLogits Span-start logits `[B, S]`.
 * @param endLogits Span-end logits `[B, S]`.
 * @param options startPositions, endPositions and numItemsInBatch.
 * @returns The scalar loss (NaN when every position is ignored and no `numItemsInBatch` is given).
 * @throws {ShapeError} When the logits are not `[B, S]`.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * import { tensor, zeros } from "@denoformers/core";
 * import { forQuestionAnsweringLoss } from "@denoformers/heads";
 *
 * const logits = zeros([2, 4], { backend: "cpu" });
 * const loss = forQuestionAnsweringLoss(logits, logits, {
 *   startPositions: tensor([1, 9], { dtype: "int32", backend: "cpu" }), // 9 → 4: ignored
 *   endPositions: tensor([[-3], [2]], { dtype: "int32", backend: "cpu" }), // -3 → 0: counted
 * });
 * assertAlmostEquals(await loss.item(), Math.log(4), 1e-6);
 * ```
 */
export function forQuestionAnsweringLoss(
  startLogits: Tensor,
  endLogits: Tensor,
  options: QuestionAnsweringLossOptions,
): Tensor {
  if (startLogits.ndim !== 2) {
    throw new ShapeError(
      "forQuestionAnsweringLoss",
      `Cannot compute forQuestionAnsweringLoss: start logits have shape [${
        startLogits.shape.join(", ")
      }], expected [B, S]`,
      [startLogits.shape],
    );
  }
  const ignored = startLogits.shape[1];
  const { numItemsInBatch } = options;
  const start = squeezeLast(options.startPositions).clamp(0, ignored);
  const end = squeezeLast(options.endPositions).clamp(0, ignored);
  const startLoss = crossEntropy(startLogits, start, { ignoreIndex: ignored, numItemsInBatch });
  const endLoss = crossEntropy(endLogits, end, { ignoreIndex: ignored, numItemsInBatch });
  return startLoss.add(endLoss).div(2);
}

/**
 * Hugging Face's `ForTokenClassification` loss: logits flattened to `[N, C]` (half precision
 * upcast to float32), labels to `[N]`, cross-entropy ignoring -100 (mean over the other tokens,
 * NaN when all are ignored; with `numItemsInBatch`, their sum divided by it).
 *
 * @param logits Per-token logits `[B, S, C]`.
 * @param labels int32 labels `[B, S]`.
 * @param options ignoreIndex and numItemsInBatch.
 * @returns The scalar loss.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * import { tensor, zeros } from "@denoformers/core";
 * import { forTokenClassificationLoss } from "@denoformers/heads";
 *
 * const labels = tensor([[1, -100, 0]], { dtype: "int32", backend: "cpu" });
 * const loss = forTokenClassificationLoss(zeros([1, 3, 5], { backend: "cpu" }), labels);
 * assertAlmostEquals(await loss.item(), Math.log(5), 1e-6);
 * ```
 */
export function forTokenClassificationLoss(
  logits: Tensor,
  labels: Tensor,
  options: TokenClassificationLossOptions = {},
): Tensor {
  const { ignoreIndex = -100, numItemsInBatch } = options;
  const classes = logits.shape[logits.ndim - 1];
  return crossEntropy(logits.reshape([-1, classes]), labels.reshape([-1]), {
    ignoreIndex,
    numItemsInBatch,
  });
}
