// The native BLAS matmul against the TypeScript reference kernel, through the public Tensor API
// (so the layout decisions of matmulCpu are what is tested) and through blasMatmul directly.
// Tests that need the library are ignored where it does not load (no --allow-ffi, no OpenBLAS);
// the subprocess tests check that without ffi permission, or with DENOFORMERS_BLAS=0, nothing
// loads and matmul still works.
//
// sgemm accumulates in float32 in an order of its own, so results are checked against the float64
// product within 1e-5 of the dot product's own scale Σₖ |aᵢₖ·bₖⱼ|.
import { assert, assertEquals, assertThrows } from "@std/assert";
import { tensor } from "../creation.ts";
import type { Tensor } from "../tensor.ts";
import { testRng } from "../_testing/backends.ts";
import { matmul } from "../ops/matmul.ts";
import { cpuKernelCounts, setCpuKernels } from "./cpu_kernels.ts";
import { blasAvailable, blasInfo, blasMatmul, setBlasThreads } from "./blas_ffi.ts";

const noBlas = !blasAvailable();
const next = testRng(31);
const rand = (shape: number[]): Tensor => {
  const n = shape.reduce((p, s) => p * s, 1);
  const data = Float32Array.from({ length: n }, () => next() * 2 - 1);
  return tensor(data, { shape, backend: "cpu" });
};

/** Runs `x @ w` on BLAS, checks the counter, and compares with the float64 product. */
function checkAgainstReference(x: Tensor, w: Tensor, label: string): void {
  const before = cpuKernelCounts().blasMatmul;
  const got = x.matmul(w);
  const data = got.dataSync();
  assertEquals(cpuKernelCounts().blasMatmul - before, 1, `${label}: BLAS ran`);
  const previous = setCpuKernels({ blas: false, wasm: false });
  try {
    const ref = x.matmul(w);
    assertEquals(got.shape, ref.shape, label);
    const want = x.cast("float64").matmul(w.cast("float64")).dataSync();
    const scale = x.abs().cast("float64").matmul(w.abs().cast("float64")).dataSync();
    const slow = ref.dataSync();
    for (let i = 0; i < want.length; i++) {
      const tol = 1e-5 * scale[i] + 1e-30;
      assert(Math.abs(data[i] - want[i]) <= tol, `${label} [${i}]: ${data[i]} vs ${want[i]}`);
      assert(Math.abs(data[i] - slow[i]) <= 2 * tol, `${label} [${i}] vs TypeScript kernel`);
    }
  } finally {
    setCpuKernels(previous);
  }
}

Deno.test({
  name: "blasMatmul matches the reference on square and rectangular products",
  ignore: noBlas,
  fn() {
    checkAgainstReference(rand([64, 64]), rand([64, 64]), "64x64");
    checkAgainstReference(rand([17, 33]), rand([33, 5]), "17x33 @ 33x5");
    checkAgainstReference(rand([1, 40]), rand([40, 1]), "row @ column");
    checkAgainstReference(rand([9, 1]), rand([1, 7]), "outer product");
    checkAgainstReference(rand([300, 7]), rand([7, 260]), "tall @ wide");
  },
});

Deno.test({
  name: "blasMatmul reads transposed operands on either side without a copy",
  ignore: noBlas,
  fn() {
    const at = rand([33, 17]).transpose(0, 1);
    const bt = rand([21, 33]).transpose(0, 1);
    checkAgainstReference(at, rand([33, 21]), "Aᵀ @ B");
    checkAgainstReference(rand([17, 33]), bt, "A @ Bᵀ");
    checkAgainstReference(at, bt, "Aᵀ @ Bᵀ");
  },
});

Deno.test({
  name: "blasMatmul reads offset, sliced and stepped views",
  ignore: noBlas,
  fn() {
    const big = rand([40, 50]);
    // Row and column windows: an offset and a leading dimension wider than the row.
    const a = big.slice(0, 3, 20).slice(1, 5, 30);
    const b = rand([30, 60]).slice(0, 5, 30).slice(1, 7, 19);
    checkAgainstReference(a, b, "windows");
    const at = rand([30, 40]).slice(0, 5, 30).slice(1, 3, 20).transpose(0, 1);
    checkAgainstReference(at, b, "transposed window (strides [1, 40], offset)");
    // A column step gives an inner stride of 2, which sgemm cannot take: packed first.
    checkAgainstReference(big.slice(1, 0, 50, 2), rand([25, 9]), "stepped columns");
    checkAgainstReference(rand([6, 13]), big.slice(0, 1, 40, 3), "stepped rows of B");
  },
});

