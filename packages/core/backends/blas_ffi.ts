/**
 * Float32 matmul on a native CBLAS (OpenBLAS, Apple Accelerate, or any library named by
 * `DENOFORMERS_BLAS`) through Deno FFI. Entirely optional: the library is looked for once, and
 * only where `Deno.dlopen` exists and the ffi permission is already granted (`--allow-ffi`), so it
 * never prompts and never runs on Deno Deploy or in a browser. Where no library loads,
 * {@linkcode blasAvailable} is `false` and {@linkcode blasMatmul} declines, so the CPU backend
 * falls back to its WebAssembly and TypeScript kernels.
 *
 * The look-up happens when this module is evaluated (about 5 ms for OpenBLAS; nothing at all
 * without the permission), not at the first matmul: test runners that count open resources (Deno
 * 2.5's `deno test` counts dynamic libraries) would otherwise report the library as leaked by
 * whichever test happened to run the first float32 matmul.
 *
 * Candidates, in order: the path in `DENOFORMERS_BLAS` (`0` turns native BLAS off), then
 * `libopenblas.so.0`, `libopenblas.so`, and Debian's `libblas.so.3` / `libcblas.so.3` alternatives
 * when they point at OpenBLAS (a reference BLAS is slower than the WebAssembly kernel, so a generic
 * BLAS is only used when named explicitly); on macOS Homebrew's OpenBLAS and Accelerate.
 *
 * @module
 */

import { matrixOffsets } from "../ops/cpu_util.ts";
import type { CpuView } from "../ops/op_def.ts";
import type { TypedArray } from "../dtype.ts";

const SYMBOLS = {
  cblas_sgemm: {
    // order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "f32",
      "buffer",
      "i32",
    ],
    result: "void",
  },
  openblas_get_config: { parameters: [], result: "pointer", optional: true },
  openblas_get_num_threads: { parameters: [], result: "i32", optional: true },
  openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
} as const;

type BlasLibrary = Deno.DynamicLibrary<typeof SYMBOLS>;

/** CBLAS enum values. */
const ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;
/** The largest dimension or leading dimension a 32-bit BLAS integer holds. */
const INT_MAX = 0x7fffffff;
const ENV = "DENOFORMERS_BLAS";

/** Libraries tried by name; `trusted: false` ones are kept only when they turn out to be OpenBLAS. */
const CANDIDATES: Readonly<Record<string, readonly { path: string; trusted: boolean }[]>> = {
  linux: [
    { path: "libopenblas.so.0", trusted: true },
    { path: "libopenblas.so", trusted: true },
    { path: "libblas.so.3", trusted: false },
    { path: "libcblas.so.3", trusted: false },
  ],
  darwin: [
    { path: "/opt/homebrew/opt/openblas/lib/libopenblas.dylib", trusted: true },
    { path: "/usr/local/opt/openblas/lib/libopenblas.dylib", trusted: true },
    { path: "/System/Library/Frameworks/Accelerate.framework/Accelerate", trusted: true },
  ],
  windows: [{ path: "libopenblas.dll", trusted: true }],
};

/** What was loaded, as {@linkcode blasInfo} reports it. */
export interface BlasInfo {
  /** The path or library name that loaded. */
  readonly path: string;
  /** `openblas_get_config()` where the library exports it (OpenBLAS), else `null`. */
  readonly config: string | null;
  /** `openblas_get_num_threads()` where the library exports it, else `null`. */
  readonly threads: number | null;
}

let loaded: { lib: BlasLibrary; path: string } | null | undefined;

function denoGlobal(): typeof Deno | undefined {
  return (globalThis as { Deno?: typeof Deno }).Deno;
}

/** `true` when `descriptor` is granted already (a query never prompts; any failure is `false`). */
function granted(deno: typeof Deno, descriptor: Deno.PermissionDescriptor): boolean {
  try {
    return deno.permissions?.querySync?.(descriptor).state === "granted";
  } catch {
    return false;
  }
}

function envSetting(deno: typeof Deno): string | undefined {
  if (!granted(deno, { name: "env", variable: ENV })) return undefined;
  try {
    return deno.env.get(ENV) || undefined;
  } catch {
    return undefined;
  }
}

function open(deno: typeof Deno, path: string, trusted: boolean): BlasLibrary | null {
  let lib: BlasLibrary;
  try {
    lib = deno.dlopen(path, SYMBOLS);
  } catch {
    return null;
  }
  if (trusted || lib.symbols.openblas_get_config !== null) return lib;
  lib.close();
  return null;
}

