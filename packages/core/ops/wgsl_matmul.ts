/**
 * WGSL matmul kernel generator tuned for Mesa's llvmpipe/lavapipe (software Vulkan).
 *
 * llvmpipe runs 8 invocations as the lanes of one AVX2 vector, but every storage-buffer load
 * becomes a loop over those 8 lanes with a bounds check per component. Loads therefore cost
 * 20–40 times as much as an 8-wide FMA, and the kernel is designed around issuing few of them:
 *
 * - Register blocking: each invocation accumulates a `tm × tn` block (up to 12 × 12), so one
 *   k-step of 4 issues `tm + tn` vec4 loads for `4·tm·tn` multiply-adds.
 * - vec4 loads along whichever dimension of each operand is unit-stride and 16-byte aligned (K
 *   for row-major A or transposed B, M/N for transposed A or row-major B), scalar loads otherwise.
 *   Every layout does the same arithmetic, so `x @ W^T` runs as fast as `x @ W`.
 * - No workgroup memory: `workgroupBarrier` is a coroutine switch on llvmpipe, and a
 *   shared-memory version of the same register tile measured about half the speed.
 * - Workgroups of 8 invocations (one SIMD group), so that the tile each CPU thread walks through
 *   stays small and partial tiles at the edges waste little work; the tile and workgroup shape
 *   come from a small menu, picked by a load-count cost model.
 * - Workgroups are numbered down bands of 8 row tiles, so consecutive workgroups share both
 *   their A rows and their B columns in the CPU's L2 cache (up to 1.4× faster than row order for
 *   wide outputs such as `[128, 768] @ [768, 3072]`).
 *
 * The shader is specialised on the load mode of each operand, whether the output can be stored
 * as vec4, and the tile shape; sizes, strides and offsets travel in the uniforms.
 *
 * @module
 */

import { splitWorkgroups, type WgslProgram } from "./wgsl_program.ts";

/**
 * Element-strided layout of one matmul operand. For A: a[b, i, p] = bufA[offset + b*batchStride + i*rowStride + p*colStride] (i over M, p over K). For B: b[b, p, j] = bufB[offset + b*batchStride + p*rowStride + j*colStride] (p over K, j over N). batchStride may be 0 (broadcast).
 *
 * @example A Linear layer's weight `[out, in]` read in place as the `[in, out]` operand B
 * ```ts
 * import type { MatmulOperand } from "./wgsl_matmul.ts";
 *
 * const inFeatures = 768;
 * const weightT: MatmulOperand = { offset: 0, batchStride: 0, rowStride: 1, colStride: inFeatures };
 * ```
 */
export interface MatmulOperand {
  /** Element offset of `[0, 0, 0]` in the buffer. */
  offset: number;
  /** Elements between consecutive batch entries (0 broadcasts the operand). */
  batchStride: number;
  /** Elements between consecutive rows (over M for A, over K for B). */
  rowStride: number;
  /** Elements between consecutive columns (over K for A, over N for B). */
  colStride: number;
}

/**
 * Sizes and operand layouts of a batched matmul `[batch, m, k] @ [batch, k, n]`.
 *
 * @example Attention scores `q @ k^T` for 12 heads of 128 tokens × 64 features
 * ```ts
 * import type { MatmulSpec } from "./wgsl_matmul.ts";
 *
 * const [heads, seq, dim] = [12, 128, 64];
 * const scores: MatmulSpec = {
 *   batch: heads,
 *   m: seq,
 *   n: seq,
 *   k: dim,
 *   a: { offset: 0, batchStride: seq * dim, rowStride: dim, colStride: 1 },
 *   b: { offset: 0, batchStride: seq * dim, rowStride: 1, colStride: dim },
 * };
 * ```
 */
export interface MatmulSpec {
  /** Number of matrices in the batch. */
  batch: number;
  /** Rows of A and of the output. */
  m: number;
  /** Columns of B and of the output. */
  n: number;
  /** Columns of A, rows of B (the reduced dimension). */
  k: number;
  /** Layout of the left operand. */
  a: MatmulOperand;
  /** Layout of the right operand. */
  b: MatmulOperand;
}

