/**
 * Which backends exist, which one new tensors go to, and how to switch.
 *
 * @module
 */

import type { Backend, BackendName } from "./backend.ts";
import { CpuBackend } from "./cpu.ts";
import { createWebGpuBackend, getAdapter, type WebGpuBackend } from "./webgpu/webgpu.ts";

const cpu = new CpuBackend();
let webgpu: WebGpuBackend | null | undefined;
let current: Backend = cpu;

/**
 * The backend object for a name; WebGPU must have been set up by {@linkcode setBackend}.
 *
 * @param name The backend name (default: the current one).
 * @returns The backend.
 * @throws {Error} When WebGPU has not been initialised.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { backendOf } from "./registry.ts";
 *
 * assertEquals(backendOf("cpu").name, "cpu");
 * ```
 */
export function backendOf(name?: BackendName): Backend {
  if (name === undefined) return current;
  if (name === "cpu") return cpu;
  if (name === "webgpu") {
    if (!webgpu) {
      throw new Error(
        `Cannot use backend "webgpu": ${
          webgpu === null
            ? "no WebGPU adapter is available"
            : 'call `await setBackend("webgpu")` first'
        }`,
      );
    }
    return webgpu;
  }
  return name satisfies never;
}

/**
 * The name of the backend new tensors are created on.
 *
 * @returns `"cpu"` until {@linkcode setBackend} picks another.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { getBackend } from "@denoformers/core";
 *
 * assert(["cpu", "webgpu"].includes(getBackend()));
 * ```
 */
export function getBackend(): BackendName {
  return current.name;
}

async function initWebGpu(): Promise<WebGpuBackend | null> {
  if (webgpu === undefined) {
    webgpu = await createWebGpuBackend();
    const gpu = webgpu;
    // Destroy the device before the process exits: tearing down a live device during exit has
    // crashed Mesa's software driver now and then ("corrupted size vs. prev_size").
    if (gpu) globalThis.addEventListener("unload", () => gpu.destroy());
    webgpu?.device.lost.then(() => {
      if (current === webgpu) current = cpu;
      webgpu = undefined;
    });
  }
  return webgpu;
}

/**
 * Chooses the backend for new tensors. Without an argument it picks WebGPU when an adapter exists
 * and the CPU otherwise.
 *
 * @param name The backend, or nothing for the best available.
 * @returns The name of the backend now in use.
 * @throws {Error} When `"webgpu"` is requested and no adapter exists.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { getBackend, setBackend } from "@denoformers/core";
 *
 * await setBackend("cpu");
 * assertEquals(getBackend(), "cpu");
 * ```
 */
export async function setBackend(name?: BackendName): Promise<BackendName> {
  if (name === "cpu") {
    current = cpu;
  } else if (name === "webgpu") {
    const gpu = await initWebGpu();
    if (!gpu) throw new Error('Cannot use backend "webgpu": no WebGPU adapter is available');
    current = gpu;
  } else {
    current = (await initWebGpu()) ?? cpu;
  }
  return current.name;
}

/**
 * The backends usable on this machine, best first.
 *
 * @returns `["webgpu", "cpu"]` when an adapter exists, else `["cpu"]`.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { availableBackends } from "@denoformers/core";
 *
 * assert((await availableBackends()).includes("cpu"));
 * ```
 */
export async function availableBackends(): Promise<BackendName[]> {
  if (webgpu) return ["webgpu", "cpu"];
  if (webgpu === null) return ["cpu"];
  return (await getAdapter()) ? ["webgpu", "cpu"] : ["cpu"];
}

/**
 * Runs `fn` with `name` as the current backend (initialising it first), then restores the
 * previous one. Modules built inside create their parameters there.
 *
 * @typeParam T The return type.
 * @param name The backend (nothing: keep the current one).
 * @param fn A synchronous function.
 * @returns What `fn` returns.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { withBackend } from "./registry.ts";
 * import { tensor } from "../creation.ts";
 *
 * const t = await withBackend("cpu", () => tensor([1]));
 * assertEquals(t.backend, "cpu");
 * ```
 */
export async function withBackend<T>(name: BackendName | undefined, fn: () => T): Promise<T> {
  if (!name) return fn();
  const prev = current;
  await setBackend(name);
  try {
    return fn();
  } finally {
    current = prev;
  }
}
