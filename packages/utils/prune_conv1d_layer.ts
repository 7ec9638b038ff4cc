/**
 * Pruning a `Conv1D` to a subset of its input rows or output columns.
 *
 * @module
 */

import { noGrad, parameter, type Tensor } from "@denoformers/core";
import { Conv1D } from "./conv1d.ts";
import { indexTensor, type PruneOptions, selectParameter } from "./prune_linear_layer.ts";

/**
 * Keeps only entries `index` of a `Conv1D` (weight `[nx, nf]`): output columns (`dim` 1, the
 * default, also selecting the bias) or input rows (`dim` 0, bias kept whole). Returns a new
 * layer whose parameters require grad (Hugging Face `prune_conv1d_layer`).
 *
 * @param layer The layer.
 * @param index Indices to keep, ascending.
 * @param options dim (default 1).
 * @returns The pruned layer.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Conv1D, pruneConv1dLayer } from "@denoformers/utils";
 *
 * const c = new Conv1D(6, 4, { backend: "cpu" });
 * assertEquals(pruneConv1dLayer(c, [0, 5]).weight.shape, [4, 2]);
 * ```
 */
export function pruneConv1dLayer(
  layer: Conv1D,
  index: readonly number[] | Tensor,
  options: PruneOptions = {},
): Conv1D {
  const dim = options.dim ?? 1;
  if (dim !== 0 && dim !== 1) {
    throw new RangeError(`Cannot prune a Conv1D along dimension ${dim}: expected 0 or 1`);
  }
  const idx = indexTensor(index, layer.weight);
  const weight = selectParameter(layer.weight, idx, dim);
  const [nx, nf] = weight.shape;
  const pruned = new Conv1D(nf, nx, { dtype: layer.weight.dtype, backend: layer.weight.backend });
  pruned.weight.dispose();
  pruned.bias.dispose();
  pruned.weight = weight;
  pruned.bias = dim === 0
    ? parameter(noGrad(() => layer.bias.clone()))
    : selectParameter(layer.bias, idx, 0);
  return pruned;
}
