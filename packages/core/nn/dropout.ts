/**
 * `Dropout` as a module (active only in training mode).
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";
import { Module } from "./module.ts";

/**
 * Zeroes elements with probability `p` during training and scales the rest by `1 / (1 - p)`;
 * the identity in evaluation mode. Masks come from the global counter-based RNG.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { Dropout, ones } from "@denoformers/core";
 *
 * const drop = new Dropout(0.5).eval();
 * const x = ones([4], { backend: "cpu" });
 * assert(drop.call(x) === x);
 * ```
 */
export class Dropout extends Module {
  /** Drop probability. */
  readonly p: number;

  /**
   * Creates the layer.
   *
   * @param p Drop probability in [0, 1]. @default {0.5}
   */
  constructor(p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) {
      throw new RangeError(`Cannot create Dropout with p = ${p}: expected a probability in [0, 1]`);
    }
    this.p = p;
  }

  /**
   * Applies dropout in training mode.
   *
   * @param x Any tensor.
   * @returns The result.
   */
  forward(x: Tensor): Tensor {
    return x.dropout(this.p, this.training);
  }
}
