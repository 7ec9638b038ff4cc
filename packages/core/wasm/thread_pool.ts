/**
 * The worker pool behind the threaded WebAssembly matmul. Threads are off by default: turn them
 * on with `await setCpuThreads(navigator.hardwareConcurrency)` (or lazily with
 * `setCpuKernels({ threads })`) and off with {@linkcode shutdownCpuThreads}.
 *
 * Workers run the source of `gemm_tasks.ts` from a blob URL, each with its own instance of the
 * shared-memory GEMM module on one `WebAssembly.Memory({ shared: true })`. The calling thread packs
 * the operands there, publishes a job in a shared control block, wakes the workers with
 * `Atomics.notify`, claims tiles itself and blocks in `Atomics.wait` until every tile is done:
 * CPU ops stay synchronous. Threads are used only where all of this is allowed — `Worker`,
 * `SharedArrayBuffer` (cross-origin isolated pages), shared WebAssembly memory with SIMD, and a
 * thread that may block (not a browser's main thread); elsewhere everything runs on one thread.
 * A pool that fails to start or stops responding is shut down with one warning.
 *
 * Idle workers exit after `idleTimeoutMs` (1 s by default), so a program that never calls
 * {@linkcode shutdownCpuThreads} still ends; the next large matmul starts them again.
 *
 * @module
 */

import { getCpuKernels, setCpuKernels } from "../backends/cpu_kernels.ts";
import { CONTROL, gemmWorkerSource, planTiles, runGemmTasks } from "./gemm_tasks.ts";
import type { GemmFn, GemmWorkerInit } from "./gemm_tasks.ts";
import { GEMM_SHARED_WASM_BASE64 } from "./gemm_shared_wasm.ts";
import { decodeBase64, wasmSimdAvailable } from "./wasm_module.ts";

/** The most threads a pool runs (the caller and 63 workers). */
export const MAX_CPU_THREADS = 64;
/** Pages (64 KiB) the shared memory may grow to: 1 GiB. */
const MAX_PAGES = 16384;
/** Checks of a counter before sleeping on it (a few tens of microseconds). */
const SPIN = 20000;
/** How long a large matmul waits for workers that are starting. */
const START_WAIT_MS = 200;
/** How long a job may make no progress before its workers are declared dead. */
const STALL_MS = 30_000;

/** Options for {@linkcode setCpuThreads}. */
export interface CpuThreadsOptions {
  /** Milliseconds without work after which workers exit (default 1000; `Infinity`: never). */
  readonly idleTimeoutMs?: number;
  /** Milliseconds to wait for the workers to start (default 10000). */
  readonly startTimeoutMs?: number;
}

/** The state of the CPU threads, from {@linkcode getCpuThreads}. */
export interface CpuThreadsInfo {
  /** Whether this runtime and thread can run the threaded kernel. */
  readonly supported: boolean;
  /** The threads asked for (`getCpuKernels().threads`). */
  readonly threads: number;
  /** Workers running now (threads in use: one more than this). */
  readonly workers: number;
}

/** The shared-memory GEMM instance of the calling thread. */
export interface SharedGemm {
  /** The shared memory. */
  readonly memory: WebAssembly.Memory;
  /** The kernel on it. */
  readonly gemm: GemmFn;
}

interface Pool {
  readonly ctl: Int32Array;
  readonly workers: Worker[];
  readonly startedAt: number;
  everLive: boolean;
}

interface Shared {
  readonly module: WebAssembly.Module;
  readonly kernel: SharedGemm;
}

let shared: Shared | null | undefined;
let blocking: boolean | undefined;
let pool: Pool | null = null;
let broken = false;
let idleMs = 1000;
let startTimeoutMs = 10_000;
let workerUrl: string | undefined;

/** Whether this thread may block in `Atomics.wait` (a browser's main thread may not). */
function canBlock(): boolean {
  if (blocking !== undefined) return blocking;
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return blocking = true;
  } catch {
    return blocking = false;
  }
}

/** The shared-memory kernel, or `null` where threads cannot run (checked on every call). */
function loadShared(): Shared | null {
  const g = globalThis as { crossOriginIsolated?: boolean };
  if (
    typeof Worker !== "function" || typeof SharedArrayBuffer !== "function" ||
    g.crossOriginIsolated === false || !canBlock()
  ) return null;
  if (shared !== undefined) return shared;
  shared = null;
  try {
    if (!wasmSimdAvailable()) return null;
    const module = new WebAssembly.Module(decodeBase64(GEMM_SHARED_WASM_BASE64));
    const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    shared = { module, kernel: { memory, gemm: instance.exports.gemm as GemmFn } };
  } catch {
    shared = null;
  }
  return shared;
}

