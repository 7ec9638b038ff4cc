import { assert, assertEquals } from "@std/assert";
import { arange, randn, tensor } from "./creation.ts";
import { cat } from "./functional.ts";
import { manualSeed } from "./rng.ts";
import { getAdapter } from "./backends/webgpu/webgpu.ts";
import type { BackendName } from "./backends/backend.ts";
import type { Tensor } from "./tensor.ts";
import { assertAllClose, testBackends } from "./_testing/backends.ts";

const f16Gpu = (await getAdapter())?.features.has("shader-f16") ?? false;

function testF16(name: string, fn: (b: BackendName) => Promise<void>) {
  testBackends(name, fn, { ignoreWebgpu: !f16Gpu });
}

/** Runs `f` in float16 and in float32 on the same (half-representable) inputs and compares. */
async function agrees(inputs: Tensor[], f: (xs: Tensor[]) => Tensor, label: string) {
  const half = f(inputs.map((x) => x.cast("float16")));
  const full = f(inputs.map((x) => x.cast("float16").cast("float32")));
  if (half.dtype === "float32" || half.dtype === "float16") {
    assertEquals(half.dtype, "float16", label);
  }
  assertAllClose(await half.cast("float32").data(), await full.data(), {
    rtol: 2e-3,
    atol: 2e-3,
    label,
  });
}

testF16("float16 tensors store half precision and compute like float32", async () => {
  const t = tensor([1.0009765625, 0.1, 65504], { dtype: "float16" });
  assertEquals(t.dtype, "float16");
  const data = await t.data();
  assert(data instanceof Float16Array);
  assertEquals(Array.from(data), [1.0009765625, 0.0999755859375, 65504]);
  manualSeed(1);
  const x = randn([4, 6]);
  const y = randn([6, 3]);
  const i = tensor([[2, 0, 5], [1, 1, 4]], { dtype: "int32" });
  // Each op rounds its result to half, so compare single ops (a chain accumulates roundings).
  await agrees([x, x.neg().add(0.25)], ([a, b]) => a.mul(b), "mul");
  await agrees([x], ([a]) => a.exp(), "exp");
  await agrees([x], ([a]) => a.sigmoid(), "sigmoid");
  await agrees([x], ([a]) => a.erf(), "erf");
  await agrees([x], ([a]) => a.sum(1), "sum");
  await agrees([x], ([a]) => a.softmax(-1), "softmax");
  await agrees([x], ([a]) => a.max(0), "max");
  await agrees([x, y], ([a, b]) => a.matmul(b), "matmul");
  await agrees([x], ([a]) => a.transpose(0, 1).contiguous(), "strided copy");
  await agrees([x], ([a]) => cat([a.slice(1, 0, 3), a], 1), "pad/cat");
  await agrees([x], ([a]) => a.gather(1, i.cast("int32").slice(0, 0, 2)), "gather");
  await agrees([x], ([a]) => a.topk(2).values, "topk");
  await agrees(
    [x],
    ([a]) => a.zerosLike().scatterAdd(1, i.slice(0, 0, 2), a.slice(1, 0, 3)),
    "scatterAdd",
  );
  assertEquals(await arange(4).cast("float16").dropout(0, true).toArray(), [0, 1, 2, 3]);
});

testF16("gradients flow in float16", async () => {
  const w = tensor([0.5, -1, 2], { dtype: "float16", requiresGrad: true });
  w.mul(w).sum().backward();
  assertEquals(w.grad!.dtype, "float16");
  assertEquals(Array.from(await w.grad!.data()), [1, -2, 4]);
});

testF16("rand and randn draw float16 values (float32 draws rounded once)", async () => {
  manualSeed(5);
  const half = randn([64], { dtype: "float16" });
  manualSeed(5);
  const full = randn([64]);
  assertEquals(half.dtype, "float16");
  assertEquals(
    Array.from(await half.data()),
    Array.from(await full.data(), (v) => Math.f16round(v)),
  );
});
