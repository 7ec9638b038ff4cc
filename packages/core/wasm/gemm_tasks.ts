/**
 * The work-sharing protocol of the threaded GEMM: one job (a packed `C = A · B` in shared memory)
 * is cut into tiles of C, and every thread — the caller and each worker — claims tiles from a
 * shared counter until none is left. Each tile is a whole `gemm` call over the full K, so every
 * element of C is computed by exactly one thread in the same order as on one thread, and the
 * result is bit-identical whatever the number of threads or the claiming order.
 *
 * {@linkcode runGemmTasks} and {@linkcode gemmWorkerMain} are self-contained (they use only their
 * parameters and globals): {@linkcode gemmWorkerSource} turns them into the text of the worker
 * module, so the worker needs no file of its own and loads the same way from a local checkout, a
 * JSR package or a browser bundle.
 *
 * @module
 */

/** Positions in the shared `Int32Array` that controls a job (see {@linkcode CONTROL}). */
export interface ControlLayout {
  /** The job generation: bumped (and notified) to wake the workers for a new job. */
  readonly gen: number;
  /** Non-zero asks the workers to exit. */
  readonly stop: number;
  /** The claim word: `tasks << 16 | next`; a claim is a compare-exchange of `next + 1`. */
  readonly next: number;
  /** How many tiles of the current job are finished. */
  readonly done: number;
  /** How many workers are running and waiting for jobs. */
  readonly live: number;
  /** Byte address of packed A. */
  readonly a: number;
  /** Byte address of packed B. */
  readonly b: number;
  /** Byte address of C. */
  readonly c: number;
  /** The contraction length. */
  readonly k: number;
  /** C's row stride in floats. */
  readonly ldc: number;
  /** Rows of C (a multiple of 4). */
  readonly m: number;
  /** Columns of C (a multiple of 8). */
  readonly n: number;
  /** Rows per tile (a multiple of 4). */
  readonly mt: number;
  /** Columns per tile (a multiple of 8). */
  readonly nt: number;
  /** Tiles per row of tiles. */
  readonly cols: number;
  /** The first of the per-tile flags set to 1 when a tile is finished. */
  readonly flags: number;
  /** The most tiles in one job. */
  readonly maxTasks: number;
}

/** The control block layout used by the pool and its workers. */
export const CONTROL: ControlLayout = {
  gen: 0,
  stop: 1,
  next: 2,
  done: 3,
  live: 4,
  a: 5,
  b: 6,
  c: 7,
  k: 8,
  ldc: 9,
  m: 10,
  n: 11,
  mt: 12,
  nt: 13,
  cols: 14,
  flags: 16,
  maxTasks: 1024,
};

/** The `gemm` export of the GEMM WebAssembly modules. */
export type GemmFn = (
  a: number,
  b: number,
  c: number,
  m: number,
  n: number,
  k: number,
  ldc: number,
  acc: number,
) => void;

/** How a job's `m × n` C is cut into tiles. */
export interface TilePlan {
  /** Rows per tile (a multiple of 4). */
  readonly mt: number;
  /** Columns per tile (a multiple of 8). */
  readonly nt: number;
  /** Tiles per row of tiles. */
  readonly cols: number;
  /** Tiles in all. */
  readonly tasks: number;
}

/**
 * Cuts an `m × n` C (multiples of 4 and 8) into about four tiles per thread, so that a thread
 * slowed down by other work on its core costs little: column strips first (each thread then
 * streams its own panels of B), rows as well when the columns run out.
 *
 * @param m Rows of C, a multiple of 4.
 * @param n Columns of C, a multiple of 8.
 * @param threads The threads that will share the job.
 * @param maxTasks The most tiles (default {@linkcode CONTROL}`.maxTasks`).
 * @returns The tiling.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { planTiles } from "./gemm_tasks.ts";
 *
 * assertEquals(planTiles(128, 768, 2), { mt: 128, nt: 96, cols: 8, tasks: 8 });
 * ```
 */
export function planTiles(
  m: number,
  n: number,
  threads: number,
  maxTasks: number = CONTROL.maxTasks,
): TilePlan {
  const wanted = Math.max(1, Math.min(4 * threads, maxTasks));
  const nt = Math.ceil(n / 8 / Math.min(wanted, n / 8)) * 8;
  const cols = Math.ceil(n / nt);
  const rowsWanted = Math.max(1, Math.min(Math.floor(wanted / cols), m / 4));
  const mt = Math.ceil(m / 4 / rowsWanted) * 4;
  return { mt, nt, cols, tasks: cols * Math.ceil(m / mt) };
}

/**
 * Claims and runs tiles of the current job until none is left (self-contained: it runs in the
 * workers as source text).
 *
 * @param ctl The control block.
 * @param L Its layout.
 * @param gemm The `gemm` export of this thread's instance.
 * @param tile Run only this tile, without claiming it or counting it done (to finish the tiles of
 * a worker that stopped responding); by default, claim tiles.
 * @returns How many tiles this thread ran.
 *
 * @example Run a whole job on the calling thread
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { CONTROL, runGemmTasks } from "./gemm_tasks.ts";
 *
 * const ctl = new Int32Array(CONTROL.flags + CONTROL.maxTasks);
 * ctl[CONTROL.m] = 4, ctl[CONTROL.n] = 16, ctl[CONTROL.mt] = 4, ctl[CONTROL.nt] = 8;
 * ctl[CONTROL.cols] = 2, ctl[CONTROL.next] = 2 << 16;
 * const calls: number[][] = [];
 * assertEquals(runGemmTasks(ctl, CONTROL, (...args) => void calls.push(args)), 2);
 * assertEquals(ctl[CONTROL.done], 2);
 * ```
 */
