// Each committed `*_wasm.ts` must be what `scripts/build_wasm.ts` makes of its WAT source: CI fails
// when a WAT source changes without a rebuild, or when a generated module is edited by hand.
import { assert, assertEquals } from "@std/assert";
import { buildModule, renderModule, WASM_MODULES, wasmFile } from "../../../scripts/build_wasm.ts";
import { GEMM_WASM_BASE64 } from "./gemm_wasm.ts";

for (const spec of WASM_MODULES) {
  Deno.test(`${spec.module} embeds the module assembled from ${spec.wat}`, async () => {
    const built = await buildModule(spec);
    const text = await Deno.readTextFile(wasmFile(spec.module));
    assertEquals(
      text,
      renderModule(spec, built),
      "stale module: run `deno run -A scripts/build_wasm.ts`",
    );
    // Chromium before version 114 compiled at most 4 KiB synchronously on the main thread, and
    // the CPU backend compiles its modules synchronously on first use.
    assert(built.length <= 4096, `${spec.wat}: ${built.length} bytes`);
  });
}

Deno.test("the GEMM module exports its kernel and its memory", () => {
  const module = new WebAssembly.Module(
    Uint8Array.from(atob(GEMM_WASM_BASE64), (c) => c.charCodeAt(0)),
  );
  assertEquals(
    WebAssembly.Module.exports(module).map((e) => `${e.kind} ${e.name}`).sort(),
    ["function gemm", "memory memory"],
  );
});