function load(): { lib: BlasLibrary; path: string } | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  const deno = denoGlobal();
  if (typeof deno?.dlopen !== "function") return null;
  const explicit = envSetting(deno);
  if (explicit === "0") return null;
  const all = granted(deno, { name: "ffi" });
  const candidates = [
    ...(explicit ? [{ path: explicit, trusted: true }] : []),
    ...(CANDIDATES[deno.build.os] ?? []),
  ];
  for (const { path, trusted } of candidates) {
    if (!all && !granted(deno, { name: "ffi", path })) continue;
    const lib = open(deno, path, trusted);
    if (lib) return loaded = { lib, path };
  }
  return null;
}

load();

/**
 * Whether a native BLAS loaded (it needs `--allow-ffi` and a CBLAS library; see the module doc).
 * The answer never changes within a process.
 *
 * @returns `true` when {@linkcode blasMatmul} can run float32 products.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { blasAvailable } from "./blas_ffi.ts";
 *
 * assertEquals(typeof blasAvailable(), "boolean");
 * ```
 */
export function blasAvailable(): boolean {
  return load() !== null;
}

/**
 * Which native BLAS loaded, or `null` when none did.
 *
 * @returns The library path, its build configuration and thread count where it reports them.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { blasAvailable, blasInfo } from "./blas_ffi.ts";
 *
 * assertEquals(blasInfo() !== null, blasAvailable());
 * ```
 */
export function blasInfo(): BlasInfo | null {
  const l = load();
  if (l === null) return null;
  const { openblas_get_config: config, openblas_get_num_threads: threads } = l.lib.symbols;
  const pointer = config?.() ?? null;
  return {
    path: l.path,
    config: pointer === null ? null : Deno.UnsafePointerView.getCString(pointer),
    threads: threads?.() ?? null,
  };
}

/**
 * Sets how many threads the native BLAS may use (`openblas_set_num_threads`), for the whole
 * process. OpenBLAS starts with one thread per core, or `OPENBLAS_NUM_THREADS`.
 *
 * @param threads A positive integer.
 * @returns `true` when the library took the setting; `false` when no BLAS loaded or it has no
 * such control.
 * @throws {RangeError} When `threads` is not a positive integer.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { blasInfo, setBlasThreads } from "./blas_ffi.ts";
 *
 * const before = blasInfo()?.threads ?? null;
 * if (setBlasThreads(1)) {
 *   assertEquals(blasInfo()?.threads, 1);
 *   setBlasThreads(before ?? 1);
 * }
 * ```
 */
export function setBlasThreads(threads: number): boolean {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new RangeError(
      `Cannot set BLAS threads: expected a positive integer, got ${threads}`,
    );
  }
  const set = load()?.lib.symbols.openblas_set_num_threads ?? null;
  if (set === null) return false;
  set(threads);
  return true;
}

/** How sgemm reads a strided `[rows, cols]` operand: as stored, or as the transpose of storage. */
interface Layout {
  readonly trans: boolean;
  /** The leading dimension (elements between stored rows). */
  readonly ld: number;
}

/**
 * The sgemm layout of a `[rows, cols]` view with strides `rs`, `cs`, or `null` when neither
 * storage order fits (non-unit inner stride, overlapping rows). A size-1 dimension's stride is
 * never read, so it does not constrain the layout.
 */
function layoutOf(rows: number, cols: number, rs: number, cs: number): Layout | null {
  if ((cols <= 1 || cs === 1) && (rows <= 1 || rs >= cols)) {
    const ld = rows <= 1 ? Math.max(1, cols) : rs;
    return ld <= INT_MAX ? { trans: false, ld } : null;
  }
  if ((rows <= 1 || rs === 1) && (cols <= 1 || cs >= rows)) {
    const ld = cols <= 1 ? Math.max(1, rows) : cs;
    return ld <= INT_MAX ? { trans: true, ld } : null;
  }
  return null;
}

/** Copies a strided `[rows, cols]` view into a dense row-major buffer. */
function pack(
  src: Float32Array,
  off: number,
  rows: number,
  cols: number,
  rs: number,
  cs: number,
  dst: Float32Array,
): void {
  let p = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0, o = off + r * rs; c < cols; c++, o += cs) dst[p++] = src[o];
  }
}

/**
 * A view from element `offset` on, to pass as an FFI `buffer` (a pointer to its first element).
 * Deno's FFI takes views of a `SharedArrayBuffer` too; older type definitions only admit
 * `ArrayBuffer`-backed ones, hence the cast.
 */
function at(data: Float32Array, offset: number): Float32Array<ArrayBuffer> {
  return data.subarray(offset) as Float32Array<ArrayBuffer>;
}

/** One operand ready for sgemm: the buffer and offset of each batch's matrix, and its layout. */
interface Prepared {
  readonly data: Float32Array;
  readonly offsets: Int32Array;
  readonly layout: Layout;
}