/** How an operand is read: vec4 along K, vec4 along its outer dimension (M or N), or scalars. */
type LoadMode = "k4" | "x4" | "s";

/** Rows × columns per invocation and invocations along N × along M per workgroup. */
interface Tile {
  tm: number;
  tn: number;
  wgx: number;
  wgy: number;
}

const TILE_ROWS = [1, 4, 8, 12, 16] as const;
const TILE_COLS = [1, 4, 8, 12] as const;
/** 8 invocations are one llvmpipe SIMD group; lanes along N, along M, or a mix. */
const WG_SHAPES = [[8, 1], [4, 2], [2, 4], [1, 8]] as const;
const SWIZZLE = ["x", "y", "z", "w"] as const;
/** Row tiles per band of the workgroup order (bands of 8, 16 and 32 measured alike). */
const ROW_GROUP = 8;

/**
 * vec4 loads need a unit stride along the loaded dimension and 16-byte alignment of every row
 * start; `kUnit` / `xUnit` say whether K / the outer dimension may be read contiguously.
 */
function loadMode(
  op: MatmulOperand,
  kStride: number,
  xStride: number,
  kUnit: boolean,
  xUnit: boolean,
  tile: number,
): LoadMode {
  const aligned = op.offset % 4 === 0 && op.batchStride % 4 === 0;
  if (aligned && kUnit && xStride % 4 === 0) return "k4";
  if (aligned && xUnit && kStride % 4 === 0 && tile % 4 === 0) return "x4";
  return "s";
}

/**
 * Relative cost of running `spec` with `tile`, in units of one 8-wide FMA. Measured on llvmpipe:
 * a vec4 load costs about 11, a scalar load about 4, an FMA about 0.3 while the accumulators fit
 * in registers, more once they spill; each k-step also pays for the loop and for the latency of
 * the streams it starts, which favours tall tiles for matrix-vector shapes.
 */
function tileCost(spec: MatmulSpec, t: Tile, am: LoadMode, bm: LoadMode): number {
  const load = (mode: LoadMode, side: number) => (mode === "s" ? 16 : 11) * side;
  const outputs = t.tm * t.tn;
  const fma = outputs * (outputs <= 96 ? 0.3 : outputs <= 144 ? 0.6 : 1.2);
  const step = load(am, t.tm) + load(bm, t.tn) + fma + 20;
  const perThread = Math.ceil(spec.k / 4) * step + 11 * t.tm * Math.ceil(t.tn / 4) + 40;
  const groups = Math.ceil(spec.m / (t.tm * t.wgy)) * Math.ceil(spec.n / (t.tn * t.wgx)) *
    spec.batch;
  // Two CPU threads run workgroups: a lone workgroup leaves one idle. Other workgroup shapes
  // must win by 5% to be used, so that near-square sizes share one pipeline.
  const bias = t.wgx === 8 ? 1 : 1.05;
  return bias * Math.ceil(groups / 2) * 2 * (t.wgx * t.wgy * perThread + 100);
}

/** Drops strides of size-1 dimensions so they cannot spoil the alignment checks. */
function normalize(spec: MatmulSpec): MatmulSpec {
  const { batch, m, n, k } = spec;
  const fix = (op: MatmulOperand, rows: number, cols: number): MatmulOperand => ({
    offset: op.offset,
    batchStride: batch === 1 ? 0 : op.batchStride,
    rowStride: rows === 1 ? 0 : op.rowStride,
    colStride: cols === 1 ? 0 : op.colStride,
  });
  return { batch, m, n, k, a: fix(spec.a, m, k), b: fix(spec.b, k, n) };
}

