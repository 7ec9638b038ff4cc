// The reference loop's one-, two- and three-input paths under broadcasting and strides, the
// WebAssembly dispatch's refusals, and the strided copy for every storage type.
import { assertEquals } from "@std/assert";
import type { CpuView } from "./op_def.ts";
import { copyCpu, runCpu, runWasm } from "./elementwise_cpu.ts";

const view = (data: CpuView["data"], shape: number[], strides: number[], offset = 0): CpuView => ({
  data,
  shape,
  strides,
  offset,
  dtype: data instanceof Float32Array ? "float32" : data instanceof Int32Array ? "int32" : "bool",
});

Deno.test("runCpu broadcasts one, two and three strided inputs", () => {
  const x = view(new Float32Array([0, 1, 2, 3, 4, 5]), [2, 3], [3, 1]);
  const xt = view(new Float32Array([0, 1, 2, 3, 4, 5]), [3, 2], [1, 3]); // transposed
  const row = view(new Float32Array([10, 20, 30]), [3], [1]);
  const cond = view(new Uint8Array([1, 0]), [2, 1], [1, 0]);
  const out = new Float32Array(6);
  runCpu((v) => -v, [xt], out, { shape: [3, 2], dtype: "float32" });
  assertEquals(Array.from(out), [-0, -3, -1, -4, -2, -5]);
  runCpu((a, b) => a + b, [x, row], out, { shape: [2, 3], dtype: "float32" });
  assertEquals(Array.from(out), [10, 21, 32, 13, 24, 35]);
  runCpu((c, a, b) => (c ? a : b), [cond, x, row], out, { shape: [2, 3], dtype: "float32" });
  assertEquals(Array.from(out), [0, 1, 2, 10, 20, 30]);
});

Deno.test("runWasm declines what its kernels do not cover", () => {
  const f64 = {
    ...view(new Float32Array(2), [2], [1]),
    data: new Float64Array(2),
    dtype: "float64" as const,
  };
  assertEquals(
    runWasm("add", [f64, f64], new Float64Array(2), { shape: [2], dtype: "float64" }, undefined),
    false,
  );
  const f32 = view(new Float32Array([1, 2]), [2], [1]);
  assertEquals(
    runWasm("sin", [f32], new Float32Array(2), { shape: [2], dtype: "float32" }, undefined),
    false,
  );
});

Deno.test("copyCpu copies strided views of every storage type", () => {
  for (
    const make of [
      (n: number) => new Float32Array(n),
      (n: number) => new Int32Array(n),
      (n: number) => new Uint8Array(n),
    ]
  ) {
    const data = make(6);
    data.set([0, 1, 1, 0, 1, 1]);
    const out = make(6);
    copyCpu([view(data, [3, 2], [1, 3])], out);
    assertEquals(Array.from(out), [0, 0, 1, 1, 1, 1]);
  }
});
