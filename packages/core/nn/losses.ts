/**
 * Losses with PyTorch's semantics and Hugging Face's reductions: cross-entropy (with
 * `ignoreIndex`, label smoothing, class weights and `numItemsInBatch`), negative log-likelihood,
 * mean squared error, binary cross-entropy with logits, and the causal language-modelling loss.
 *
 * Each loss is a composite of primitives, so its gradient comes from autograd. Half-precision
 * inputs are upcast to float32; float32 and float64 (CPU) keep their dtype.
 *
 * @module
 */

import { DTypeError, ShapeError } from "../errors.ts";
import { atomic } from "../memory.ts";
import { formatShape } from "../shape.ts";
import type { Tensor } from "../tensor.ts";

/** How a loss reduces its per-element values. */
export type Reduction = "mean" | "sum" | "none";

/** Options of {@linkcode nllLoss}. */
export interface NllLossOptions {
  /** Targets equal to this contribute nothing to the loss or its gradient. @default {-100} */
  ignoreIndex?: number;
  /**
   * `"mean"` over non-ignored targets (divided by the sum of their class weights when `weight`
   * is given; NaN when every target is ignored), `"sum"`, or `"none"` (per element, 0 where
   * ignored). @default {"mean"}
   */
  reduction?: Reduction;
  /** Per-class weights, shape `[C]`. @default {undefined} (all ones) */
  weight?: Tensor;
}

/** Options of {@linkcode crossEntropy}. */
export interface CrossEntropyOptions extends NllLossOptions {
  /**
   * When given, the loss is the sum over non-ignored targets divided by this number of items
   * (Hugging Face's normalisation for gradient accumulation); `reduction` must not be `"none"`.
   * @default {undefined}
   */
  numItemsInBatch?: number | Tensor;
  /** Label smoothing ε in `[0, 1]`: `(1 - ε)·nll + ε·mean over classes of -log p`. @default {0} */
  labelSmoothing?: number;
}

/** Options of {@linkcode causalLmLoss}. */
export interface CausalLmLossOptions {
  /** Label value that is ignored (also the fill of the shifted-in last position). @default {-100} */
  ignoreIndex?: number;
  /** Divide the summed loss by this instead of averaging. @default {undefined} */
  numItemsInBatch?: number | Tensor;
  /** Labels already shifted (shape `[B, T]`); `labels` is then unused. @default {undefined} */
  shiftLabels?: Tensor;
}

/** Options of {@linkcode mseLoss}. */
export interface MseLossOptions {
  /** `"mean"`, `"sum"` or `"none"`. @default {"mean"} */
  reduction?: Reduction;
}

/** Options of {@linkcode bceWithLogits}. */
export interface BceWithLogitsOptions {
  /** `"mean"`, `"sum"` or `"none"`. @default {"mean"} */
  reduction?: Reduction;
  /** Weight of positive examples, broadcast against the logits (per class on the last dim). @default {undefined} */
  posWeight?: Tensor;
  /** Per-element rescaling weight, broadcast against the logits. @default {undefined} */
  weight?: Tensor;
}

function upcast(x: Tensor): Tensor {
  return x.dtype === "float64" || x.dtype === "float32" ? x : x.cast("float32");
}

function checkReduction(op: string, reduction: string): void {
  if (reduction !== "mean" && reduction !== "sum" && reduction !== "none") {
    throw new RangeError(
      `Cannot compute ${op}: reduction is "${reduction}", expected "mean", "sum" or "none"`,
    );
  }
}

function checkClassInput(
  op: string,
  input: Tensor,
  target: Tensor,
  weight: Tensor | undefined,
): number {
  if (input.ndim === 0) {
    throw new ShapeError(op, `Cannot compute ${op}: input is a scalar, expected [N, C, ...]`, [
      input.shape,
    ]);
  }
  if (target.dtype !== "int32") {
    throw new DTypeError(
      op,
      `Cannot compute ${op}: target dtype is ${target.dtype}, expected int32 class indices`,
      [target.dtype],
    );
  }
  const classDim = input.ndim === 1 ? 0 : 1;
  const expected = input.shape.filter((_, i) => i !== classDim);
  if (formatShape(expected) !== formatShape(target.shape)) {
    throw new ShapeError(
      op,
      `Cannot compute ${op}: target shape ${formatShape(target.shape)} does not match input shape ${
        formatShape(input.shape)
      } without its class dimension (${formatShape(expected)})`,
      [input.shape, target.shape],
    );
  }
  const classes = input.shape[classDim];
  if (weight && formatShape(weight.shape) !== formatShape([classes])) {
    throw new ShapeError(
      op,
      `Cannot compute ${op}: weight shape ${formatShape(weight.shape)} is not [${classes}]`,
      [weight.shape],
    );
  }
  return classDim;
}

