// The worker pool: start, stop, restart, idle exit, and the one-thread fallback where workers or
// shared memory are missing or never start.
import { assert, assertEquals, assertRejects } from "@std/assert";
import { cpuKernelCounts, getCpuKernels } from "../backends/cpu_kernels.ts";
import { wasmMatmul } from "./wasm_gemm.ts";
import {
  cpuThreadsSupported,
  getCpuThreads,
  setCpuThreads,
  shutdownCpuThreads,
} from "./thread_pool.ts";
import { GEMM_SHARED_WASM_BASE64 } from "./gemm_shared_wasm.ts";

const supported = cpuThreadsSupported();
const N = 160;
const square = {
  data: Float32Array.from({ length: N * N }, (_, i) => (i % 7) - 3),
  shape: [N, N],
  strides: [N, 1],
  offset: 0,
  dtype: "float32" as const,
};

/** One threaded-size matmul; returns whether it ran on threads. */
function matmulRanThreaded(threads = getCpuKernels().threads): boolean {
  const before = cpuKernelCounts().wasmMatmulThreaded;
  const out = new Float32Array(N * N);
  assert(wasmMatmul([square, square], out, [], { threads }));
  const one = new Float32Array(N * N);
  assert(wasmMatmul([square, square], one, [], { threads: 1 }));
  assertEquals(out, one);
  return cpuKernelCounts().wasmMatmulThreaded === before + 1;
}

/** Runs `fn` with `console.warn` captured, and returns the warnings. */
async function captureWarnings(fn: () => Promise<void>): Promise<string[]> {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => void warnings.push(args.join(" "));
  try {
    await fn();
  } finally {
    console.warn = original;
  }
  return warnings;
}

/** Replaces a global for the duration of `fn`. */
async function withGlobal(name: string, value: unknown, fn: () => Promise<void>): Promise<void> {
  const g = globalThis as Record<string, unknown>;
  const original = g[name];
  g[name] = value;
  try {
    await fn();
  } finally {
    g[name] = original;
  }
}

Deno.test("gemm_shared.wat is gemm.wat on an imported shared memory", async () => {
  const body = async (name: string) =>
    (await Deno.readTextFile(new URL(name, import.meta.url))).split("\n")
      .filter((line) => !line.startsWith(";;") && !line.includes("(memory")).join("\n");
  assertEquals(await body("./gemm_shared.wat"), await body("./gemm.wat"));
  const module = new WebAssembly.Module(
    Uint8Array.from(atob(GEMM_SHARED_WASM_BASE64), (c) => c.charCodeAt(0)),
  );
  assertEquals(WebAssembly.Module.imports(module), [
    { module: "env", name: "memory", kind: "memory" },
  ]);
  assertEquals(WebAssembly.Module.exports(module), [{ name: "gemm", kind: "function" }]);
});

Deno.test({
  name: "setCpuThreads starts, stops and restarts the workers",
  ignore: !supported,
  async fn() {
    try {
      assertEquals(await setCpuThreads(2), 2);
      assertEquals(getCpuThreads(), { supported: true, threads: 2, workers: 1 });
      assert(matmulRanThreaded());
      shutdownCpuThreads();
      assertEquals(getCpuThreads(), { supported: true, threads: 1, workers: 0 });
      assert(!matmulRanThreaded(), "one thread after the shutdown");
      assertEquals(await setCpuThreads(3), 3);
      assertEquals(getCpuThreads().workers, 2);
      assert(matmulRanThreaded());
      assertEquals(await setCpuThreads(1), 1);
      assertEquals(getCpuThreads().workers, 0);
      await assertRejects(() => setCpuThreads(1.5), RangeError, "must be an integer");
    } finally {
      shutdownCpuThreads();
    }
  },
});

Deno.test({
  name: "idle workers exit and the next large matmul starts them again",
  ignore: !supported,
  async fn() {
    try {
      assertEquals(await setCpuThreads(2, { idleTimeoutMs: 30 }), 2);
      const end = Date.now() + 5000;
      while (getCpuThreads().workers > 0 && Date.now() < end) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assertEquals(getCpuThreads().workers, 0, "the idle worker exited");
      assert(matmulRanThreaded(), "restarted on demand");
      // Small products never wake the workers.
      const before = cpuKernelCounts().wasmMatmulThreaded;
      const small = { ...square, data: square.data.subarray(0, 64 * 64), shape: [64, 64] };
      small.strides = [64, 1];
      assert(wasmMatmul([small, small], new Float32Array(64 * 64), []));
      assertEquals(cpuKernelCounts().wasmMatmulThreaded, before);
    } finally {
      shutdownCpuThreads();
    }
  },
});

Deno.test("without SharedArrayBuffer or Worker everything runs on one thread", async () => {
  for (const name of ["SharedArrayBuffer", "Worker"]) {
    const warnings = await captureWarnings(() =>
      withGlobal(name, undefined, async () => {
        assertEquals(cpuThreadsSupported(), false);
        assertEquals(await setCpuThreads(4), 1);
        assertEquals(getCpuKernels().threads, 4);
        assert(!matmulRanThreaded(), `no threads without ${name}`);
      })
    );
    shutdownCpuThreads();
    assertEquals(warnings, [], "unsupported is not an error");
  }
});

Deno.test({
  name: "workers that cannot start or never start leave one thread and one warning",
  ignore: !supported,
  async fn() {
    class Throwing {
      constructor() {
        throw new Error("workers are not allowed here");
      }
    }
    class Silent {
      onerror = null;
      onmessage = null;
      postMessage(): void {}
      terminate(): void {}
    }
    try {
      for (const fake of [Throwing, Silent]) {
        const warnings = await captureWarnings(() =>
          withGlobal("Worker", fake, async () => {
            assertEquals(await setCpuThreads(2, { startTimeoutMs: 50 }), 1);
            assert(!matmulRanThreaded(2));
            assert(!matmulRanThreaded(2));
          })
        );
        assertEquals(warnings.length, 1, warnings.join("\n"));
        assert(warnings[0].startsWith("Cannot use CPU threads: "), warnings[0]);
      }
      // A later setCpuThreads() tries again.
      assertEquals(await setCpuThreads(2), 2);
      assert(matmulRanThreaded());
    } finally {
      shutdownCpuThreads();
    }
  },
});