/**
 * Whether this runtime and thread can run the threaded matmul: `Worker`, `SharedArrayBuffer`,
 * shared WebAssembly memory with SIMD, and `Atomics.wait` on this thread.
 *
 * @returns `true` where {@linkcode setCpuThreads} can start workers.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { cpuThreadsSupported } from "@denoformers/core";
 *
 * assertEquals(typeof cpuThreadsSupported(), "boolean");
 * ```
 */
export function cpuThreadsSupported(): boolean {
  return loadShared() !== null;
}

function warn(reason: string): void {
  if (!broken) console.warn(`Cannot use CPU threads: ${reason}; running on one thread`);
  broken = true;
  stop();
}

function stop(): void {
  if (pool === null) return;
  Atomics.store(pool.ctl, CONTROL.stop, 1);
  Atomics.add(pool.ctl, CONTROL.gen, 1);
  Atomics.notify(pool.ctl, CONTROL.gen);
  for (const w of pool.workers) w.terminate();
  pool = null;
}

function spawn(count: number, module: WebAssembly.Module, memory: WebAssembly.Memory): void {
  stop();
  const ctl = new Int32Array(new SharedArrayBuffer(4 * (CONTROL.flags + CONTROL.maxTasks)));
  const next: Pool = { ctl, workers: [], startedAt: performance.now(), everLive: false };
  pool = next;
  try {
    workerUrl ??= URL.createObjectURL(
      new Blob([gemmWorkerSource()], { type: "text/javascript" }),
    );
    const init: GemmWorkerInit = { module, memory, control: ctl.buffer, idleMs, spin: SPIN };
    for (let i = 0; i < count; i++) {
      const w = new Worker(workerUrl, { type: "module", name: `denoformers-gemm-${i}` });
      next.workers.push(w);
      w.onerror = (event) => {
        event.preventDefault();
        if (pool === next) warn(`a worker failed (${event.message})`);
      };
      w.onmessage = (event) => {
        if (pool === next) warn(`a worker failed (${event.data?.error})`);
      };
      w.postMessage(init);
    }
  } catch (error) {
    warn(`workers cannot start (${error instanceof Error ? error.message : error})`);
  }
}

/** Blocks until `live` reaches `target` or `ms` pass; returns `live`. */
function waitLive(ctl: Int32Array, target: number, ms: number): number {
  const end = performance.now() + ms;
  for (;;) {
    const live = Atomics.load(ctl, CONTROL.live);
    const left = end - performance.now();
    if (live >= target || left <= 0) return live;
    Atomics.wait(ctl, CONTROL.live, live, left);
  }
}

/**
 * The pool for `threads` threads, started if needed, or `null` where threads cannot run (or no
 * worker is ready yet: the caller then runs on one thread). Internal to the matmul kernel.
 */
export function gemmPool(threads: number): GemmPool | null {
  if (threads <= 1 || broken) return null;
  const s = loadShared();
  if (s === null) return null;
  const workers = Math.min(threads, MAX_CPU_THREADS) - 1;
  // Idle workers exit together; start them again on the next job that wants them.
  const idle = pool !== null && pool.everLive && Atomics.load(pool.ctl, CONTROL.live) === 0;
  if (pool === null || pool.workers.length !== workers || idle) {
    spawn(workers, s.module, s.kernel.memory);
  }
  if (pool === null) return null;
  const live = pool.everLive
    ? Atomics.load(pool.ctl, CONTROL.live)
    : waitLive(pool.ctl, workers, START_WAIT_MS);
  if (live > 0) pool.everLive = true;
  else if (performance.now() - pool.startedAt > startTimeoutMs) warn("no worker started");
  return live > 0 && pool !== null ? new GemmPool(pool.ctl, s.kernel, live + 1) : null;
}

/** One job's view of the pool: the shared kernel and how many threads may share the job. */
export class GemmPool {
  #ctl: Int32Array;
  /** The calling thread's shared-memory kernel. */
  readonly kernel: SharedGemm;
  /** The threads that share a job (the caller included). */
  readonly threads: number;

  /**
   * @param ctl The control block.
   * @param kernel The calling thread's kernel.
   * @param threads The threads to plan for.
   */
  constructor(ctl: Int32Array, kernel: SharedGemm, threads: number) {
    this.#ctl = ctl;
    this.kernel = kernel;
    this.threads = threads;
  }

