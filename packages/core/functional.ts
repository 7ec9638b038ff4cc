/**
 * Free-function forms of tensor operations that take several tensors: `cat`, `stack`, `where`.
 *
 * @module
 */

import { ShapeError } from "./errors.ts";
import { formatShape, normalizeAxis } from "./shape.ts";
import type { Tensor } from "./tensor.ts";

/**
 * Concatenates tensors along an existing dimension.
 *
 * Each input is padded into the output's extent and the pieces are summed, so gradients come
 * from `pad` and `add` without a rule of their own.
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
  const total = tensors.reduce((n, t) => n + t.shape[d], 0);
  const shape = first.shape.map((s, i) => (i === d ? total : s));
  let at = 0;
  let out: Tensor | null = null;
  for (const t of tensors) {
    const starts = shape.map((_, i) => (i === d ? at : 0));
    at += t.shape[d];
    const placed = t.pad({ shape, starts, steps: shape.map(() => 1), value: 0 });
    out = out ? out.add(placed) : placed;
  }
  return out!;
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
