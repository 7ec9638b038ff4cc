/**
 * Builds the WebAssembly kernels of `@denoformers/core` from their text sources with the `wabt`
 * npm package and writes them as TypeScript modules holding the bytes in base64, so they load with
 * no file system or network access (Deno Deploy, browser bundles).
 *
 * Usage: `deno run -A scripts/build_wasm.ts` (writes every `packages/core/wasm/*_wasm.ts` listed in
 * {@linkcode WASM_MODULES}). `packages/core/wasm/wasm_build_test.ts` rebuilds them all and checks
 * the committed modules are up to date.
 *
 * @module
 */

import wabtInit from "wabt";

/** The pinned `wabt` version (must match the root `deno.json` import). */
export const WABT_VERSION = "1.0.39";

/** The WebAssembly proposals a module may use. */
export interface WasmFeatures {
  /** 128-bit SIMD. */
  readonly simd?: boolean;
  /** Shared memory and atomics. */
  readonly threads?: boolean;
}

/** One WAT source and the generated TypeScript module that embeds its bytes. */
export interface WasmModuleSpec {
  /** The WAT file name in `packages/core/wasm/`. */
  readonly wat: string;
  /** The generated file name in `packages/core/wasm/`. */
  readonly module: string;
  /** The exported base64 constant's name. */
  readonly constant: string;
  /** One line saying what the module is. */
  readonly summary: string;
  /** The proposals it needs. */
  readonly features: WasmFeatures;
}

/** Every WebAssembly module of the core package. */
export const WASM_MODULES: readonly WasmModuleSpec[] = [
  {
    wat: "gemm.wat",
    module: "gemm_wasm.ts",
    constant: "GEMM_WASM_BASE64",
    summary: "The float32 GEMM WebAssembly module assembled from `gemm.wat`",
    features: { simd: true },
  },
  {
    wat: "elementwise.wat",
    module: "elementwise_wasm.ts",
    constant: "ELEMENTWISE_WASM_BASE64",
    summary:
      "The float32 elementwise, GELU and softmax WebAssembly module assembled from `elementwise.wat`",
    features: { simd: true },
  },
  {
    wat: "gemm_shared.wat",
    module: "gemm_shared_wasm.ts",
    constant: "GEMM_SHARED_WASM_BASE64",
    summary: "The float32 GEMM WebAssembly module on an imported shared memory (`gemm_shared.wat`)",
    features: { simd: true, threads: true },
  },
  {
    wat: "norm.wat",
    module: "norm_wasm.ts",
    constant: "NORM_WASM_BASE64",
    summary: "The float32 layer-norm and RMS-norm WebAssembly module assembled from `norm.wat`",
    features: { simd: true },
  },
  {
    wat: "reduce.wat",
    module: "reduce_wasm.ts",
    constant: "REDUCE_WASM_BASE64",
    summary: "The float32 sum WebAssembly module assembled from `reduce.wat`",
    features: { simd: true },
  },
  {
    wat: "gemv.wat",
    module: "gemv_wasm.ts",
    constant: "GEMV_WASM_BASE64",
    summary: "The float32 matrix-vector WebAssembly module assembled from `gemv.wat`",
    features: { simd: true },
  },
];

const WASM_DIR = new URL("../packages/core/wasm/", import.meta.url);

/**
 * The URL of a file in `packages/core/wasm/`.
 *
 * @param name The file name.
 * @returns Its URL.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { wasmFile } from "./build_wasm.ts";
 *
 * assert(wasmFile("gemm.wat").pathname.endsWith("packages/core/wasm/gemm.wat"));
 * ```
 */
export function wasmFile(name: string): URL {
  return new URL(name, WASM_DIR);
}

/**
 * Assembles WAT text into a WebAssembly binary with the given proposals enabled and no debug
 * names, so the output depends only on the source text and the pinned `wabt` version.
 *
 * @param source The WAT text.
 * @param filename The name used in error messages.
 * @param features The proposals to enable (default: SIMD).
 * @returns The module bytes.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { assembleWat } from "./build_wasm.ts";
 *
 * const bytes = await assembleWat("(module)", "empty.wat");
 * assertEquals(bytes, new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
 * ```
 */
export async function assembleWat(
  source: string,
  filename: string,
  features: WasmFeatures = { simd: true },
): Promise<Uint8Array<ArrayBuffer>> {
  const wabt = await wabtInit();
  const enabled = { simd: features.simd ?? false, threads: features.threads ?? false };
  const parsed = wabt.parseWat(filename, source, enabled);
  try {
    parsed.resolveNames();
    // wabt checks the proposals again when validating; its types omit that argument.
    (parsed as unknown as { validate(features: WasmFeatures): void }).validate(enabled);
    const { buffer } = parsed.toBinary({
      log: false,
      canonicalize_lebs: true,
      write_debug_names: false,
    });
    return new Uint8Array(buffer);
  } finally {
    parsed.destroy();
  }
}

/** Encodes bytes as base64. */
function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/**
 * The text of a generated module for the given bytes.
 *
 * @param spec The module.
 * @param bytes The assembled WebAssembly.
 * @returns TypeScript source exporting the bytes as a base64 string constant.
 *
 * @example Usage
 * ```ts
 * import { assertStringIncludes } from "@std/assert";
 * import { renderModule, WASM_MODULES } from "./build_wasm.ts";
 *
 * assertStringIncludes(renderModule(WASM_MODULES[0], new Uint8Array([0, 97, 115, 109])), `"AGFzbQ=="`);
 * ```
 */
export function renderModule(spec: WasmModuleSpec, bytes: Uint8Array): string {
  return `// Generated by scripts/build_wasm.ts from ${spec.wat} (wabt ${WABT_VERSION}). Do not edit.
/**
 * ${spec.summary}, embedded as base64 so that it
 * loads without file system or network access. Rebuild with \`deno run -A scripts/build_wasm.ts\`.
 *
 * @module
 */

/**
 * The module bytes (${bytes.length}), base64-encoded.
 *
 * @example Usage
 * \`\`\`ts
 * import { assert } from "@std/assert";
 * import { ${spec.constant} } from "./${spec.module}";
 *
 * assert(atob(${spec.constant}).startsWith("\\0asm"));
 * \`\`\`
 */
export const ${spec.constant} =
  "${toBase64(bytes)}";
`;
}

/**
 * Assembles one module's WAT source.
 *
 * @param spec The module.
 * @returns The module bytes.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { buildModule, WASM_MODULES } from "./build_wasm.ts";
 *
 * assert(WebAssembly.validate(await buildModule(WASM_MODULES[0])));
 * ```
 */
export async function buildModule(spec: WasmModuleSpec): Promise<Uint8Array<ArrayBuffer>> {
  return await assembleWat(await Deno.readTextFile(wasmFile(spec.wat)), spec.wat, spec.features);
}

if (import.meta.main) {
  for (const spec of WASM_MODULES) {
    const bytes = await buildModule(spec);
    await Deno.writeTextFile(wasmFile(spec.module), renderModule(spec, bytes));
    console.log(`wrote packages/core/wasm/${spec.module} (${bytes.length} bytes of WebAssembly)`);
  }
}
