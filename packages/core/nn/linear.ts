/**
 * `Linear`: `y = x·Wᵀ + b` with the weight stored `[out_features, in_features]` as in PyTorch and
 * Hugging Face checkpoints.
 *
 * @module
 */

import type { BackendName } from "../backends/backend.ts";
import { rand } from "../creation.ts";
import type { DType } from "../dtype.ts";
import type { Tensor } from "../tensor.ts";
import { Module, parameter } from "./module.ts";

/** Options shared by layers that create parameters. */
export interface LayerOptions {
  /** Parameter dtype. @default {"float32"} */
  dtype?: DType;
  /** Backend for the parameters. @default {the current backend} */
  backend?: BackendName;
}

/**
 * Uniform values in `[-bound, bound)` from the global RNG.
 *
 * @param shape The shape.
 * @param bound Half-width.
 * @param options dtype and backend.
 * @returns The tensor.
 */
export function uniform(
  shape: readonly number[],
  bound: number,
  options: LayerOptions = {},
): Tensor {
  return rand(shape, options).mul(2 * bound).sub(bound);
}

/**
 * A fully connected layer. Parameters start with PyTorch's default initialisation
 * (uniform in `±1/√in_features`); Hugging Face models re-initialise with `initWeights`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Linear, tensor } from "@denoformers/core";
 *
 * const fc = new Linear(3, 2, { backend: "cpu" });
 * assertEquals(fc.weight.shape, [2, 3]);
 * assertEquals(fc.call(tensor([[1, 2, 3]], { backend: "cpu" })).shape, [1, 2]);
 * ```
 */
export class Linear extends Module {
  /** `[out_features, in_features]`. */
  weight: Tensor;
  /** `[out_features]`, or `null` without bias. */
  bias: Tensor | null;
  /** Input size. */
  readonly inFeatures: number;
  /** Output size. */
  readonly outFeatures: number;

  /**
   * Creates the layer.
   *
   * @param inFeatures Input size.
   * @param outFeatures Output size.
   * @param options bias (default true), dtype and backend.
   */
  constructor(
    inFeatures: number,
    outFeatures: number,
    options: LayerOptions & { bias?: boolean } = {},
  ) {
    super();
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const bound = 1 / Math.sqrt(Math.max(inFeatures, 1));
    this.weight = parameter(uniform([outFeatures, inFeatures], bound, options));
    this.bias = options.bias ?? true ? parameter(uniform([outFeatures], bound, options)) : null;
  }

  /**
   * Applies the layer to the last dimension.
   *
   * @param x `[..., in_features]`.
   * @returns `[..., out_features]`.
   */
  forward(x: Tensor): Tensor {
    // The transposed weight is a view; the matmul kernels read it in place.
    const y = x.matmul(this.weight.transpose(0, 1));
    return this.bias ? y.add(this.bias) : y;
  }
}