Deno.test({
  name: "blasMatmul broadcasts batch dimensions",
  ignore: noBlas,
  fn() {
    checkAgainstReference(rand([3, 1, 5, 8]), rand([2, 8, 6]), "[3,1] x [2]");
    checkAgainstReference(rand([4, 5, 8]), rand([8, 6]), "batched @ shared (one tall call)");
    checkAgainstReference(rand([5, 8]), rand([4, 8, 6]), "shared @ batched");
    checkAgainstReference(rand([4, 8, 5]).transpose(1, 2), rand([8, 6]), "batched Aᵀ @ shared");
    checkAgainstReference(
      rand([1, 5, 8]).expand([3, 5, 8]),
      rand([3, 6, 8]).transpose(1, 2),
      "expanded A @ batched Bᵀ",
    );
    checkAgainstReference(
      rand([2, 3, 5, 8]).permute([1, 0, 2, 3]),
      rand([8, 4]),
      "permuted batch @ shared",
    );
  },
});

Deno.test({
  name: "blasMatmul loops over broadcast batches whose dimensions do not collapse",
  ignore: noBlas,
  fn() {
    // a: [3, 1, 5, 8] read as [3, 2, 5, 8]; b: [2, 8, 6] transposed storage, read as [3, 2, 8, 6].
    const values = (n: number) => Float32Array.from({ length: n }, () => next() * 2 - 1);
    const a = { data: values(7 + 3 * 40), shape: [3, 1, 5, 8], strides: [40, 40, 8, 1], offset: 7 };
    const b = { data: values(2 * 48), shape: [2, 8, 6], strides: [48, 1, 8], offset: 0 };
    const batch = [3, 2];
    const got = new Float32Array(6 * 5 * 6);
    assert(blasMatmul([{ ...a, dtype: "float32" }, { ...b, dtype: "float32" }], got, batch));
    const f64 = (v: typeof a) => ({
      ...v,
      data: Float64Array.from(v.data),
      dtype: "float64" as const,
    });
    const want = new Float64Array(got.length);
    matmul.cpu([f64(a), f64(b)], want, { shape: [...batch, 5, 6], dtype: "float64" }, undefined);
    for (let i = 0; i < want.length; i++) {
      assert(Math.abs(got[i] - want[i]) <= 1e-5 * 8, `[${i}]: ${got[i]} vs ${want[i]}`);
    }
  },
});

Deno.test({
  name: "blasMatmul handles empty products and declines non-float32 without touching out",
  ignore: noBlas,
  fn() {
    const view = (shape: number[], data = new Float32Array(shape[0] * shape[1])) => ({
      data,
      shape,
      strides: [shape[1], 1],
      offset: 0,
      dtype: "float32" as const,
    });
    const out = new Float32Array(6).fill(7);
    assert(blasMatmul([view([2, 0]), view([0, 3])], out, []));
    assertEquals(Array.from(out), [0, 0, 0, 0, 0, 0], "K = 0 gives zeros");
    assert(blasMatmul([view([0, 4]), view([4, 3])], new Float32Array(0), []), "M = 0");
    assert(blasMatmul([view([2, 4]), view([4, 0])], new Float32Array(0), []), "N = 0");
    assertEquals(rand([0, 4]).matmul(rand([4, 3])).shape, [0, 3]);
    assertEquals(rand([2, 0]).matmul(rand([0, 3])).dataSync(), new Float32Array(6));

    const x = view([2, 2], new Float32Array([1, 2, 3, 4]));
    const x64 = { ...x, data: Float64Array.from(x.data), dtype: "float64" as const };
    const out64 = new Float64Array(4).fill(9);
    assertEquals(blasMatmul([x64, x64], out64, []), false);
    assertEquals(blasMatmul([x, x], out64, []), false);
    assertEquals(Array.from(out64), [9, 9, 9, 9]);
    const before = cpuKernelCounts();
    tensor([[1, 2], [3, 4]], { dtype: "float64", backend: "cpu" }).matmul(
      tensor([[1], [1]], { dtype: "float64", backend: "cpu" }),
    ).dataSync();
    assertEquals(cpuKernelCounts().blasMatmul, before.blasMatmul, "float64 never runs on BLAS");
  },
});

