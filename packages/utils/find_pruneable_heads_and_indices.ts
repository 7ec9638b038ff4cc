/**
 * Which heads to prune and which flattened positions to keep.
 *
 * @module
 */

/** Result of {@linkcode findPruneableHeadsAndIndices}. */
export interface PruneableHeads {
  /** Heads still to prune (original ids). */
  heads: Set<number>;
  /** Positions of the `[nHeads, headSize]` layout to keep, ascending. */
  index: number[];
}

/**
 * Hugging Face's `find_pruneable_heads_and_indices`: drops heads already pruned, maps each
 * remaining original head id to its current row (minus the already-pruned heads below it),
 * and returns the flattened positions of the rows that stay.
 *
 * @param heads Original ids of the heads to prune.
 * @param nHeads Current number of heads (after earlier pruning).
 * @param headSize Size of each head.
 * @param alreadyPrunedHeads Original ids pruned before.
 * @returns The heads to prune and the positions to keep.
 * @throws {RangeError} When a head maps outside the current heads.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { findPruneableHeadsAndIndices } from "@denoformers/utils";
 *
 * const r = findPruneableHeadsAndIndices([0, 2], 3, 2, new Set([0]));
 * assertEquals([...r.heads], [2]);
 * assertEquals(r.index, [0, 1, 4, 5]);
 * ```
 */
export function findPruneableHeadsAndIndices(
  heads: Iterable<number>,
  nHeads: number,
  headSize: number,
  alreadyPrunedHeads: ReadonlySet<number>,
): PruneableHeads {
  const remaining = new Set([...heads].filter((h) => !alreadyPrunedHeads.has(h)));
  const pruned = new Set<number>();
  for (const h of remaining) {
    const row = h - [...alreadyPrunedHeads].filter((p) => p < h).length;
    if (!Number.isInteger(row) || row < 0 || row >= nHeads) {
      throw new RangeError(
        `Cannot prune head ${h}: it maps to row ${row}, outside the ${nHeads} current heads`,
      );
    }
    pruned.add(row);
  }
  const index: number[] = [];
  for (let r = 0; r < nHeads; r++) {
    if (pruned.has(r)) continue;
    for (let j = 0; j < headSize; j++) index.push(r * headSize + j);
  }
  return { heads: remaining, index };
}
