/**
 * The global random stream: a seed and a counter of Philox blocks consumed. Every draw (`rand`,
 * `randn`, dropout masks) takes the next blocks, so the same seed and call sequence gives the
 * same numbers on every backend, and saving and restoring the state replays draws exactly.
 *
 * @module
 */

/** A snapshot of the random stream. */
export interface RngState {
  /** The seed. */
  readonly seed: number;
  /** Philox blocks consumed since seeding. */
  readonly offset: number;
}

/** PyTorch's default CPU seed, so unseeded runs are reproducible too. */
const DEFAULT_SEED = 67280421310721;

let seed = DEFAULT_SEED;
let offset = 0;

/**
 * Seeds the random stream (like `torch.manual_seed`).
 *
 * @param value A non-negative integer below 2^53.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { manualSeed, rand } from "@denoformers/core";
 *
 * manualSeed(42);
 * const a = await rand([3], { backend: "cpu" }).data();
 * manualSeed(42);
 * assertEquals(await rand([3], { backend: "cpu" }).data(), a);
 * ```
 */
export function manualSeed(value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot seed the random stream with ${value}: expected a non-negative safe integer`,
    );
  }
  seed = value;
  offset = 0;
}

/**
 * The current state of the random stream.
 *
 * @returns A snapshot to pass to {@linkcode setRngState}.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { getRngState, rand, setRngState } from "@denoformers/core";
 *
 * const state = getRngState();
 * const a = await rand([4], { backend: "cpu" }).data();
 * setRngState(state);
 * assertEquals(await rand([4], { backend: "cpu" }).data(), a);
 * ```
 */
export function getRngState(): RngState {
  return { seed, offset };
}

/**
 * Restores a state taken with {@linkcode getRngState}.
 *
 * @param state The snapshot.
 *
 * @example Usage
 * ```ts
 * import { getRngState, setRngState } from "@denoformers/core";
 *
 * setRngState(getRngState());
 * ```
 */
export function setRngState(state: RngState): void {
  if (
    !Number.isSafeInteger(state.seed) || !Number.isSafeInteger(state.offset) || state.offset < 0
  ) {
    throw new RangeError(
      `Cannot restore random state ${JSON.stringify(state)}: expected safe integers`,
    );
  }
  seed = state.seed;
  offset = state.offset;
}

/** @internal The current seed. */
export function rngSeed(): number {
  return seed;
}

/** @internal Reserves `blocks` Philox blocks and returns the first. */
export function nextRandomOffset(blocks: number): number {
  const first = offset;
  offset += blocks;
  return first;
}