Deno.test({
  name: "setCpuKernels({ blas: false }) turns the BLAS path off",
  ignore: noBlas,
  fn() {
    const x = rand([8, 8]);
    const before = cpuKernelCounts();
    const previous = setCpuKernels({ blas: false });
    try {
      x.matmul(x).dataSync();
    } finally {
      setCpuKernels(previous);
    }
    const after = cpuKernelCounts();
    assertEquals(after.blasMatmul, before.blasMatmul);
    assertEquals(
      after.wasmMatmul + after.tsMatmul,
      before.wasmMatmul + before.tsMatmul + 1,
    );
  },
});

Deno.test({
  name: "blasInfo() and setBlasThreads() report and set the library's threads",
  ignore: noBlas,
  fn() {
    const info = blasInfo()!;
    assert(info.path.length > 0);
    if (info.threads === null) return;
    assert(setBlasThreads(1));
    assertEquals(blasInfo()!.threads, 1);
    setBlasThreads(info.threads);
    assertEquals(blasInfo()!.threads, info.threads);
  },
});

Deno.test("setBlasThreads() rejects a count that is not a positive integer", () => {
  assertThrows(() => setBlasThreads(0), RangeError, "Cannot set BLAS threads");
  assertThrows(() => setBlasThreads(1.5), RangeError, "got 1.5");
});

/** Runs a script in a fresh `deno run` with the given flags and returns its stdout. */
async function runScript(flags: string[], env: Record<string, string> = {}): Promise<string> {
  const script = `
    import { blasAvailable } from "${new URL("./blas_ffi.ts", import.meta.url)}";
    import { tensor } from "${new URL("../creation.ts", import.meta.url)}";
    const x = tensor([[1, 2], [3, 4]], { backend: "cpu" });
    console.log(JSON.stringify({ blas: blasAvailable(), y: Array.from(x.matmul(x).dataSync()) }));
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--no-check", "--quiet", ...flags, "-"],
    env: { NO_COLOR: "1", ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const text = new TextDecoder().decode(stdout);
  assertEquals(code, 0, new TextDecoder().decode(stderr));
  return text.trim();
}

const canSpawn = Deno.permissions.querySync({ name: "run" }).state === "granted";

Deno.test({
  name: "without --allow-ffi no BLAS loads, nothing prompts, and matmul still works",
  ignore: !canSpawn,
  async fn() {
    const out = JSON.parse(await runScript(["--allow-env", "--allow-read"]));
    assertEquals(out, { blas: false, y: [7, 10, 15, 22] });
    const bare = JSON.parse(await runScript([]));
    assertEquals(bare, { blas: false, y: [7, 10, 15, 22] });
  },
});

Deno.test({
  name: "DENOFORMERS_BLAS=0 turns native BLAS off even with --allow-ffi",
  ignore: !canSpawn,
  async fn() {
    const out = JSON.parse(await runScript(["-A"], { DENOFORMERS_BLAS: "0" }));
    assertEquals(out, { blas: false, y: [7, 10, 15, 22] });
  },
});

Deno.test({
  name: "DENOFORMERS_BLAS names a library to load first; a missing one falls back to the list",
  ignore: !canSpawn || noBlas,
  async fn() {
    const named = JSON.parse(await runScript(["-A"], { DENOFORMERS_BLAS: blasInfo()!.path }));
    assertEquals(named, { blas: true, y: [7, 10, 15, 22] });
    const missing = JSON.parse(
      await runScript(["-A"], { DENOFORMERS_BLAS: "/nonexistent/libblas.so" }),
    );
    assertEquals(missing, { blas: true, y: [7, 10, 15, 22] });
  },
});
