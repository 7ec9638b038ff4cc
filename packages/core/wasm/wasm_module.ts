/**
 * What every embedded WebAssembly kernel module needs: decoding its base64 bytes, checking once
 * that WebAssembly with 128-bit SIMD exists, instantiating it once, and float32 views of its linear
 * memory that grow it on demand.
 *
 * @module
 */

/** `(module (func (result v128) (v128.const i64x2 0 0)))`: validates only where SIMD exists. */
const SIMD_PROBE = "AGFzbQEAAAABBQFgAAF7AwIBAAoWARQA/QwAAAAAAAAAAAAAAAAAAAAACw==";

/**
 * Decodes base64 text into bytes.
 *
 * @param base64 The text.
 * @returns The bytes.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { decodeBase64 } from "./wasm_module.ts";
 *
 * assertEquals(decodeBase64("AGFzbQ=="), new Uint8Array([0, 97, 115, 109]));
 * ```
 */
export function decodeBase64(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

let simd: boolean | undefined;

/**
 * Whether WebAssembly with 128-bit SIMD is available here (probed once).
 *
 * @returns `true` in Deno, on Deno Deploy and in current browsers.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { wasmSimdAvailable } from "./wasm_module.ts";
 *
 * assertEquals(wasmSimdAvailable(), true);
 * ```
 */
export function wasmSimdAvailable(): boolean {
  if (simd === undefined) {
    try {
      simd = typeof WebAssembly === "object" && WebAssembly.validate(decodeBase64(SIMD_PROBE));
    } catch {
      simd = false;
    }
  }
  return simd;
}

/**
 * A loader that instantiates an embedded SIMD module on first call and returns its exports from
 * then on, or `null` (every time) where WebAssembly SIMD is missing or instantiation failed.
 *
 * @typeParam E The exports' type.
 * @param base64 The module bytes, base64-encoded.
 * @returns The loader.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { instantiateOnce } from "./wasm_module.ts";
 * import { REDUCE_WASM_BASE64 } from "./reduce_wasm.ts";
 *
 * const load = instantiateOnce<{ memory: WebAssembly.Memory }>(REDUCE_WASM_BASE64);
 * assert(load() === load());
 * ```
 */
export function instantiateOnce<E>(base64: string): () => E | null {
  let exports: E | null | undefined;
  return () => {
    if (exports !== undefined) return exports;
    exports = null;
    if (!wasmSimdAvailable()) return null;
    try {
      const module = new WebAssembly.Module(decodeBase64(base64));
      exports = new WebAssembly.Instance(module).exports as unknown as E;
    } catch {
      exports = null;
    }
    return exports;
  };
}

/** A float32 view of a module's linear memory, re-made whenever the memory grows. */
export class LinearMemoryView {
  #view: Float32Array = new Float32Array(0);

  /**
   * A float32 view of at least `floats` elements of `memory`, growing it if needed.
   *
   * @param memory The module's memory.
   * @param floats The elements needed.
   * @param maxFloats The most to allow (default: as far as the memory grows).
   * @returns The view, or `null` past `maxFloats` or when the memory cannot grow that far.
   *
   * @example Usage
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { LinearMemoryView } from "./wasm_module.ts";
   *
   * const memory = new WebAssembly.Memory({ initial: 1, maximum: 2 });
   * const heap = new LinearMemoryView();
   * assertEquals(heap.reserve(memory, 20_000)?.length, 32_768);
   * assertEquals(heap.reserve(memory, 40_000), null);
   * ```
   */
  reserve(memory: WebAssembly.Memory, floats: number, maxFloats = Infinity): Float32Array | null {
    if (floats > maxFloats) return null;
    const have = memory.buffer.byteLength;
    try {
      if (have < floats * 4) memory.grow(Math.ceil((floats * 4 - have) / 65536));
    } catch {
      return null;
    }
    const buffer = memory.buffer;
    if (this.#view.buffer !== buffer) this.#view = new Float32Array(buffer);
    return this.#view;
  }
}
