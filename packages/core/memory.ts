/**
 * Explicit memory: `tidy` scopes, `keep`, and per-backend accounting of live tensors, live bytes
 * and peak bytes, so leaks and savings are numbers.
 *
 * @module
 */

import type { BackendName } from "./backends/backend.ts";

/** What a tensor must offer to be tracked by scopes. */
export interface Disposable {
  /** Releases the tensor. */
  dispose(): void;
  /** Whether it has been released. */
  readonly isDisposed: boolean;
}

/** Memory statistics of one backend. */
export interface MemoryInfo {
  /** Tensors created and not yet disposed. */
  liveTensors: number;
  /** Bytes held by live buffers (views share their base's buffer and add nothing). */
  liveBytes: number;
  /** Highest `liveBytes` since the last {@linkcode resetPeakMemory}. */
  peakBytes: number;
}

const stats = new Map<BackendName, MemoryInfo>();
const scopes: Set<Disposable>[] = [];

function statsFor(backend: BackendName): MemoryInfo {
  let s = stats.get(backend);
  if (!s) {
    s = { liveTensors: 0, liveBytes: 0, peakBytes: 0 };
    stats.set(backend, s);
  }
  return s;
}

/** @internal Records a buffer allocation. */
export function trackBytes(backend: BackendName, delta: number): void {
  const s = statsFor(backend);
  s.liveBytes += delta;
  if (s.liveBytes > s.peakBytes) s.peakBytes = s.liveBytes;
}

/** @internal Records a tensor's creation (+1) or disposal (-1) and registers it with the scope. */
export function trackTensor(backend: BackendName, delta: number, t?: Disposable): void {
  statsFor(backend).liveTensors += delta;
  if (t && delta > 0) scopes.at(-1)?.add(t);
}

/**
 * Memory statistics for a backend (the current one by default).
 *
 * @param backend The backend to report on.
 * @returns A snapshot of its counters.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { memory, tensor } from "@denoformers/core";
 *
 * const before = memory("cpu").liveTensors;
 * const t = tensor([1, 2, 3], { backend: "cpu" });
 * assertEquals(memory("cpu").liveTensors, before + 1);
 * t.dispose();
 * assertEquals(memory("cpu").liveTensors, before);
 * ```
 */
export function memoryOf(backend: BackendName): MemoryInfo {
  return { ...statsFor(backend) };
}

/**
 * Sets `peakBytes` to the current `liveBytes` on one backend, or on all when none is named.
 *
 * @param backend The backend.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { memory, resetPeakMemory } from "@denoformers/core";
 *
 * resetPeakMemory("cpu");
 * assertEquals(memory("cpu").peakBytes, memory("cpu").liveBytes);
 * ```
 */
export function resetPeakMemory(backend?: BackendName): void {
  for (const [name, s] of stats) if (!backend || name === backend) s.peakBytes = s.liveBytes;
}

/** Values `tidy` can return: tensors, possibly inside arrays and plain objects. */
export type TidyResult = unknown;

function collect(value: unknown, out: Set<unknown>, depth = 0): void {
  if (value === null || typeof value !== "object" || depth > 8) return;
  if ("dispose" in value && "isDisposed" in value) {
    out.add(value);
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (Array.isArray(value)) { for (const v of value) collect(v, out, depth + 1); }
  else if (proto === Object.prototype || proto === null || value instanceof Map) {
    const values = value instanceof Map ? value.values() : Object.values(value);
    for (const v of values) collect(v, out, depth + 1);
  }
}

/**
 * Runs `fn` and disposes every tensor created inside it except those it returns (directly or in
 * arrays and plain objects) and those passed to {@linkcode keep}. Returned tensors move to the
 * enclosing scope.
 *
 * @typeParam T The return type.
 * @param fn A synchronous function.
 * @returns What `fn` returns.
 * @throws {TypeError} When `fn` returns a promise (scopes cannot span awaits).
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { memory, tensor, tidy } from "@denoformers/core";
 *
 * const x = tensor([1, 2, 3], { backend: "cpu" });
 * const before = memory("cpu").liveTensors;
 * const y = tidy(() => x.mul(2).add(1).exp());
 * assertEquals(memory("cpu").liveTensors, before + 1);
 * y.dispose();
 * ```
 */
export function tidy<T>(fn: () => T): T {
  const { result, scope } = runInScope(fn);
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new TypeError("Cannot tidy an async function: scopes cannot span an await");
  }
  const kept = new Set<unknown>();
  collect(result, kept);
  const parent = scopes.at(-1);
  for (const t of scope) {
    if (kept.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}

/**
 * Runs `fn` so that a throw leaves nothing behind: tensors created inside are disposed if `fn`
 * throws, and handed to the enclosing scope if it returns. Frontends that cast, copy or reshape
 * before the final validation use this so bad input never leaks intermediates.
 *
 * @typeParam T The return type.
 * @param fn A synchronous function.
 * @returns What `fn` returns.
 *
 * @example Usage
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { atomic, memoryOf } from "./memory.ts";
 * import { tensor } from "./creation.ts";
 *
 * const before = memoryOf("cpu").liveTensors;
 * assertThrows(() => atomic(() => { tensor([1], { backend: "cpu" }); throw new Error("bad"); }));
 * assertEquals(memoryOf("cpu").liveTensors, before);
 * ```
 */
export function atomic<T>(fn: () => T): T {
  const { result, scope } = runInScope(fn);
  const parent = scopes.at(-1);
  if (parent) { for (const t of scope) parent.add(t); }
  return result;
}

/**
 * Exempts a tensor from disposal by the enclosing `tidy` scopes.
 *
 * @typeParam T The tensor type.
 * @param t The tensor.
 * @returns The same tensor.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { keep, tensor, tidy, type Tensor } from "@denoformers/core";
 *
 * let kept: Tensor | undefined;
 * tidy(() => {
 *   kept = keep(tensor([1], { backend: "cpu" }).add(1));
 * });
 * assert(!kept!.isDisposed);
 * ```
 */
export function keep<T extends Disposable>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

/** Runs `fn` in a fresh scope; on a throw disposes what it created, else returns it with the result. */
function runInScope<T>(fn: () => T): { result: T; scope: Set<Disposable> } {
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  return { result, scope };
}
