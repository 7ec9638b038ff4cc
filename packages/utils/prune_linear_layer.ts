/**
 * Pruning a `Linear` to a subset of its rows or columns.
 *
 * @module
 */

import { Linear, noGrad, parameter, type Tensor, tensor } from "@denoformers/core";

/** Options of the pruning helpers. */
export interface PruneOptions {
  /** 0 keeps output rows (weight rows), 1 keeps input columns. */
  dim?: number;
}

/**
 * Selects entries `index` of a tensor along `dim` as a new parameter (a copy outside the graph).
 *
 * @param t The tensor.
 * @param index The indices to keep.
 * @param dim The dimension.
 * @returns The new parameter.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { selectParameter } from "./prune_linear_layer.ts";
 *
 * const p = selectParameter(tensor([[1, 2], [3, 4]], { backend: "cpu" }), tensor([1], { dtype: "int32", backend: "cpu" }), 0);
 * assertEquals([await p.toArray(), p.requiresGrad], [[[3, 4]], true]);
 * ```
 */
export function selectParameter(t: Tensor, index: Tensor, dim: number): Tensor {
  return parameter(noGrad(() => t.indexSelect(dim, index)));
}

/**
 * Turns a list of indices into an int32 tensor on the layer's backend.
 *
 * @param index Indices as an array or tensor.
 * @param like A tensor on the target backend.
 * @returns The int32 index tensor.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import { indexTensor } from "./prune_linear_layer.ts";
 *
 * assertEquals(indexTensor([2, 0], zeros([1], { backend: "cpu" })).dtype, "int32");
 * ```
 */
export function indexTensor(index: readonly number[] | Tensor, like: Tensor): Tensor {
  if (!Array.isArray(index)) return (index as Tensor).cast("int32");
  return tensor(index as number[], { dtype: "int32", backend: like.backend });
}

/**
 * Keeps only entries `index` of a `Linear`: output rows (`dim` 0, also selecting the bias) or
 * input columns (`dim` 1, bias kept whole). Returns a new layer whose parameters require grad;
 * the old layer is untouched (Hugging Face `prune_linear_layer`).
 *
 * @param layer The layer.
 * @param index Indices to keep, ascending.
 * @param options dim (default 0).
 * @returns The pruned layer.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Linear } from "@denoformers/core";
 * import { pruneLinearLayer } from "@denoformers/utils";
 *
 * const fc = new Linear(4, 6, { backend: "cpu" });
 * assertEquals(pruneLinearLayer(fc, [0, 2, 5]).weight.shape, [3, 4]);
 * assertEquals(pruneLinearLayer(fc, [1, 3], { dim: 1 }).weight.shape, [6, 2]);
 * ```
 */
export function pruneLinearLayer(
  layer: Linear,
  index: readonly number[] | Tensor,
  options: PruneOptions = {},
): Linear {
  const dim = options.dim ?? 0;
  if (dim !== 0 && dim !== 1) {
    throw new RangeError(`Cannot prune a Linear along dimension ${dim}: expected 0 or 1`);
  }
  const idx = indexTensor(index, layer.weight);
  const weight = selectParameter(layer.weight, idx, dim);
  const [outFeatures, inFeatures] = weight.shape;
  const pruned = new Linear(inFeatures, outFeatures, {
    bias: layer.bias !== null,
    dtype: layer.weight.dtype,
    backend: layer.weight.backend,
  });
  pruned.weight.dispose();
  pruned.weight = weight;
  if (layer.bias) {
    pruned.bias!.dispose();
    pruned.bias = dim === 0
      ? selectParameter(layer.bias, idx, 0)
      : parameter(noGrad(() => layer.bias!.clone()));
  }
  return pruned;
}
