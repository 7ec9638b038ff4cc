/**
 * `Conv1D`: GPT-2's "1-D convolution", a linear layer whose weight is stored transposed.
 *
 * @module
 */

import {
  type LayerOptions,
  Module,
  normal_,
  parameter,
  type Tensor,
  zeros,
} from "@denoformers/core";

/**
 * `y = x·W + b` with `weight` stored `[nx, nf]` (in, out) and `bias` `[nf]`, as Hugging Face's
 * `Conv1D(nf, nx)`: weight initialised N(0, 0.02), bias zeros. Works on any leading shape.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { Conv1D } from "@denoformers/utils";
 *
 * const c = new Conv1D(3, 2, { backend: "cpu" }); // nf = 3 outputs, nx = 2 inputs
 * assertEquals(c.weight.shape, [2, 3]);
 * assertEquals(c.call(tensor([[[1, 2]]], { backend: "cpu" })).shape, [1, 1, 3]);
 * ```
 */
export class Conv1D extends Module {
  /** `[nx, nf]`. */
  weight: Tensor;
  /** `[nf]`. */
  bias: Tensor;
  /** Output features. */
  readonly nf: number;
  /** Input features. */
  readonly nx: number;

  /**
   * Creates the layer.
   *
   * @param nf Output features.
   * @param nx Input features.
   * @param options dtype and backend.
   */
  constructor(nf: number, nx: number, options: LayerOptions = {}) {
    super();
    this.nf = nf;
    this.nx = nx;
    this.weight = parameter(normal_(zeros([nx, nf], options), { std: 0.02 }));
    this.bias = parameter(zeros([nf], options));
  }

  /**
   * Applies the layer to the last dimension.
   *
   * @param x `[..., nx]`.
   * @returns `[..., nf]`.
   */
  forward(x: Tensor): Tensor {
    return x.matmul(this.weight).add(this.bias);
  }

  /** `Conv1D(nf=…, nx=…)`, as Hugging Face prints it. */
  override toString(): string {
    return `Conv1D(nf=${this.nf}, nx=${this.nx})`;
  }
}