/**
 * Builds the program computing out[b, i, j] = sum_p a[b,i,p]*b[b,p,j] into a contiguous float32 [batch, m, n] output. Bindings: 0 = A (array of f32 or vec4<f32>, read), 1 = B (read), 2 = out (read_write), 3 = uniforms.
 *
 * Offsets and strides must be non-negative element counts. Operands whose loaded dimension is
 * unit-stride and whose offset and other strides are multiples of 4 are bound as
 * `array<vec4<f32>>`; the caller binds the same buffers either way.
 *
 * @param spec Sizes and operand layouts.
 * @returns The program; `key` names the load modes and tile, never the sizes.
 * @throws {RangeError} If a size, offset or stride is negative or not an integer.
 *
 * @example Usage
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { matmulProgram } from "./wgsl_matmul.ts";
 *
 * const rowMajor = (rows: number, cols: number) => ({
 *   offset: 0,
 *   batchStride: rows * cols,
 *   rowStride: cols,
 *   colStride: 1,
 * });
 * const square = (n: number) =>
 *   matmulProgram({ batch: 1, m: n, n, k: n, a: rowMajor(n, n), b: rowMajor(n, n) });
 * const p = square(1024);
 * // 12 × 12 outputs per invocation, 8 invocations per workgroup along N.
 * assertEquals(p.key, "matmul_k4_x4_o4_12x12_8x1");
 * assertEquals(p.workgroups, [86 * 11, 1, 1]);
 * // Sizes go in the uniforms, so another size reuses the pipeline.
 * assertEquals(square(960).key, p.key);
 * assert(p.code().includes("@workgroup_size(8)"));
 * ```
 */
export function matmulProgram(spec: MatmulSpec): WgslProgram {
  const words = [spec.batch, spec.m, spec.n, spec.k];
  for (const op of [spec.a, spec.b]) {
    words.push(op.offset, op.batchStride, op.rowStride, op.colStride);
  }
  if (!words.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)) {
    throw new RangeError(`matmulProgram: bad sizes or layout ${JSON.stringify(spec)}`);
  }
  const s = normalize(spec);
  const { a, b } = s;
  let best: { tile: Tile; am: LoadMode; bm: LoadMode; cost: number } | undefined;
  for (const tm of TILE_ROWS) {
    for (const tn of TILE_COLS) {
      for (const [wgx, wgy] of WG_SHAPES) {
        const tile = { tm, tn, wgx, wgy };
        const am = loadMode(
          a,
          a.colStride,
          a.rowStride,
          a.colStride === 1 || s.k === 1,
          a.rowStride === 1 || s.m === 1,
          tm,
        );
        const bm = loadMode(
          b,
          b.rowStride,
          b.colStride,
          b.rowStride === 1 || s.k === 1,
          b.colStride === 1 || s.n === 1,
          tn,
        );
        const cost = tileCost(s, tile, am, bm);
        if (!best || cost < best.cost) best = { tile, am, bm, cost };
      }
    }
  }
  const { tile, am, bm } = best!;
  const { tm, tn, wgx, wgy } = tile;
  const out4 = s.n % 4 === 0 && tn % 4 === 0;
  const tilesX = Math.ceil(s.n / (tn * wgx));
  const tilesY = Math.ceil(s.m / (tm * wgy));
  const total = tilesX * tilesY * s.batch;
  return {
    key: `matmul_${am}_${bm}_${out4 ? "o4" : "o1"}_${tm}x${tn}_${wgx}x${wgy}`,
    code: () => matmulWgsl(am, bm, out4, tile),
    workgroups: splitWorkgroups(total),
    uniforms: new Uint32Array([
      ...[s.m, s.n, s.k, s.batch],
      ...[a.offset, a.batchStride, a.rowStride, a.colStride],
      ...[b.offset, b.batchStride, b.rowStride, b.colStride],
      ...[tilesX, tilesY, total, 0],
    ]),
  };
}

/**
 * Emits the unrolled body of one k-step (4 values of p): loads, then `tm × tn` FMAs.
 *
 * In the `tail` step, fewer than 4 values of p remain (`rem` of them): row indices are clamped
 * to stay inside the operand and both operands' values for missing p are replaced by zero, since
 * the bytes read past a row may be anything (including NaN).
 */
