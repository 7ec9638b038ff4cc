/**
 * Mask functions: the index-based predicates that describe which key each query may attend to.
 *
 * A mask function receives broadcastable int32 index tensors for the batch `[B, 1, 1, 1]`, head
 * `[1, 1, 1, 1]`, query `[1, 1, Q, 1]` and key/value `[1, 1, 1, K]` positions (absolute positions,
 * offsets already added) and returns a bool tensor broadcastable to `[B, 1, Q, K]`; `true` means
 * the query may attend to the key.
 *
 * @module
 */

import { full, type Tensor } from "@denoformers/core";
import { checkPositiveInteger } from "./_util.ts";

/**
 * A predicate over broadcastable int32 index tensors `(batch, head, query, keyValue)` that
 * returns a bool tensor; `true` = the query may attend to the key.
 */
export type MaskFunction = (b: Tensor, h: Tensor, q: Tensor, kv: Tensor) => Tensor;

function checkFunctions(fns: readonly unknown[]): void {
  if (!fns.every((f) => typeof f === "function")) {
    throw new TypeError(
      `Cannot combine mask functions: all inputs should be callable mask functions, got [${
        fns.map((f) => (f === null ? "null" : typeof f)).join(", ")
      }]`,
    );
  }
}

/**
 * The intersection of mask functions: a pair is allowed when every function allows it.
 *
 * @param fns The mask functions (none gives a mask that allows everything).
 * @returns The combined mask function.
 * @throws {TypeError} When an argument is not a function.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { arange } from "@denoformers/core";
 * import { andMasks, causalMaskFunction, slidingWindowOverlay } from "./mask_functions.ts";
 *
 * const q = arange(0, 3, 1, { backend: "cpu" }).reshape([1, 1, 3, 1]);
 * const kv = arange(0, 3, 1, { backend: "cpu" }).reshape([1, 1, 1, 3]);
 * const b = arange(0, 1, 1, { backend: "cpu" }).reshape([1, 1, 1, 1]);
 * const fn = andMasks(causalMaskFunction, slidingWindowOverlay(2));
 * assertEquals(await fn(b, b, q, kv).toArray(), [[[
 *   [true, false, false],
 *   [true, true, false],
 *   [false, true, true],
 * ]]]);
 * ```
 */
export function andMasks(...fns: readonly MaskFunction[]): MaskFunction {
  checkFunctions(fns);
  return (b, h, q, kv) => {
    if (fns.length === 0) return full([], 1, { dtype: "bool", backend: q.backend });
    return fns.slice(1).reduce(
      (acc, fn) => acc.logicalAnd(fn(b, h, q, kv)),
      fns[0](b, h, q, kv).cast("bool"),
    );
  };
}

/**
 * The union of mask functions: a pair is allowed when any function allows it.
 *
 * @param fns The mask functions (none gives a mask that allows nothing).
 * @returns The combined mask function.
 * @throws {TypeError} When an argument is not a function.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { arange } from "@denoformers/core";
 * import { causalMaskFunction, orMasks } from "./mask_functions.ts";
 *
 * const q = arange(0, 2, 1, { backend: "cpu" }).reshape([1, 1, 2, 1]);
 * const kv = arange(0, 2, 1, { backend: "cpu" }).reshape([1, 1, 1, 2]);
 * const b = arange(0, 1, 1, { backend: "cpu" }).reshape([1, 1, 1, 1]);
 * const lastKey = (_b: unknown, _h: unknown, _q: unknown, k: typeof kv) => k.eq(1);
 * const fn = orMasks(causalMaskFunction, lastKey);
 * assertEquals(await fn(b, b, q, kv).toArray(), [[[[true, true], [true, true]]]]);
 * ```
 */
export function orMasks(...fns: readonly MaskFunction[]): MaskFunction {
  checkFunctions(fns);
  return (b, h, q, kv) => {
    if (fns.length === 0) return full([], 0, { dtype: "bool", backend: q.backend });
    return fns.slice(1).reduce(
      (acc, fn) => acc.logicalOr(fn(b, h, q, kv)),
      fns[0](b, h, q, kv).cast("bool"),
    );
  };
}

/**
 * The causal pattern: a query attends to keys at its own position and before (`kv <= q`).
 *
 * @param _b Batch indices (unused).
 * @param _h Head indices (unused).
 * @param q Query positions.
 * @param kv Key/value positions.
 * @returns A bool tensor, `kv <= q`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { arange } from "@denoformers/core";
 * import { causalMaskFunction } from "./mask_functions.ts";
 *
 * const i = arange(0, 2, 1, { backend: "cpu" });
 * const out = causalMaskFunction(i, i, i.reshape([2, 1]), i.reshape([1, 2]));
 * assertEquals(await out.toArray(), [[true, false], [true, true]]);
 * ```
 */
export function causalMaskFunction(_b: Tensor, _h: Tensor, q: Tensor, kv: Tensor): Tensor {
  return kv.le(q);
}

/**
 * The bidirectional pattern: every query attends to every key (written as `q >= 0` so the result
 * stays an index-based tensor).
 *
 * @param _b Batch indices (unused).
 * @param _h Head indices (unused).
 * @param q Query positions.
 * @param _kv Key/value positions (unused).
 * @returns A bool tensor of `q`'s shape, all `true` for valid positions.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { arange } from "@denoformers/core";
 * import { bidirectionalMaskFunction } from "./mask_functions.ts";
 *
 * const i = arange(0, 2, 1, { backend: "cpu" });
 * assertEquals(await bidirectionalMaskFunction(i, i, i, i).toArray(), [true, true]);
 * ```
 */