/** Per-element weighted (and smoothed) NLL, 0 where ignored, and the "mean" denominator. */
function classLoss(
  logp: Tensor,
  target: Tensor,
  classDim: number,
  ignoreIndex: number,
  weight: Tensor | undefined,
  smoothing: number,
): { loss: Tensor; denom: Tensor } {
  const valid = target.ne(ignoreIndex);
  // Ignored targets never reach gather as indices: they read class 0 and are masked out.
  const safe = target.where(valid, 0);
  let loss = logp.gather(classDim, safe.unsqueeze(classDim)).squeeze(classDim).neg();
  const w = weight?.cast(logp.dtype);
  let denom: Tensor;
  if (w) {
    const wt = w.gather(0, safe.flatten()).reshape(safe.shape).where(valid, 0);
    loss = loss.mul(wt);
    denom = wt.sum();
  } else {
    denom = valid.sum();
  }
  if (smoothing > 0) {
    const classes = logp.shape[classDim];
    const wide = w ? logp.mul(w.reshape(logp.shape.map((c, i) => (i === classDim ? c : 1)))) : logp;
    const smooth = wide.sum(classDim).neg();
    loss = loss.mul(1 - smoothing).add(smooth.mul(smoothing / classes));
  }
  return { loss: loss.where(valid, 0), denom };
}

function reduceLoss(
  loss: Tensor,
  denom: Tensor | null,
  reduction: Reduction,
  numItemsInBatch?: number | Tensor,
): Tensor {
  if (numItemsInBatch !== undefined) {
    const n = typeof numItemsInBatch === "number"
      ? numItemsInBatch
      : numItemsInBatch.reshape([]).cast(loss.dtype);
    return loss.sum().div(n);
  }
  if (reduction === "none") return loss;
  if (reduction === "sum") return loss.sum();
  return denom ? loss.sum().div(denom) : loss.mean();
}

/**
 * Negative log-likelihood of class targets given log-probabilities (`torch.nn.functional.nll_loss`).
 *
 * @param logProbs Log-probabilities `[N, C]` or `[N, C, d1, ...]` (class dim 1), or `[C]`.
 * @param target int32 class indices `[N]` or `[N, d1, ...]` (a scalar for `[C]` input).
 * @param options ignoreIndex, reduction and weight.
 * @returns The loss (a scalar unless `reduction` is `"none"`).
 * @throws {DTypeError} When `target` is not int32.
 * @throws {ShapeError} When shapes do not match.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { nllLoss } from "@denoformers/core";
 *
 * const logp = tensor([[-1, -2], [-3, -4]], { backend: "cpu" });
 * const target = tensor([1, -100], { dtype: "int32", backend: "cpu" });
 * assertAlmostEquals(await nllLoss(logp, target).item(), 2);
 * ```
 */
export function nllLoss(logProbs: Tensor, target: Tensor, options: NllLossOptions = {}): Tensor {
  const { ignoreIndex = -100, reduction = "mean", weight } = options;
  checkReduction("nllLoss", reduction);
  const classDim = checkClassInput("nllLoss", logProbs, target, weight);
  return atomic(() => {
    const { loss, denom } = classLoss(upcast(logProbs), target, classDim, ignoreIndex, weight, 0);
    return reduceLoss(loss, denom, reduction);
  });
}

/**
 * Cross-entropy of logits against class indices, computed as log-softmax + gather
 * (`torch.nn.functional.cross_entropy`, and Hugging Face's `fixed_cross_entropy` when
 * `numItemsInBatch` is given).
 *
 * Targets equal to `ignoreIndex` contribute nothing; `"mean"` averages over the others (NaN when
 * all are ignored, 0/0). With `numItemsInBatch` the loss is their sum divided by it.
 *
 * @param logits `[N, C]` or `[N, C, d1, ...]` (class dim 1, like torch), or `[C]`.
 * @param target int32 class indices `[N]` or `[N, d1, ...]`.
 * @param options ignoreIndex, reduction, numItemsInBatch, labelSmoothing and weight.
 * @returns The loss (float32, or float64 for float64 logits).
 * @throws {DTypeError} When `target` is not int32.
 * @throws {ShapeError} When shapes do not match.
 * @throws {RangeError} For a bad reduction or labelSmoothing.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * import { zeros, tensor } from "@denoformers/core";
 * import { crossEntropy } from "@denoformers/core";
 *
 * const logits = zeros([3, 4], { backend: "cpu" });
 * const target = tensor([1, -100, 3], { dtype: "int32", backend: "cpu" });
 * assertAlmostEquals(await crossEntropy(logits, target).item(), Math.log(4), 1e-6);
 * assertAlmostEquals(
 *   await crossEntropy(logits, target, { numItemsInBatch: 4 }).item(),
 *   (2 * Math.log(4)) / 4,
 *   1e-6,
 * );
 * ```
 */
