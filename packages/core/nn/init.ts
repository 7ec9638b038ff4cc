/**
 * In-place initialisers and Hugging Face's default `_init_weights`.
 *
 * @module
 */

import { randn } from "../creation.ts";
import { noGrad } from "../grad_mode.ts";
import type { Tensor } from "../tensor.ts";
import { Embedding, zeroRow } from "./embedding.ts";
import { Linear } from "./linear.ts";
import type { Module } from "./module.ts";
import { LayerNorm, RMSNorm } from "./norm.ts";

/**
 * Fills `t` in place with normal samples (`mean + std · N(0, 1)`) from the global RNG.
 *
 * @param t The tensor.
 * @param options mean (default 0) and std (default 1).
 * @returns `t`.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { normal_, zeros } from "@denoformers/core";
 *
 * const t = normal_(zeros([1000], { backend: "cpu" }), { std: 0.02 });
 * assert(Math.abs(await t.mean().item()) < 0.01);
 * ```
 */
export function normal_(t: Tensor, options: { mean?: number; std?: number } = {}): Tensor {
  noGrad(() =>
    t.assign(
      randn(t.shape, { dtype: t.dtype, backend: t.backend }).mul(options.std ?? 1).add(
        options.mean ?? 0,
      ),
    )
  );
  return t;
}

/**
 * Fills `t` in place with a constant.
 *
 * @param t The tensor.
 * @param value The value.
 * @returns `t`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { fill_, zeros } from "@denoformers/core";
 *
 * assertEquals(await fill_(zeros([2], { backend: "cpu" }), 3).toArray(), [3, 3]);
 * ```
 */
export function fill_(t: Tensor, value: number): Tensor {
  noGrad(() => t.assign(t.zerosLike().add(value)));
  return t;
}

/**
 * Hugging Face's default weight initialisation for the core layers, applied to every descendant:
 * `Linear` weights and `Embedding` tables ~ N(0, initializerRange) (padding rows zeroed),
 * biases 0, `LayerNorm`/`RMSNorm` weights 1 and biases 0.
 *
 * @param module The root module.
 * @param initializerRange Standard deviation of the normal init. @default {0.02}
 * @returns The module.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { initWeights, Linear } from "@denoformers/core";
 *
 * const fc = initWeights(new Linear(4, 4, { backend: "cpu" }), 0.02);
 * assertEquals(await fc.bias!.toArray(), [0, 0, 0, 0]);
 * ```
 */
export function initWeights<M extends Module>(module: M, initializerRange = 0.02): M {
  module.apply((m) => {
    if (m instanceof Linear) {
      normal_(m.weight, { std: initializerRange });
      if (m.bias) fill_(m.bias, 0);
    } else if (m instanceof Embedding) {
      normal_(m.weight, { std: initializerRange });
      if (m.paddingIdx !== null) zeroRow(m.weight, m.paddingIdx);
    } else if (m instanceof LayerNorm) {
      if (m.weight) fill_(m.weight, 1);
      if (m.bias) fill_(m.bias, 0);
    } else if (m instanceof RMSNorm) {
      fill_(m.weight, 1);
    }
  });
  return module;
}
