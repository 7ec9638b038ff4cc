/**
 * Normalisation layers: `LayerNorm` (PyTorch semantics) and `RMSNorm` (Llama semantics).
 *
 * @module
 */

import { ones, zeros } from "../creation.ts";
import { layerNorm, rmsNorm } from "../functional.ts";
import type { Tensor } from "../tensor.ts";
import type { LayerOptions } from "./linear.ts";
import { Module, parameter } from "./module.ts";

/**
 * Layer normalisation over the trailing `normalizedShape` dimensions: `(x - mean) / sqrt(var + eps)`
 * with the biased variance, then `· weight + bias` when affine. A single trailing dimension runs
 * as one fused kernel ({@linkcode layerNorm}).
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * import { LayerNorm, tensor } from "@denoformers/core";
 *
 * const ln = new LayerNorm(4, { backend: "cpu" });
 * const y = ln.call(tensor([[1, 2, 3, 4]], { backend: "cpu" }));
 * assertAlmostEquals(await y.mean().item(), 0, 1e-6);
 * ```
 */
export class LayerNorm extends Module {
  /** Scale (`null` without elementwise affine). */
  weight: Tensor | null;
  /** Shift (`null` without bias or affine). */
  bias: Tensor | null;
  /** The normalised trailing shape. */
  readonly normalizedShape: readonly number[];
  /** Added to the variance. */
  readonly eps: number;

  /**
   * Creates the layer.
   *
   * @param normalizedShape Trailing dimension size(s).
   * @param options eps (default 1e-5), elementwiseAffine (default true), bias (default true), dtype, backend.
   */
  constructor(
    normalizedShape: number | readonly number[],
    options: LayerOptions & { eps?: number; elementwiseAffine?: boolean; bias?: boolean } = {},
  ) {
    super();
    this.normalizedShape = typeof normalizedShape === "number"
      ? [normalizedShape]
      : [...normalizedShape];
    this.eps = options.eps ?? 1e-5;
    const affine = options.elementwiseAffine ?? true;
    this.weight = affine ? parameter(ones(this.normalizedShape, options)) : null;
    this.bias = affine && (options.bias ?? true)
      ? parameter(zeros(this.normalizedShape, options))
      : null;
  }

  /**
   * Normalises.
   *
   * @param x `[..., *normalizedShape]`.
   * @returns Same shape.
   */
  forward(x: Tensor): Tensor {
    // One trailing dimension: the fused kernel. Several: the composite it is defined by.
    if (this.normalizedShape.length === 1) {
      return layerNorm(x, this.weight, this.bias, { eps: this.eps });
    }
    const axes = this.normalizedShape.map((_, i) => i - this.normalizedShape.length);
    const centered = x.sub(x.mean(axes, { keepdim: true }));
    const variance = centered.mul(centered).mean(axes, { keepdim: true });
    let y = centered.mul(variance.add(this.eps).rsqrt());
    if (this.weight) y = y.mul(this.weight);
    if (this.bias) y = y.add(this.bias);
    return y;
  }
}

/**
 * Root-mean-square normalisation as Llama defines it: computed in float32
 * (`x · rsqrt(mean(x²) + eps)`; float64 for a float64 input), cast back to the input dtype, then
 * scaled by `weight`. Runs as one fused kernel ({@linkcode rmsNorm}).
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * import { RMSNorm, tensor } from "@denoformers/core";
 *
 * const norm = new RMSNorm(2, { eps: 0, backend: "cpu" });
 * const y = await norm.call(tensor([[3, 4]], { backend: "cpu" })).data();
 * assertAlmostEquals(y[0], 3 / Math.sqrt(12.5), 1e-6);
 * ```
 */
export class RMSNorm extends Module {
  /** Scale. */
  weight: Tensor;
  /** Added to the mean square. */
  readonly eps: number;

  /**
   * Creates the layer.
   *
   * @param hiddenSize Size of the last dimension.
   * @param options eps (default 1e-6), dtype, backend.
   */
  constructor(hiddenSize: number, options: LayerOptions & { eps?: number } = {}) {
    super();
    this.eps = options.eps ?? 1e-6;
    this.weight = parameter(ones([hiddenSize], options));
  }

  /**
   * Normalises the last dimension.
   *
   * @param x `[..., hidden]`.
   * @returns Same shape, in the input dtype (float32 when the input is not a float).
   */
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, { eps: this.eps });
  }
}
