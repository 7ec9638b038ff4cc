// The shared loader pieces: base64 decoding, the SIMD probe, one instance per module, and views
// that follow the memory as it grows.
import { assert, assertEquals, assertStrictEquals } from "@std/assert";
import {
  decodeBase64,
  instantiateOnce,
  LinearMemoryView,
  wasmSimdAvailable,
} from "./wasm_module.ts";
import { REDUCE_WASM_BASE64 } from "./reduce_wasm.ts";

Deno.test("decodeBase64 round-trips every byte value", () => {
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
  assertEquals(decodeBase64(btoa(String.fromCharCode(...bytes))), bytes);
});

Deno.test("instantiateOnce gives one instance, or null for bytes that are not a module", () => {
  assert(wasmSimdAvailable());
  const load = instantiateOnce<{ memory: WebAssembly.Memory }>(REDUCE_WASM_BASE64);
  const first = load();
  assert(first !== null && first.memory instanceof WebAssembly.Memory);
  assertStrictEquals(load(), first);
  const broken = instantiateOnce(btoa("not wasm"));
  assertEquals(broken(), null);
  assertEquals(broken(), null);
});

Deno.test("LinearMemoryView grows the memory, follows it, and refuses past its caps", () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 4 });
  const heap = new LinearMemoryView();
  const small = heap.reserve(memory, 100)!;
  assertEquals(small.length, 16_384);
  small[0] = 7;
  const grown = heap.reserve(memory, 40_000)!;
  assertEquals(grown.length, 49_152);
  assertEquals(grown[0], 7, "growing keeps the contents");
  assertStrictEquals(heap.reserve(memory, 10), grown, "the view is reused until the memory grows");
  assertEquals(heap.reserve(memory, 70_000), null, "past the memory's maximum");
  assertEquals(heap.reserve(memory, 100, 50), null, "past the caller's cap");
});