function kStep(am: LoadMode, bm: LoadMode, t: Tile, tail: boolean): string {
  const { tm, tn } = t;
  const lines: string[] = [];
  const q4 = [0, 1, 2, 3];
  const qRow = (q: number) => (tail ? `min(${q}u, rem - 1u)` : `${q}u`);
  // av[r][q] / bv[q][c]: WGSL expressions for A[row0 + r, p + q] and B[p + q, col0 + c].
  const av = Array.from({ length: tm }, () => [] as string[]);
  const bv = q4.map(() => [] as string[]);
  if (am === "k4") {
    for (let r = 0; r < tm; r++) {
      lines.push(`let a${r} = A[pa + oa${r}];`);
      for (const q of q4) av[r][q] = `a${r}.${SWIZZLE[q]}`;
    }
  } else {
    for (const q of q4) {
      for (let r = 0; r < tm; r += am === "x4" ? 4 : 1) {
        lines.push(`let a${r}_${q} = A[pa + ${qRow(q)} * sak + oa${r}];`);
        if (am === "s") av[r][q] = `a${r}_${q}`;
        else for (let e = 0; e < 4; e++) av[r + e][q] = `a${r}_${q}.${SWIZZLE[e]}`;
      }
    }
  }
  if (bm === "k4") {
    for (let c = 0; c < tn; c++) {
      lines.push(`let b${c} = B[pb + ob${c}];`);
      for (const q of q4) bv[q][c] = `b${c}.${SWIZZLE[q]}`;
    }
  } else {
    for (const q of q4) {
      for (let c = 0; c < tn; c += bm === "x4" ? 4 : 1) {
        lines.push(`let b${q}_${c} = B[pb + ${qRow(q)} * sbk + ob${c}];`);
        if (bm === "s") bv[q][c] = `b${q}_${c}`;
        else for (let e = 0; e < 4; e++) bv[q][c + e] = `b${q}_${c}.${SWIZZLE[e]}`;
      }
    }
  }
  const vec = tn % 4 === 0;
  for (const q of q4) {
    const live = `${q}u < rem`;
    for (let r = 0; r < tm; r++) {
      const x = tail ? `select(0.0, ${av[r][q]}, ${live})` : av[r][q];
      for (let c = 0; c < tn; c += vec ? 4 : 1) {
        let y = !vec
          ? bv[q][c]
          : bm === "x4"
          ? `b${q}_${c}`
          : `vec4<f32>(${q4.map((e) => bv[q][c + e]).join(", ")})`;
        if (tail) y = `select(${vec ? "vec4<f32>(0.0)" : "0.0"}, ${y}, ${live})`;
        lines.push(`c${r}_${c} = fma(${vec ? `vec4<f32>(${x})` : x}, ${y}, c${r}_${c});`);
      }
    }
  }
  lines.push("pa += da;", "pb += db;");
  return lines.map((l) => `    ${l}`).join("\n");
}

/** Per-row (A) or per-column (B) base indices, in the binding's element or vec4 units. */
function bases(name: string, mode: LoadMode, side: number, idx: string, lim: string, s: string) {
  const out: string[] = [];
  for (let r = 0; r < side; r += mode === "x4" ? 4 : 1) {
    const i = `min(${idx} + ${r}u, ${lim} - 1u)`;
    out.push(
      mode === "s"
        ? `  let o${name}${r} = ${name}base + ${i} * ${s};`
        : mode === "k4"
        ? `  let o${name}${r} = (${name}base + ${i} * ${s}) >> 2u;`
        : `  let o${name}${r} = (${name}base + (${i} & ~3u)) >> 2u;`,
    );
  }
  return out.join("\n");
}

