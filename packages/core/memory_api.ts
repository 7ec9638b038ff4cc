/**
 * `memory()`, reporting on the current backend unless one is named.
 *
 * @module
 */

import type { BackendName } from "./backends/backend.ts";
import { getBackend } from "./backends/registry.ts";
import { type MemoryInfo, memoryOf } from "./memory.ts";

/**
 * Live tensors, live bytes and peak bytes on a backend (the current one by default).
 *
 * @param backend The backend.
 * @returns The counters.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { memory } from "@denoformers/core";
 *
 * const m = memory("cpu");
 * assert(m.peakBytes >= m.liveBytes);
 * ```
 */
export function memory(backend?: BackendName): MemoryInfo {
  return memoryOf(backend ?? getBackend());
}
