/**
 * Free-function forms of tensor operations that take several tensors: `cat`, `stack`, `where`,
 * `matmul`, and the fused normalisations `layerNorm` and `rmsNorm`.
 *
 * @module
 */

import { ShapeError } from "./errors.ts";
import { formatShape, normalizeAxis } from "./shape.ts";
import { apply, type Tensor } from "./tensor.ts";
import { MAX_CAT_INPUTS } from "./ops/concat.ts";
import { isFloat } from "./dtype.ts";
import { atomic } from "./memory.ts";

/**
 * Concatenates tensors along an existing dimension.
 *
 * One kernel copies every input into place (longer lists go in groups of six); the gradient of
 * each input is the matching slice of the output's gradient.
 *
 * @param tensors The tensors (same shape except along `dim`).
 * @param dim The dimension. @default {0}
 * @returns The concatenation.
 * @throws {ShapeError} When shapes differ outside `dim`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { cat, tensor } from "@denoformers/core";
 *
 * const a = tensor([[1, 2]], { backend: "cpu" });
 * const b = tensor([[3, 4]], { backend: "cpu" });
 * assertEquals(await cat([a, b], 0).toArray(), [[1, 2], [3, 4]]);
 * ```
 */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new RangeError("Cannot cat an empty list of tensors");
  const first = tensors[0];
  const d = normalizeAxis("cat", dim, first.ndim);
  for (const t of tensors) {
    const ok = t.ndim === first.ndim && t.shape.every((s, i) => i === d || s === first.shape[i]);
    if (!ok) {
      throw new ShapeError(
        "cat",
        `Cannot cat tensors along dimension ${dim}: shapes ${
          tensors.map((x) => formatShape(x.shape)).join(", ")
        } differ outside it`,
        tensors.map((x) => x.shape),
      );
    }
  }
  if (tensors.length === 1) return first;
  // Kernels take a bounded number of inputs; longer lists are concatenated in groups.
  if (tensors.length > MAX_CAT_INPUTS) {
    const groups: Tensor[] = [];
    for (let i = 0; i < tensors.length; i += MAX_CAT_INPUTS) {
      groups.push(cat(tensors.slice(i, i + MAX_CAT_INPUTS), d));
    }
    return cat(groups, d);
  }
  return apply("cat", tensors, { dim: d });
}

/**
 * Stacks tensors of equal shape along a new dimension.
 *
 * @param tensors The tensors.
 * @param dim Position of the new dimension. @default {0}
 * @returns The stack.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { stack, tensor } from "@denoformers/core";
 *
 * const a = tensor([1, 2], { backend: "cpu" });
 * assertEquals((await stack([a, a], 1).toArray()), [[1, 1], [2, 2]]);
 * ```
 */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new RangeError("Cannot stack an empty list of tensors");
  const d = normalizeAxis("stack", dim, tensors[0].ndim + 1);
  return cat(tensors.map((t) => t.unsqueeze(d)), d);
}

/**
 * `a` where `condition` holds, else `b` (`torch.where`), with broadcasting.
 *
 * @param condition A bool tensor.
 * @param a Values where true.
 * @param b Values where false.
 * @returns The selection.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor, where } from "@denoformers/core";
 *
 * const c = tensor([true, false], { backend: "cpu" });
 * assertEquals(await where(c, tensor([1, 2], { backend: "cpu" }), 0).toArray(), [1, 0]);
 * ```
 */
export function where(condition: Tensor, a: Tensor, b: Tensor | number): Tensor {
  return a.where(condition, b);
}

/**
 * Matrix product (`torch.matmul`).
 *
 * @param a Left operand.
 * @param b Right operand.
 * @returns The product.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { matmul, tensor } from "@denoformers/core";
 *
 * assertEquals(await matmul(tensor([1, 2], { backend: "cpu" }), tensor([3, 4], { backend: "cpu" })).item(), 11);
 * ```
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  return a.matmul(b);
}

/** Options of {@linkcode layerNorm} and {@linkcode rmsNorm}. */
export interface NormOptions {
  /** Added to the variance (layerNorm, default `1e-5`) or mean square (rmsNorm, default `1e-6`). */
  eps?: number;
}

/** Whether `p` can enter the fused kernel with `x`: x's dtype, shape `[last dim of x]`. */
function fusable(p: Tensor, x: Tensor): boolean {
  return p.dtype === x.dtype && p.ndim === 1 && p.shape[0] === x.shape.at(-1);
}

/**
 * Layer normalisation over the last dimension (`torch.nn.functional.layer_norm` with a 1-D
 * normalized shape): `(x - mean) · rsqrt(var + eps) · weight + bias` with the biased variance.
 *
 * One fused kernel. A weight or bias that does not match `x`'s dtype and last dimension is
 * applied afterwards with ordinary broadcasting ops, so dtype promotion is that of the composite.
 *
 * @param x The input (a non-float input is normalised in float32).
 * @param weight Optional scale.
 * @param bias Optional shift.
 * @param options eps (default `1e-5`).
 * @returns The normalised tensor.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * import { layerNorm, tensor } from "@denoformers/core";
 *
 * const y = await layerNorm(tensor([[1, 3]], { backend: "cpu" }), null, null, { eps: 0 }).data();
 * assertAlmostEquals(y[0], -1, 1e-6);
 * assertAlmostEquals(y[1], 1, 1e-6);
 * ```
 */
export function layerNorm(
  x: Tensor,
  weight?: Tensor | null,
  bias?: Tensor | null,
  options: NormOptions = {},
): Tensor {
  const eps = options.eps ?? 1e-5;
  return atomic(() => {
    const xf = isFloat(x.dtype) ? x : x.cast("float32");
    const inputs = [xf];
    if (weight && fusable(weight, xf)) {
      inputs.push(weight);
      if (bias && fusable(bias, xf)) inputs.push(bias);
    }
    let y = apply("layerNorm", inputs, { eps });
    if (weight && inputs.length < 2) y = y.mul(weight);
    if (bias && inputs.length < 3) y = y.add(bias);
    return y;
  });
}

/**
 * RMS normalisation over the last dimension as Llama defines it: `x · rsqrt(mean(x²) + eps)`
 * computed in float32 (float64 for a float64 input), rounded to the input dtype, then scaled by
 * `weight` (with the composite's dtype promotion when the weight's dtype differs).
 *
 * @param x The input (a non-float input is normalised in float32).
 * @param weight Optional scale.
 * @param options eps (default `1e-6`).
 * @returns The normalised tensor.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * import { rmsNorm, tensor } from "@denoformers/core";
 *
 * const y = await rmsNorm(tensor([[3, 4]], { backend: "cpu" }), null, { eps: 0 }).data();
 * assertAlmostEquals(y[0], 3 / Math.sqrt(12.5), 1e-6);
 * ```
 */
export function rmsNorm(x: Tensor, weight?: Tensor | null, options: NormOptions = {}): Tensor {
  const eps = options.eps ?? 1e-6;
  return atomic(() => {
    const xf = isFloat(x.dtype) ? x : x.cast("float32");
    if (weight && fusable(weight, xf)) return apply("rmsNorm", [xf, weight], { eps });
    const y = apply("rmsNorm", [xf], { eps });
    return weight ? weight.mul(y) : y;
  });
}