export function bidirectionalMaskFunction(_b: Tensor, _h: Tensor, q: Tensor, _kv: Tensor): Tensor {
  return q.ge(0);
}

/**
 * A sliding-window overlay: a query sees the `window` most recent positions, itself included
 * (`kv > q - window`). AND it with a causal mask for a sliding-window causal mask.
 *
 * @param window The window size (a positive integer).
 * @returns The overlay mask function.
 * @throws {RangeError} When `window` is not a positive integer.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { arange } from "@denoformers/core";
 * import { slidingWindowOverlay } from "./mask_functions.ts";
 *
 * const i = arange(0, 3, 1, { backend: "cpu" });
 * const out = slidingWindowOverlay(2)(i, i, i.reshape([3, 1]), i.reshape([1, 3]));
 * assertEquals(await out.toArray(), [[true, true, true], [true, true, true], [false, true, true]]);
 * ```
 */
export function slidingWindowOverlay(window: number): MaskFunction {
  checkPositiveInteger("a sliding-window overlay", "the window", window);
  return (_b, _h, q, kv) => kv.gt(q.sub(window));
}

/**
 * The sliding-window causal pattern: causal, and at most `window` positions back (itself included).
 *
 * @param window The window size (a positive integer).
 * @returns The mask function.
 * @throws {RangeError} When `window` is not a positive integer.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { arange } from "@denoformers/core";
 * import { slidingWindowCausalMaskFunction } from "./mask_functions.ts";
 *
 * const i = arange(0, 3, 1, { backend: "cpu" });
 * const out = slidingWindowCausalMaskFunction(2)(i, i, i.reshape([3, 1]), i.reshape([1, 3]));
 * assertEquals(await out.toArray(), [[true, false, false], [true, true, false], [false, true, true]]);
 * ```
 */
export function slidingWindowCausalMaskFunction(window: number): MaskFunction {
  return andMasks(slidingWindowOverlay(window), causalMaskFunction);
}

/**
 * A symmetric sliding-window overlay: `|q - kv| <= window` (inclusive, so `2 * window + 1`
 * positions).
 *
 * @param window The half-width (a positive integer).
 * @returns The overlay mask function.
 * @throws {RangeError} When `window` is not a positive integer.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { arange } from "@denoformers/core";
 * import { slidingWindowBidirectionalOverlay } from "./mask_functions.ts";
 *
 * const i = arange(0, 3, 1, { backend: "cpu" });
 * const out = slidingWindowBidirectionalOverlay(1)(i, i, i.reshape([3, 1]), i.reshape([1, 3]));
 * assertEquals(await out.toArray(), [[true, true, false], [true, true, true], [false, true, true]]);
 * ```
 */
export function slidingWindowBidirectionalOverlay(window: number): MaskFunction {
  checkPositiveInteger("a bidirectional sliding-window overlay", "the window", window);
  return (_b, _h, q, kv) => q.sub(kv).abs().le(window);
}

/**
 * The bidirectional sliding-window pattern: the symmetric overlay AND the bidirectional mask.
 *
 * @param window The half-width (a positive integer).
 * @returns The mask function.
 * @throws {RangeError} When `window` is not a positive integer.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { arange } from "@denoformers/core";
 * import { slidingWindowBidirectionalMaskFunction } from "./mask_functions.ts";
 *
 * const i = arange(0, 3, 1, { backend: "cpu" });
 * const fn = slidingWindowBidirectionalMaskFunction(1);
 * assertEquals(await fn(i, i, i.reshape([3, 1]), i.reshape([1, 3])).toArray(), [
 *   [true, true, false],
 *   [true, true, true],
 *   [false, true, true],
 * ]);
 * ```
 */
export function slidingWindowBidirectionalMaskFunction(window: number): MaskFunction {
  return andMasks(slidingWindowBidirectionalOverlay(window), bidirectionalMaskFunction);
}

/**
 * Shifts the query and key/value positions a mask function sees: it is evaluated at
 * `(b, h, q + qOffset, kv + kvOffset)`.
 *
 * @param fn The mask function.
 * @param qOffset Added to query positions.
 * @param kvOffset Added to key/value positions.
 * @returns The shifted mask function.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { arange } from "@denoformers/core";
 * import { addOffsetsToMaskFunction, causalMaskFunction } from "./mask_functions.ts";
 *
 * // One new query after 2 cached tokens sees all 3 keys.
 * const fn = addOffsetsToMaskFunction(causalMaskFunction, 2, 0);
 * const i = arange(0, 3, 1, { backend: "cpu" });
 * assertEquals(await fn(i, i, i.slice(0, 0, 1).reshape([1, 1]), i.reshape([1, 3])).toArray(), [
 *   [true, true, true],
 * ]);
 * ```
 */
export function addOffsetsToMaskFunction(
  fn: MaskFunction,
  qOffset: number,
  kvOffset: number,
): MaskFunction {
  return (b, h, q, kv) =>
    fn(b, h, qOffset === 0 ? q : q.add(qOffset), kvOffset === 0 ? kv : kv.add(kvOffset));
}