  /**
   * `C = A · B` on packed operands in the shared memory, in tiles shared by every thread; the
   * arguments are those of `gemm` (byte addresses; `m`, `n`, `k`, `ldc` in floats).
   *
   * @param a Packed A.
   * @param b Packed B.
   * @param c C.
   * @param m Rows (a multiple of 4).
   * @param n Columns (a multiple of 8).
   * @param k The contraction length.
   * @param ldc C's row stride.
   */
  gemm(a: number, b: number, c: number, m: number, n: number, k: number, ldc: number): void {
    const ctl = this.#ctl, L = CONTROL;
    const plan = planTiles(m, n, this.threads);
    ctl[L.a] = a, ctl[L.b] = b, ctl[L.c] = c, ctl[L.k] = k, ctl[L.ldc] = ldc;
    ctl[L.m] = m, ctl[L.n] = n, ctl[L.mt] = plan.mt, ctl[L.nt] = plan.nt, ctl[L.cols] = plan.cols;
    ctl.fill(0, L.flags, L.flags + plan.tasks);
    Atomics.store(ctl, L.done, 0);
    Atomics.store(ctl, L.next, plan.tasks << 16);
    Atomics.add(ctl, L.gen, 1);
    Atomics.notify(ctl, L.gen);
    runGemmTasks(ctl, L, this.kernel.gemm);
    let done = Atomics.load(ctl, L.done), since = performance.now();
    for (let i = 0; done < plan.tasks; done = Atomics.load(ctl, L.done)) {
      if (i++ < SPIN) continue;
      if (Atomics.wait(ctl, L.done, done, 100) !== "timed-out") since = performance.now();
      else if (performance.now() - since > STALL_MS) return this.#recover(plan.tasks);
    }
  }

  /** Runs the tiles a dead worker claimed, then shuts the pool down. */
  #recover(tasks: number): void {
    for (let t = 0; t < tasks; t++) {
      if (Atomics.load(this.#ctl, CONTROL.flags + t) === 0) {
        runGemmTasks(this.#ctl, CONTROL, this.kernel.gemm, t);
      }
    }
    warn("a worker stopped responding");
  }
}

/**
 * Sets how many threads the WebAssembly matmul may use and starts the workers. One thread (or
 * fewer) shuts them down. Where threads cannot run (see {@linkcode cpuThreadsSupported}), or the
 * workers fail to start (with one warning), everything runs on one thread.
 *
 * Idle workers exit on their own after `idleTimeoutMs`, and the next large matmul starts them
 * again; {@linkcode shutdownCpuThreads} stops them at once.
 *
 * @param threads The threads to use, the calling one included (e.g.
 * `navigator.hardwareConcurrency`; at most {@linkcode MAX_CPU_THREADS}).
 * @param options Idle and start timeouts.
 * @returns The threads now running: `1` where threads are unavailable.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { setCpuThreads, shutdownCpuThreads, tensor } from "@denoformers/core";
 *
 * const running = await setCpuThreads(2);
 * try {
 *   assert(running === 1 || running === 2);
 *   const a = tensor(new Float32Array(256 * 256).fill(1), { shape: [256, 256], backend: "cpu" });
 *   assert(a.matmul(a).dataSync()[0] === 256);
 * } finally {
 *   shutdownCpuThreads();
 * }
 * ```
 */
export async function setCpuThreads(
  threads: number,
  options: CpuThreadsOptions = {},
): Promise<number> {
  if (!Number.isInteger(threads)) {
    throw new RangeError(`Cannot set CPU threads: threads must be an integer, received ${threads}`);
  }
  const n = Math.max(1, Math.min(threads, MAX_CPU_THREADS));
  stop();
  broken = false;
  idleMs = options.idleTimeoutMs ?? 1000;
  startTimeoutMs = options.startTimeoutMs ?? 10_000;
  setCpuKernels({ threads: n });
  const s = loadShared();
  if (n === 1 || s === null) return 1;
  spawn(n - 1, s.module, s.kernel.memory);
  const started = pool as Pool | null;
  while (started !== null && pool === started) {
    const live = Atomics.load(started.ctl, CONTROL.live);
    if (live === n - 1) break;
    if (performance.now() - started.startedAt > startTimeoutMs) {
      if (live === 0) warn("no worker started");
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  if (pool === null || pool !== started) return 1;
  started.everLive = Atomics.load(started.ctl, CONTROL.live) > 0;
  return 1 + Atomics.load(started.ctl, CONTROL.live);
}

/**
 * Stops the workers now and sets the matmul back to one thread.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { getCpuKernels, setCpuThreads, shutdownCpuThreads } from "@denoformers/core";
 *
 * await setCpuThreads(2);
 * shutdownCpuThreads();
 * assertEquals(getCpuKernels().threads, 1);
 * ```
 */
export function shutdownCpuThreads(): void {
  stop();
  setCpuKernels({ threads: 1 });
}

/**
 * Whether threads can run here, how many were asked for and how many workers run now.
 *
 * @returns The state of the CPU threads.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { getCpuThreads } from "@denoformers/core";
 *
 * assertEquals(getCpuThreads().workers, 0);
 * ```
 */
export function getCpuThreads(): CpuThreadsInfo {
  return {
    supported: cpuThreadsSupported(),
    threads: getCpuKernels().threads,
    workers: pool === null ? 0 : Atomics.load(pool.ctl, CONTROL.live),
  };
}