/**
 * Resolves an operand's batch offsets and layout; when its strides fit no sgemm layout, packs each
 * distinct batch matrix into a dense temporary (broadcast batches are packed once).
 */
function prepare(x: CpuView & { data: Float32Array }, batch: readonly number[]): Prepared {
  const [rows, cols] = x.shape.slice(-2);
  const [rs, cs] = x.strides.slice(-2);
  const offsets = matrixOffsets(x, batch);
  const layout = layoutOf(rows, cols, rs, cs);
  if (layout !== null) return { data: x.data, offsets, layout };
  const size = rows * cols;
  const distinct = new Map<number, number>();
  for (const o of offsets) if (!distinct.has(o)) distinct.set(o, distinct.size * size);
  const data = new Float32Array(distinct.size * size);
  for (const [o, at] of distinct) pack(x.data, o, rows, cols, rs, cs, data.subarray(at));
  return {
    data,
    offsets: offsets.map((o) => distinct.get(o)!),
    layout: { trans: false, ld: Math.max(1, cols) },
  };
}

/**
 * Batched float32 matmul `[...B, M, K] @ [...B, K, N] -> [...B, M, N]` on the native BLAS
 * (`cblas_sgemm`), with the operands given as strided views whose batch dimensions broadcast to
 * `batch`. Row-major and transposed views (strides `[ld, 1]` or `[1, ld]`) and offsets go to sgemm
 * without a copy; other strides are packed first. A batch that broadcasts the right operand over a
 * row-major left operand runs as one `[B·M, K] @ [K, N]` call.
 *
 * @param inputs The two operands (any strides and offsets; batch dimensions broadcast).
 * @param out The contiguous output, `sizeOf(batch) * M * N` elements.
 * @param batch The broadcast batch shape of the output.
 * @returns `false` without touching `out` when no BLAS loaded or the operands or output are not
 * float32 or exceed 32-bit BLAS sizes; `true` once `out` holds the product.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { blasAvailable, blasMatmul } from "./blas_ffi.ts";
 *
 * const a = { data: new Float32Array([1, 2, 3, 4]), shape: [2, 2], strides: [2, 1], offset: 0, dtype: "float32" as const };
 * const out = new Float32Array(4);
 * assertEquals(blasMatmul([a, a], out, []), blasAvailable());
 * if (blasAvailable()) assertEquals(Array.from(out), [7, 10, 15, 22]);
 * ```
 */
export function blasMatmul(
  inputs: readonly CpuView[],
  out: TypedArray,
  batch: readonly number[],
): boolean {
  const [a, b] = inputs;
  if (
    a.dtype !== "float32" || b.dtype !== "float32" || !(a.data instanceof Float32Array) ||
    !(b.data instanceof Float32Array) || !(out instanceof Float32Array)
  ) return false;
  const [M, K] = a.shape.slice(-2);
  const N = b.shape[b.shape.length - 1];
  if (M > INT_MAX || N > INT_MAX || K > INT_MAX) return false;
  const l = load();
  if (l === null) return false;
  if (M * N === 0) return true;
  if (K === 0) {
    out.fill(0);
    return true;
  }
  const pa = prepare(a as CpuView & { data: Float32Array }, batch);
  const pb = prepare(b as CpuView & { data: Float32Array }, batch);
  const sgemm = l.lib.symbols.cblas_sgemm;
  const call = (i: number, rows: number): void =>
    sgemm(
      ROW_MAJOR,
      pa.layout.trans ? TRANS : NO_TRANS,
      pb.layout.trans ? TRANS : NO_TRANS,
      rows,
      N,
      K,
      1,
      at(pa.data, pa.offsets[i]),
      pa.layout.ld,
      at(pb.data, pb.offsets[i]),
      pb.layout.ld,
      0,
      at(out, i * M * N),
      N,
    );
  const count = pa.offsets.length;
  if (count > 1 && M * count <= INT_MAX && stacksRows(pa, pb.offsets, M)) call(0, M * count);
  else for (let i = 0; i < count; i++) call(i, M);
  return true;
}

/**
 * Whether every batch uses the same right operand and the left operand's batch matrices follow
 * each other row after row (so the batch is one tall product).
 */
function stacksRows(a: Prepared, bOffsets: Int32Array, M: number): boolean {
  if (a.layout.trans) return false;
  const step = M * a.layout.ld;
  for (let i = 1; i < bOffsets.length; i++) {
    if (bOffsets[i] !== bOffsets[0] || a.offsets[i] !== a.offsets[0] + i * step) return false;
  }
  return true;
}
