/**
 * Activation functions keyed by the names Hugging Face configs use (`hidden_act`,
 * `activation_function`).
 *
 * @module
 */

import type { Tensor } from "../tensor.ts";

/** An activation: a function of one tensor. */
export type Activation = (x: Tensor) => Tensor;

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** tanh-approximated GELU (`gelu_new`, `gelu_pytorch_tanh`). */
const geluTanh: Activation = (x) => x.gelu("tanh");

/**
 * Activations by Hugging Face name. `gelu` is the exact erf form; `gelu_new` and
 * `gelu_pytorch_tanh` the tanh approximation; `gelu_fast` the same approximation factored as
 * `0.5x(1 + tanh(0.7978845608·x·(1 + 0.044715x²)))`; `quick_gelu` is `x·sigmoid(1.702x)`.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * import { ACT2FN, tensor } from "@denoformers/core";
 *
 * const y = await ACT2FN.gelu(tensor([1], { backend: "cpu" })).item();
 * assertAlmostEquals(y, 0.8413447460685429, 1e-6);
 * ```
 */
export const ACT2FN: Readonly<Record<string, Activation>> = Object.freeze({
  gelu: (x: Tensor) => x.gelu(),
  gelu_new: geluTanh,
  gelu_pytorch_tanh: geluTanh,
  gelu_fast: (x: Tensor) =>
    x.mul(0.5).mul(x.mul(SQRT_2_OVER_PI).mul(x.mul(x).mul(0.044715).add(1)).tanh().add(1)),
  quick_gelu: (x: Tensor) => x.mul(x.mul(1.702).sigmoid()),
  relu: (x: Tensor) => x.relu(),
  relu6: (x: Tensor) => x.clamp(0, 6),
  silu: (x: Tensor) => x.silu(),
  swish: (x: Tensor) => x.silu(),
  tanh: (x: Tensor) => x.tanh(),
  sigmoid: (x: Tensor) => x.sigmoid(),
  linear: (x: Tensor) => x,
});

/**
 * Looks up an activation by name.
 *
 * @param name A Hugging Face activation name.
 * @returns The function.
 * @throws {RangeError} For unknown names, listing the known ones.
 *
 * @example Usage
 * ```ts
 * import { assertThrows } from "@std/assert";
 * import { getActivation } from "@denoformers/core";
 *
 * getActivation("silu");
 * assertThrows(() => getActivation("gelu2"), RangeError, "gelu_new");
 * ```
 */
export function getActivation(name: string): Activation {
  const fn = ACT2FN[name];
  if (!fn) {
    throw new RangeError(
      `Cannot find activation "${name}": known activations are ${
        Object.keys(ACT2FN).map((k) => `"${k}"`).join(", ")
      }`,
    );
  }
  return fn;
}
