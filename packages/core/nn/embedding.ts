/**
 * `Embedding`: a lookup table indexed by int32 ids.
 *
 * @module
 */

import { randn } from "../creation.ts";
import { noGrad } from "../grad_mode.ts";
import { fromTypedArray, type Tensor } from "../tensor.ts";
import type { LayerOptions } from "./linear.ts";
import { Module, parameter } from "./module.ts";

/**
 * Maps ids to rows of `weight` (`[num_embeddings, embedding_dim]`, initialised N(0, 1) as in
 * PyTorch). With `paddingIdx`, that row starts at zero and never receives a gradient.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Embedding, tensor } from "@denoformers/core";
 *
 * const emb = new Embedding(10, 4, { paddingIdx: 0, backend: "cpu" });
 * const ids = tensor([[1, 0, 3]], { dtype: "int32", backend: "cpu" });
 * assertEquals(emb.call(ids).shape, [1, 3, 4]);
 * ```
 */
export class Embedding extends Module {
  /** `[num_embeddings, embedding_dim]`. */
  weight: Tensor;
  /** The id whose row gets no gradient, if any. */
  readonly paddingIdx: number | null;

  /**
   * Creates the table.
   *
   * @param numEmbeddings Number of rows.
   * @param embeddingDim Row size.
   * @param options paddingIdx (negative counts from the end), dtype, backend.
   */
  constructor(
    numEmbeddings: number,
    embeddingDim: number,
    options: LayerOptions & { paddingIdx?: number } = {},
  ) {
    super();
    const pad = options.paddingIdx;
    if (pad !== undefined && (pad >= numEmbeddings || pad < -numEmbeddings)) {
      throw new RangeError(
        `Cannot create Embedding: paddingIdx ${pad} is out of range for ${numEmbeddings} embeddings`,
      );
    }
    this.paddingIdx = pad === undefined ? null : pad < 0 ? pad + numEmbeddings : pad;
    this.weight = parameter(randn([numEmbeddings, embeddingDim], options));
    if (this.paddingIdx !== null) zeroRow(this.weight, this.paddingIdx);
  }

  /**
   * Looks up rows.
   *
   * @param ids int32 ids of any shape.
   * @returns `[...ids.shape, embedding_dim]`.
   */
  forward(ids: Tensor): Tensor {
    const flat = ids.reshape([-1]);
    let rows = this.weight.indexSelect(0, flat);
    if (this.paddingIdx !== null && this.weight.requiresGrad) {
      // Same values, but padding positions read a detached copy, so their row gets no gradient.
      const frozen = this.weight.detach().indexSelect(0, flat);
      rows = rows.where(flat.ne(this.paddingIdx).unsqueeze(-1), frozen);
    }
    return rows.reshape([...ids.shape, this.weight.shape[1]]);
  }
}

/**
 * Sets row `i` of a 2-D tensor to zero in place (for padding rows).
 *
 * @param weight The table.
 * @param i The row.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ones } from "@denoformers/core";
 * import { zeroRow } from "./embedding.ts";
 *
 * const w = ones([2, 2], { backend: "cpu" });
 * zeroRow(w, 1);
 * assertEquals(await w.toArray(), [[1, 1], [0, 0]]);
 * ```
 */
export function zeroRow(weight: Tensor, i: number): void {
  const rows = weight.shape[0];
  const data = new Uint8Array(rows);
  data[i] = 1;
  noGrad(() => {
    using mask = fromTypedArray(data, [rows, 1], weight.backend);
    weight.assign(weight.maskedFill(mask, 0));
  });
}
