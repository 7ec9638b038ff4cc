/**
 * Gradient clipping: by the total norm over all gradients (`clip_grad_norm_`) and by value
 * (`clip_grad_value_`). Gradients are replaced in place with `assign`, so `.grad` keeps its identity.
 *
 * @module
 */

import { full, zeros } from "../creation.ts";
import { noGrad } from "../grad_mode.ts";
import { tidy } from "../memory.ts";
import type { Tensor } from "../tensor.ts";

/** Options of {@linkcode clipGradNorm}. */
export interface ClipGradNormOptions {
  /** Order p of the norm: a positive number, or `Infinity` for the largest absolute value. @default {2} */
  normType?: number;
  /**
   * Throw when the total norm is NaN or infinite. Checking needs a read, so with `true` the
   * function returns a promise. @default {false}
   */
  errorIfNonfinite?: boolean;
}

function gradsOf(params: Tensor | Iterable<Tensor>): Tensor[] {
  const list = Symbol.iterator in params ? [...params as Iterable<Tensor>] : [params as Tensor];
  return list.flatMap((p) => (p.grad ? [p.grad] : []));
}

function totalNorm(grads: readonly Tensor[], p: number, fallback: Tensor | undefined): Tensor {
  return noGrad(() =>
    tidy(() => {
      if (grads.length === 0) return zeros([], { backend: fallback?.backend });
      const parts = grads.map((g) => {
        const a = (g.dtype === "float64" ? g : g.cast("float32")).abs();
        return p === Infinity
          ? a.max()
          : p === 1
          ? a.sum()
          : p === 2
          ? a.mul(a).sum()
          : a.pow(p).sum();
      });
      const acc = parts.reduce((s, x) => (p === Infinity ? s.maximum(x) : s.add(x)));
      return p === Infinity || p === 1 ? acc : p === 2 ? acc.sqrt() : acc.pow(1 / p);
    })
  );
}

function scale(grads: readonly Tensor[], total: Tensor, maxNorm: number): void {
  noGrad(() =>
    tidy(() => {
      const max = full([], maxNorm, { dtype: total.dtype, backend: total.backend });
      const coef = max.div(total.add(1e-6)).minimum(1);
      for (const g of grads) g.assign(g.mul(coef.cast(g.dtype)));
    })
  );
}

/**
 * Scales all gradients in place so their total norm is at most `maxNorm`
 * (`torch.nn.utils.clip_grad_norm_`): the total is the p-norm of the per-gradient p-norms, and
 * every gradient is multiplied by `min(1, maxNorm / (total + 1e-6))`.
 *
 * @param params Parameters (those without a gradient are skipped).
 * @param maxNorm The largest allowed total norm.
 * @param options normType and errorIfNonfinite.
 * @returns The total norm before clipping, as a scalar tensor (a promise of it when
 * `errorIfNonfinite` is true).
 * @throws {RangeError} For a negative maxNorm or a bad normType.
 *
 * @example Usage
 * ```ts
 * import { assertAlmostEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { clipGradNorm } from "@denoformers/core";
 *
 * const w = tensor([0, 0], { requiresGrad: true, backend: "cpu" });
 * w.mul(tensor([3, 4], { backend: "cpu" })).sum().backward();
 * assertAlmostEquals(await clipGradNorm([w], 1).item(), 5, 1e-6);
 * assertAlmostEquals((await w.grad!.toArray() as number[])[1], 0.8, 1e-6);
 * ```
 */
export function clipGradNorm(
  params: Tensor | Iterable<Tensor>,
  maxNorm: number,
  options?: ClipGradNormOptions & { errorIfNonfinite?: false },
): Tensor;
/**
 * Like the synchronous form, but reads the total norm first and throws when it is not finite.
 *
 * @param params Parameters (those without a gradient are skipped).
 * @param maxNorm The largest allowed total norm.
 * @param options normType, and errorIfNonfinite set to true.
 * @returns A promise of the total norm before clipping.
 * @throws {RangeError} When the total norm is NaN or infinite (gradients are left untouched).
 *
 * @example Usage
 * ```ts
 * import { assertRejects } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { clipGradNorm } from "@denoformers/core";
 *
 * const w = tensor([1], { requiresGrad: true, backend: "cpu" });
 * w.mul(Infinity).sum().backward();
 * await assertRejects(() => clipGradNorm([w], 1, { errorIfNonfinite: true }), RangeError);
 * ```
 */
export function clipGradNorm(
  params: Tensor | Iterable<Tensor>,
  maxNorm: number,
  options: ClipGradNormOptions & { errorIfNonfinite: true },
): Promise<Tensor>;
export function clipGradNorm(
  params: Tensor | Iterable<Tensor>,
  maxNorm: number,
  options: ClipGradNormOptions = {},
): Tensor | Promise<Tensor> {
  const { normType = 2, errorIfNonfinite = false } = options;
  if (!(maxNorm >= 0)) {
    throw new RangeError(
      `Cannot clip gradients: maxNorm is ${maxNorm}, expected a non-negative number`,
    );
  }
  if (!(normType > 0)) {
    throw new RangeError(
      `Cannot clip gradients: normType is ${normType}, expected a positive number or Infinity`,
    );
  }
  const list = Symbol.iterator in params ? [...params as Iterable<Tensor>] : [params as Tensor];
  const grads = gradsOf(list);
  const total = totalNorm(grads, normType, list[0]);
  if (!errorIfNonfinite) {
    scale(grads, total, maxNorm);
    return total;
  }
  return total.item().then((value) => {
    if (!Number.isFinite(value)) {
      total.dispose();
      throw new RangeError(
        `Cannot clip gradients: the total norm of order ${normType} is ${value}; pass { errorIfNonfinite: false } to scale by it anyway`,
      );
    }
    scale(grads, total, maxNorm);
    return total;
  });
}

/**
 * Clamps every gradient in place to `[-clipValue, clipValue]` (`torch.nn.utils.clip_grad_value_`).
 *
 * @param params Parameters (those without a gradient are skipped).
 * @param clipValue The bound.
 * @throws {RangeError} For a negative clipValue.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { clipGradValue } from "@denoformers/core";
 *
 * const w = tensor([0, 0], { requiresGrad: true, backend: "cpu" });
 * w.mul(tensor([3, -0.5], { backend: "cpu" })).sum().backward();
 * clipGradValue([w], 1);
 * assertEquals(await w.grad!.toArray(), [1, -0.5]);
 * ```
 */
export function clipGradValue(params: Tensor | Iterable<Tensor>, clipValue: number): void {
  if (!(clipValue >= 0)) {
    throw new RangeError(
      `Cannot clip gradients: clipValue is ${clipValue}, expected a non-negative number`,
    );
  }
  const grads = gradsOf(params);
  noGrad(() => tidy(() => grads.forEach((g) => g.assign(g.clamp(-clipValue, clipValue)))));
}
