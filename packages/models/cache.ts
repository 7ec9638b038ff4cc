/**
 * `DynamicCache`: the key/value cache of decoder models, growing by concatenation along the
 * sequence dimension, with the mask sizes of Hugging Face's dynamic cache.
 *
 * @module
 */

import { cat, keep, type Tensor } from "@denoformers/core";

/**
 * Keys and values per layer, each `[B, KVH, S, D]`. `update` appends the new positions and returns
 * everything cached for that layer. Cached tensors survive `tidy`; call `dispose()` when done.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { zeros } from "@denoformers/core";
 * import { DynamicCache } from "@denoformers/models";
 *
 * const cache = new DynamicCache();
 * cache.update(zeros([1, 2, 3, 4], { backend: "cpu" }), zeros([1, 2, 3, 4], { backend: "cpu" }), 0);
 * const { keys } = cache.update(zeros([1, 2, 1, 4], { backend: "cpu" }), zeros([1, 2, 1, 4], { backend: "cpu" }), 0);
 * assertEquals([keys.shape[2], cache.getSeqLength(), cache.getMaskSizes(1, 0)], [4, 4, [5, 0]]);
 * cache.dispose();
 * ```
 */
export class DynamicCache {
  #keys: Tensor[] = [];
  #values: Tensor[] = [];
  /** Dynamic caches never change size statically, so masks may be skipped. */
  readonly isCompileable = false;

  /**
   * Appends new keys and values for a layer.
   *
   * @param key `[B, KVH, Q, D]` for the new positions.
   * @param value Same shape as `key`.
   * @param layerIdx The layer.
   * @returns All keys and values cached for the layer, `[B, KVH, S + Q, D]`.
   */
  update(key: Tensor, value: Tensor, layerIdx: number): { keys: Tensor; values: Tensor } {
    const oldK = this.#keys[layerIdx];
    const oldV = this.#values[layerIdx];
    const keys = keep(oldK ? cat([oldK, key], 2) : key.contiguous().clone());
    const values = keep(oldV ? cat([oldV, value], 2) : value.contiguous().clone());
    oldK?.dispose();
    oldV?.dispose();
    this.#keys[layerIdx] = keys;
    this.#values[layerIdx] = values;
    return { keys, values };
  }

  /**
   * Number of positions cached for a layer (0 before the first update).
   *
   * @param layerIdx The layer. @default {0}
   * @returns The cached length.
   */
  getSeqLength(layerIdx = 0): number {
    return this.#keys[layerIdx]?.shape[2] ?? 0;
  }

  /**
   * Key length and offset of the attention mask for `qLength` new positions (hf-behaviour §5.6:
   * dynamic full-attention caches give `cached + Q` keys from offset 0).
   *
   * @param qLength New positions.
   * @param layerIdx The layer.
   * @returns `[kvLength, kvOffset]`.
   */
  getMaskSizes(qLength: number, layerIdx: number): [number, number] {
    return [this.getSeqLength(layerIdx) + qLength, 0];
  }

  /** Number of layers with cached entries. */
  get length(): number {
    return this.#keys.length;
  }

  /** Frees every cached tensor. */
  dispose(): void {
    for (const t of [...this.#keys, ...this.#values]) t?.dispose();
    this.#keys = [];
    this.#values = [];
  }
}
