/**
 * Test helpers for packages built on core: register one `Deno.test` per available backend, compare
 * arrays with tolerances, and draw deterministic test inputs. Exported as `@denoformers/core/testing`.
 *
 * @module
 */

import { getAdapter } from "../backends/webgpu/webgpu.ts";
import { getBackend, setBackend } from "../backends/registry.ts";
import type { BackendName } from "../backends/backend.ts";

/** Whether this machine has a WebGPU adapter (WebGPU tests are ignored otherwise). */
export const webgpuAvailable: boolean = (await getAdapter()) !== null;

/** Every backend usable here. */
export const BACKENDS: readonly BackendName[] = webgpuAvailable ? ["cpu", "webgpu"] : ["cpu"];

/**
 * Registers `fn` once per backend as `"<name> [<backend>]"`, with that backend current while it
 * runs. The WebGPU variant is ignored where no adapter exists, or when `ignoreWebgpu` says so (e.g.
 * a test that needs an adapter feature this one lacks).
 *
 * @param name The test name.
 * @param fn The test body; receives the backend name.
 * @param options `ignoreWebgpu` also ignores the WebGPU variant.
 *
 * @example Usage
 * ```ts ignore
 * import { assertEquals } from "@std/assert";
 * import { tensor } from "@denoformers/core";
 * import { testBackends } from "@denoformers/core/testing";
 *
 * testBackends("add is elementwise", async () => {
 *   assertEquals(Array.from(await tensor([1, 2]).add(1).data()), [2, 3]);
 * });
 * ```
 */
export function testBackends(
  name: string,
  fn: (backend: BackendName) => Promise<void> | void,
  options: { ignoreWebgpu?: boolean } = {},
): void {
  for (const backend of ["cpu", "webgpu"] as const) {
    const ignore = backend === "webgpu" && options.ignoreWebgpu === true;
    testOnBackend(backend, `${name} [${backend}]`, () => fn(backend), ignore);
  }
}

/**
 * Registers one test that runs `fn` with `backend` current and restores the previous backend
 * after it. A WebGPU test is ignored where no adapter exists.
 *
 * @param backend The backend to make current.
 * @param name The test name.
 * @param fn The test body.
 * @param ignore Also ignore the test when `true`.
 *
 * @example Usage
 * ```ts ignore
 * import { assertEquals } from "@std/assert";
 * import { getBackend } from "@denoformers/core";
 * import { testOnBackend } from "@denoformers/core/testing";
 *
 * testOnBackend("webgpu", "runs on WebGPU", () => assertEquals(getBackend(), "webgpu"));
 * ```
 */
export function testOnBackend(
  backend: BackendName,
  name: string,
  fn: () => Promise<void> | void,
  ignore = false,
): void {
  Deno.test({
    name,
    ignore: ignore || (backend === "webgpu" && !webgpuAvailable),
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const prev = getBackend();
      await setBackend(backend);
      try {
        await fn();
      } finally {
        await setBackend(prev);
      }
    },
  });
}

/**
 * Asserts `actual ≈ expected` elementwise: `|a - e| <= atol + rtol * |e|`, NaNs and infinities
 * matching exactly.
 *
 * @param actual Values under test.
 * @param expected Reference values.
 * @param options Tolerances (default `rtol` 1e-5, `atol` 1e-6) and a label for the message.
 */
export function assertAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  options: { rtol?: number; atol?: number; label?: string } = {},
): void {
  const { rtol = 1e-5, atol = 1e-6, label = "" } = options;
  if (actual.length !== expected.length) {
    throw new Error(`${label}: length ${actual.length} differs from expected ${expected.length}`);
  }
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) || !Number.isFinite(e)) {
      if (Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e))) continue;
    } else if (Math.abs(a - e) <= atol + rtol * Math.abs(e)) continue;
    throw new Error(
      `${label}: element ${i} is ${a}, expected ${e} (|diff| ${
        Math.abs(a - e)
      } > ${atol} + ${rtol}·|expected|)`,
    );
  }
}

/**
 * A deterministic pseudo-random generator for test inputs (mulberry32).
 *
 * @param seed The seed.
 * @returns A function returning floats in `[0, 1)`.
 */
export function testRng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