export function crossEntropy(
  logits: Tensor,
  target: Tensor,
  options: CrossEntropyOptions = {},
): Tensor {
  const { ignoreIndex = -100, reduction = "mean", numItemsInBatch, weight } = options;
  const labelSmoothing = options.labelSmoothing ?? 0;
  checkReduction("crossEntropy", reduction);
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) {
    throw new RangeError(
      `Cannot compute crossEntropy: labelSmoothing is ${labelSmoothing}, expected a number in [0, 1]`,
    );
  }
  if (numItemsInBatch !== undefined && reduction === "none") {
    throw new RangeError(
      'Cannot compute crossEntropy: numItemsInBatch needs reduction "mean" or "sum", got "none"',
    );
  }
  if (typeof numItemsInBatch === "object" && numItemsInBatch.size !== 1) {
    throw new ShapeError(
      "crossEntropy",
      `Cannot compute crossEntropy: numItemsInBatch has shape ${
        formatShape(numItemsInBatch.shape)
      }, expected one element`,
      [numItemsInBatch.shape],
    );
  }
  const classDim = checkClassInput("crossEntropy", logits, target, weight);
  return atomic(() => {
    const logp = upcast(logits).logSoftmax(classDim);
    const { loss, denom } = classLoss(logp, target, classDim, ignoreIndex, weight, labelSmoothing);
    return reduceLoss(loss, denom, reduction, numItemsInBatch);
  });
}

/**
 * Shifts labels one step left along the last dimension and fills the last position with
 * `ignoreIndex`: `out[..., t] = labels[..., t + 1]` (Hugging Face's causal-LM shift).
 *
 * @param labels int32 labels `[..., T]`.
 * @param ignoreIndex The fill value. @default {-100}
 * @returns The shifted labels (same shape).
 * @throws {DTypeError} When `labels` is not int32.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { shiftLabels } from "@denoformers/core";
 *
 * const labels = tensor([[5, 7, -100, 2]], { dtype: "int32", backend: "cpu" });
 * assertEquals(await shiftLabels(labels).toArray(), [[7, -100, 2, -100]]);
 * ```
 */
export function shiftLabels(labels: Tensor, ignoreIndex = -100): Tensor {
  if (labels.dtype !== "int32" || labels.ndim === 0) {
    throw new DTypeError(
      "shiftLabels",
      `Cannot shift labels of dtype ${labels.dtype} and shape ${
        formatShape(labels.shape)
      }: expected int32 labels with at least 1 dimension`,
      [labels.dtype],
    );
  }
  return atomic(() =>
    labels.slice(-1, 1).pad({
      shape: labels.shape,
      starts: labels.shape.map(() => 0),
      steps: labels.shape.map(() => 1),
      value: ignoreIndex,
    })
  );
}

/**
 * Hugging Face's causal language-modelling loss (`ForCausalLMLoss`): logits `[B, T, V]` are
 * upcast to float32, labels are shifted with {@linkcode shiftLabels} (the logits are not
 * truncated: position t predicts token t + 1), both are flattened and passed to
 * {@linkcode crossEntropy}.
 *
 * @param logits `[B, T, V]` (any leading shape; the last dim is the vocabulary).
 * @param labels int32 `[B, T]`, or `null` when `shiftLabels` is given.
 * @param options ignoreIndex, numItemsInBatch and shiftLabels.
 * @returns The scalar loss.
 * @throws {TypeError} When neither labels nor shiftLabels is given.
 * @throws {ShapeError} When label and logit shapes do not match.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * import { tensor, zeros } from "@denoformers/core";
 * import { causalLmLoss } from "@denoformers/core";
 *
 * const logits = zeros([1, 4, 10], { backend: "cpu" });
 * const labels = tensor([[5, 7, -100, 2]], { dtype: "int32", backend: "cpu" });
 * assertAlmostEquals(await causalLmLoss(logits, labels).item(), Math.log(10), 1e-6);
 * ```
 */
