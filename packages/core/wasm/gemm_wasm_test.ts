// The committed `gemm_wasm.ts` must be what `scripts/build_wasm.ts` makes of `gemm.wat`: CI fails
// when the WAT source changes without a rebuild, or when the generated module is edited by hand.
import { assert, assertEquals } from "@std/assert";
import { buildGemm, GEMM_MODULE, renderGemmModule } from "../../../scripts/build_wasm.ts";
import { GEMM_WASM_BASE64 } from "./gemm_wasm.ts";

Deno.test("gemm_wasm.ts embeds the module assembled from gemm.wat", async () => {
  const built = await buildGemm();
  const embedded = Uint8Array.from(atob(GEMM_WASM_BASE64), (c) => c.charCodeAt(0));
  assertEquals(embedded, built, "stale module: run `deno run -A scripts/build_wasm.ts`");
  assertEquals(await Deno.readTextFile(GEMM_MODULE), renderGemmModule(built));
});

Deno.test("the GEMM module stays under the 4 KiB older Chromium compiled synchronously", () => {
  const bytes = atob(GEMM_WASM_BASE64).length;
  assert(bytes <= 4096, `${bytes} bytes`);
  const module = new WebAssembly.Module(
    Uint8Array.from(atob(GEMM_WASM_BASE64), (c) => c.charCodeAt(0)),
  );
  assertEquals(
    WebAssembly.Module.exports(module).map((e) => `${e.kind} ${e.name}`).sort(),
    ["function gemm", "memory memory"],
  );
});