export function runGemmTasks(
  ctl: Int32Array,
  L: ControlLayout,
  gemm: GemmFn,
  tile: number = -1,
): number {
  let ran = 0;
  for (;;) {
    const word = Atomics.load(ctl, L.next);
    const tasks = word >>> 16;
    let t = tile;
    if (tile < 0) {
      t = word & 0xffff;
      if (t >= tasks) return ran;
      if (Atomics.compareExchange(ctl, L.next, word, word + 1) !== word) continue;
    }
    // A successful claim means the job is unfinished, so its parameters are all written.
    const k = ctl[L.k], ldc = ctl[L.ldc], mt = ctl[L.mt], nt = ctl[L.nt], cols = ctl[L.cols];
    const i0 = Math.floor(t / cols) * mt, j0 = (t % cols) * nt;
    const m = Math.min(mt, ctl[L.m] - i0), n = Math.min(nt, ctl[L.n] - j0);
    gemm(
      ctl[L.a] + 4 * i0 * k,
      ctl[L.b] + 4 * j0 * k,
      ctl[L.c] + 4 * (i0 * ldc + j0),
      m,
      n,
      k,
      ldc,
      0,
    );
    ran++;
    if (tile >= 0) return ran;
    Atomics.store(ctl, L.flags + t, 1);
    if (Atomics.add(ctl, L.done, 1) + 1 === tasks) Atomics.notify(ctl, L.done);
  }
}

/** What the pool posts to a new worker. */
export interface GemmWorkerInit {
  /** The shared-memory GEMM module. */
  readonly module: WebAssembly.Module;
  /** The shared memory holding packed operands and C. */
  readonly memory: WebAssembly.Memory;
  /** The control block's buffer. */
  readonly control: SharedArrayBuffer;
  /** Milliseconds without a job after which the worker exits (`Infinity`: never). */
  readonly idleMs: number;
  /** Checks of the job counter before sleeping on it. */
  readonly spin: number;
}

/**
 * The body of a GEMM worker (self-contained: it runs as source text). On its first message
 * ({@linkcode GemmWorkerInit}) it instantiates the module on the shared memory, counts itself
 * `live`, then waits for jobs: spins briefly on the job counter, sleeps on it with
 * `Atomics.wait`, runs tiles with `run`, and exits (uncounting itself) when asked to stop or after
 * `idleMs` without a job, so an idle pool never keeps a program alive for long.
 *
 * @param run {@linkcode runGemmTasks}.
 * @param L The control block layout.
 *
 * @example The source a worker runs
 * ```ts
 * import { assertStringIncludes } from "@std/assert";
 * import { gemmWorkerSource } from "./gemm_tasks.ts";
 *
 * assertStringIncludes(gemmWorkerSource(), "Atomics.wait");
 * ```
 */
export function gemmWorkerMain(run: typeof runGemmTasks, L: ControlLayout): void {
  const scope = globalThis as unknown as {
    onmessage: ((event: MessageEvent<GemmWorkerInit>) => void) | null;
    postMessage(message: unknown): void;
    close(): void;
  };
  scope.onmessage = (event) => {
    scope.onmessage = null;
    const { module, memory, control, idleMs, spin } = event.data;
    const ctl = new Int32Array(control);
    let gemm: GemmFn;
    try {
      const instance = new WebAssembly.Instance(module, { env: { memory } });
      gemm = instance.exports.gemm as GemmFn;
    } catch (error) {
      scope.postMessage({ error: String(error) });
      scope.close();
      return;
    }
    Atomics.add(ctl, L.live, 1);
    Atomics.notify(ctl, L.live);
    let seen = Atomics.load(ctl, L.gen);
    for (;;) {
      for (let i = 0; i < spin && Atomics.load(ctl, L.gen) === seen; i++);
      if (Atomics.load(ctl, L.gen) === seen) {
        Atomics.wait(ctl, L.gen, seen, idleMs);
        if (Atomics.load(ctl, L.gen) === seen) break;
      }
      seen = Atomics.load(ctl, L.gen);
      if (Atomics.load(ctl, L.stop) !== 0) break;
      // Reading the length lets this thread see memory the caller grew.
      if (memory.buffer.byteLength === 0) break;
      run(ctl, L, gemm);
    }
    Atomics.sub(ctl, L.live, 1);
    scope.close();
  };
}

/**
 * The source text of the GEMM worker module.
 *
 * @returns JavaScript that runs {@linkcode gemmWorkerMain} with {@linkcode runGemmTasks} and
 * {@linkcode CONTROL}.
 *
 * @example Usage
 * ```ts
 * import { assertStringIncludes } from "@std/assert";
 * import { gemmWorkerSource } from "./gemm_tasks.ts";
 *
 * assertStringIncludes(gemmWorkerSource(), "compareExchange");
 * ```
 */
export function gemmWorkerSource(): string {
  return `(${gemmWorkerMain})(${runGemmTasks}, ${JSON.stringify(CONTROL)});\n`;
}
