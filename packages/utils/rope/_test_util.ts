// Test helpers for rope/: core's shared ones, plus inputs in [-1, 1).
import { testRng } from "@denoformers/core/testing";

export { assertAllClose, testBackends, webgpuAvailable } from "@denoformers/core/testing";

/**
 * A seeded generator of test inputs in `[-1, 1)`.
 *
 * @param seed The seed.
 * @returns A function drawing the next value.
 */
export function testRandom(seed: number): () => number {
  const next = testRng(seed);
  return () => next() * 2 - 1;
}