function matmulWgsl(am: LoadMode, bm: LoadMode, out4: boolean, t: Tile): string {
  const { tm, tn, wgx, wgy } = t;
  const vec = tn % 4 === 0;
  const elem = (mode: LoadMode) => (mode === "s" ? "f32" : "vec4<f32>");
  const accs: string[] = [];
  const stores: string[] = [];
  for (let r = 0; r < tm; r++) {
    stores.push(`  if (row0 + ${r}u < u.m) {`, `    let o = obase + (row0 + ${r}u) * u.n + col0;`);
    for (let c = 0; c < tn; c += vec ? 4 : 1) {
      accs.push(`  var c${r}_${c} = ${vec ? "vec4<f32>(0.0)" : "0.0"};`);
      if (out4) {
        stores.push(`    if (col0 + ${c}u < u.n) { O[(o >> 2u) + ${c / 4}u] = c${r}_${c}; }`);
      } else if (!vec) stores.push(`    if (col0 + ${c}u < u.n) { O[o + ${c}u] = c${r}_${c}; }`);
      else {
        for (let e = 0; e < 4; e++) {
          const j = c + e;
          stores.push(`    if (col0 + ${j}u < u.n) { O[o + ${j}u] = c${r}_${c}.${SWIZZLE[e]}; }`);
        }
      }
    }
    stores.push("  }");
  }
  // Workgroup layout: wgx × wgy invocations (wgx along N, consecutive lanes), each owning a
  // tm × tn output block. The workgroup index is flat over (column tile, row tile, batch), split
  // over x and y, so any batch size fits the dispatch limits.
  return `// matmul ${am}/${bm}: ${wgx}x${wgy} invocations per workgroup, ${tm}x${tn} outputs each
struct U {
  m: u32, n: u32, k: u32, batch: u32,
  ao: u32, ab: u32, ar: u32, ac: u32,
  bo: u32, bb: u32, br: u32, bc: u32,
  tiles_x: u32, tiles_y: u32, total: u32, pad: u32,
}
@group(0) @binding(0) var<storage, read> A: array<${elem(am)}>;
@group(0) @binding(1) var<storage, read> B: array<${elem(bm)}>;
@group(0) @binding(2) var<storage, read_write> O: array<${out4 ? "vec4<f32>" : "f32"}>;
@group(0) @binding(3) var<uniform> u: U;

@compute @workgroup_size(${wgx * wgy})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  let flat = wid.x + wid.y * nwg.x;
  if (flat >= u.total) { return; }
  // Consecutive workgroups walk down a band of ${ROW_GROUP} row tiles before moving right, so the
  // A rows and B columns they share stay in the CPU's L2 cache.
  let tiles = u.tiles_x * u.tiles_y;
  let bi = flat / tiles;
  let f = flat % tiles;
  let band = f / (${ROW_GROUP}u * u.tiles_x);
  let height = min(${ROW_GROUP}u, u.tiles_y - band * ${ROW_GROUP}u);
  let g = f - band * ${ROW_GROUP}u * u.tiles_x;
  let col0 = ((g / height) * ${wgx}u + li % ${wgx}u) * ${tn}u;
  let row0 = ((band * ${ROW_GROUP}u + g % height) * ${wgy}u + li / ${wgx}u) * ${tm}u;
  // Rows and columns past the edge are clamped to the last one, so every load stays in bounds
  // and the inner loop needs no branches; their results are simply not stored.
  let abase = u.ao + bi * u.ab;
${bases("a", am, tm, "row0", "u.m", "u.ar")}
  let bbase = u.bo + bi * u.bb;
${bases("b", bm, tn, "col0", "u.n", "u.bc")}
  let sak = u.ac${am === "s" ? "" : " >> 2u"};
  let sbk = u.br${bm === "s" ? "" : " >> 2u"};
  let da = ${am === "k4" ? "1u" : "4u * sak"};
  let db = ${bm === "k4" ? "1u" : "4u * sbk"};
  var pa = 0u;
  var pb = 0u;
${accs.join("\n")}
  let steps = u.k >> 2u;
  for (var kc = 0u; kc < steps; kc++) {
${kStep(am, bm, t, false)}
  }
  let rem = u.k & 3u;
  if (rem != 0u) {
${kStep(am, bm, t, true)}
  }
  let obase = bi * u.m * u.n;
${stores.join("\n")}
}
`;
}
