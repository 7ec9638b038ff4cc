import { assertEquals } from "@std/assert";
import { noGrad, PretrainedConfig, setBackend, tensor } from "@denoformers/core";
import { assertAllClose, testBackends } from "@denoformers/core/testing";
import { PoolerStartLogits } from "./pooler_start_logits.ts";
import { setParams } from "./_toy.ts";

const config = new PretrainedConfig({ hidden_size: 2 });
const HIDDEN = [[[1, 2], [3, -1], [0.5, 0.5]], [[0, 0], [-2, 1], [4, 4]]];

testBackends("start logits are dense(hidden) squeezed, p_mask with C = 1e30", async () => {
  const pooler = new PoolerStartLogits(config);
  setParams(pooler, { "dense.weight": [[1, -2]], "dense.bias": [0.5] });
  const hidden = tensor(HIDDEN);
  const raw = HIDDEN.map((row) => row.map(([a, b]) => a - 2 * b + 0.5));
  const plain = pooler.call(hidden);
  assertEquals(plain.shape, [2, 3]);
  assertAllClose(await plain.data(), raw.flat());
  const pMask = tensor([[0, 1, 0], [1, 0, 0]]);
  const masked = await pooler.call(hidden, pMask).data();
  assertAllClose(masked, [raw[0][0], -1e30, raw[0][2], -1e30, raw[1][1], raw[1][2]]);
});

// CPU only: float16 on WebGPU needs the optional shader-f16 feature.
Deno.test("float16 parameters use the p_mask constant 65500", async () => {
  await setBackend("cpu");
  const pooler = new PoolerStartLogits(config);
  setParams(pooler, { "dense.weight": [[1, 0]], "dense.bias": [0] });
  noGrad(() => {
    for (const p of pooler.parameters()) p.assign(p.cast("float16"), { allowDtypeChange: true });
  });
  const hidden = tensor([[[3, 0], [2, 0]]], { dtype: "float16" });
  const out = pooler.call(hidden, tensor([[0, 1]], { dtype: "float16" }));
  assertEquals(out.dtype, "float16");
  assertEquals(Array.from(await out.data()), [3, -65504]);
});