export function causalLmLoss(
  logits: Tensor,
  labels: Tensor | null | undefined,
  options: CausalLmLossOptions = {},
): Tensor {
  const { ignoreIndex = -100, numItemsInBatch } = options;
  if (!labels && !options.shiftLabels) {
    throw new TypeError("Cannot compute causalLmLoss: pass labels or options.shiftLabels");
  }
  if (logits.ndim < 2) {
    throw new ShapeError(
      "causalLmLoss",
      `Cannot compute causalLmLoss: logits shape ${formatShape(logits.shape)} is not [B, T, V]`,
      [logits.shape],
    );
  }
  const lead = logits.shape.slice(0, -1);
  const given = options.shiftLabels ?? labels!;
  if (formatShape(given.shape) !== formatShape(lead)) {
    throw new ShapeError(
      "causalLmLoss",
      `Cannot compute causalLmLoss: labels shape ${
        formatShape(given.shape)
      } does not match logits shape ${formatShape(logits.shape)} without its last dimension`,
      [logits.shape, given.shape],
    );
  }
  return atomic(() => {
    const shifted = options.shiftLabels ?? shiftLabels(labels!, ignoreIndex);
    const vocab = logits.shape[logits.ndim - 1];
    return crossEntropy(upcast(logits).reshape([-1, vocab]), shifted.reshape([-1]), {
      ignoreIndex,
      numItemsInBatch,
    });
  });
}

/**
 * Mean squared error (`torch.nn.functional.mse_loss`). Shapes must match (torch's broadcasting
 * of mismatched shapes, a common source of silent bugs, is rejected).
 *
 * @param input Predictions.
 * @param target Targets of the same shape (cast to the input's float dtype).
 * @param options reduction.
 * @returns The loss.
 * @throws {ShapeError} When shapes differ.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { mseLoss } from "@denoformers/core";
 *
 * const x = tensor([1, 2, 3], { backend: "cpu" });
 * assertAlmostEquals(await mseLoss(x, tensor([1, 0, 0], { backend: "cpu" })).item(), 13 / 3, 1e-6);
 * ```
 */
export function mseLoss(input: Tensor, target: Tensor, options: MseLossOptions = {}): Tensor {
  const { reduction = "mean" } = options;
  checkReduction("mseLoss", reduction);
  checkSameShape("mseLoss", input, target);
  return atomic(() => {
    const x = upcast(input);
    const d = x.sub(target.cast(x.dtype));
    return reduceLoss(d.mul(d), null, reduction);
  });
}

function checkSameShape(op: string, input: Tensor, target: Tensor): void {
  if (formatShape(input.shape) !== formatShape(target.shape)) {
    throw new ShapeError(
      op,
      `Cannot compute ${op}: target shape ${formatShape(target.shape)} differs from input shape ${
        formatShape(input.shape)
      }`,
      [input.shape, target.shape],
    );
  }
}

/** `log(1 + exp(x))` as `m + log(exp(-m) + exp(x - m))` with `m = max(x, 0)` held constant. */
function softplus(x: Tensor): Tensor {
  const m = x.relu().detach();
  return m.neg().exp().add(x.sub(m).exp()).log().add(m);
}

/**
 * Binary cross-entropy on logits (`torch.nn.functional.binary_cross_entropy_with_logits`):
 * `max(x, 0) - x·y + log(1 + exp(-|x|))`, or with `posWeight` p:
 * `(1 - y)·x + (1 + (p - 1)·y)·log(1 + exp(-x))`, each times `weight`.
 *
 * The value is computed in a form whose gradient is exactly `σ(x) - y` everywhere, x = 0
 * included (a split at `|x|` would lose half of it there).
 *
 * @param logits Logits of any shape.
 * @param target Probabilities in [0, 1] of the same shape (cast to float).
 * @param options reduction, posWeight and weight.
 * @returns The loss.
 * @throws {ShapeError} When shapes differ.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { bceWithLogits } from "@denoformers/core";
 *
 * const x = tensor([0, 0], { backend: "cpu" });
 * assertAlmostEquals(await bceWithLogits(x, tensor([1, 0], { backend: "cpu" })).item(), Math.LN2, 1e-6);
 * ```
 */
export function bceWithLogits(
  logits: Tensor,
  target: Tensor,
  options: BceWithLogitsOptions = {},
): Tensor {
  const { reduction = "mean", posWeight, weight } = options;
  checkReduction("bceWithLogits", reduction);
  checkSameShape("bceWithLogits", logits, target);
  return atomic(() => {
    const x = upcast(logits);
    const y = target.cast(x.dtype);
    let loss: Tensor;
    if (posWeight) {
      const logWeight = posWeight.cast(x.dtype).sub(1).mul(y).add(1);
      loss = y.neg().add(1).mul(x).add(logWeight.mul(softplus(x.neg())));
    } else {
      loss = softplus(x).sub(x.mul(y));
    }
    if (weight) loss = loss.mul(weight.cast(x.dtype));
    return reduceLoss(loss, null, reduction);
  });
}
