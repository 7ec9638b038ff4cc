/**
 * The peer libraries measured beside us in the same run: tfjs on its cpu, wasm and webgpu
 * backends (4.22, from npm).
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-webgpu";

export { tf };

/** tfjs backends available in this process. */
export const TFJS_BACKENDS: readonly string[] = await (async () => {
  const ok: string[] = [];
  for (const b of ["cpu", "wasm", "webgpu"]) {
    try {
      if (await tf.setBackend(b)) ok.push(b);
    } catch {
      // Not available here (for example no WebGPU adapter).
    }
  }
  return ok;
})();

/**
 * Switches tfjs to a backend (a no-op when it is already active).
 *
 * @param name The tfjs backend.
 */
export async function useTfjs(name: string): Promise<void> {
  if (tf.getBackend() !== name) await tf.setBackend(name);
  await tf.ready();
}

/**
 * Deterministic values in [-1, 1) for benchmark inputs.
 *
 * @param n How many.
 * @returns The values.
 */
export function values(n: number): Float32Array {
  const out = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return out;
}
