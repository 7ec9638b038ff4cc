/**
 * Pruning dispatch for `Linear` and `Conv1D`.
 *
 * @module
 */

import { Linear, type Tensor } from "@denoformers/core";
import { Conv1D } from "./conv1d.ts";
import { pruneConv1dLayer } from "./prune_conv1d_layer.ts";
import { pruneLinearLayer } from "./prune_linear_layer.ts";

/**
 * Prunes a `Linear` (default `dim` 0) or a `Conv1D` (default `dim` 1), like Hugging Face's
 * `prune_layer`.
 *
 * @param layer The layer.
 * @param index Indices to keep.
 * @param options dim (default: 0 for Linear, 1 for Conv1D).
 * @returns The pruned layer.
 * @throws {TypeError} For other layer types.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Linear } from "@denoformers/core";
 * import { pruneLayer } from "@denoformers/utils";
 *
 * assertEquals(pruneLayer(new Linear(2, 4, { backend: "cpu" }), [1]).weight.shape, [1, 2]);
 * ```
 */
export function pruneLayer<L extends Linear | Conv1D>(
  layer: L,
  index: readonly number[] | Tensor,
  options: { dim?: number } = {},
): L {
  if (layer instanceof Linear) {
    return pruneLinearLayer(layer, index, { dim: options.dim ?? 0 }) as L;
  }
  if (layer instanceof Conv1D) {
    return pruneConv1dLayer(layer, index, { dim: options.dim ?? 1 }) as L;
  }
  const name = (layer as object)?.constructor?.name ?? typeof layer;
  throw new TypeError(`Cannot prune layer of class ${name}: expected Linear or Conv1D`);
}
