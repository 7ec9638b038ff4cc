import { assert, assertEquals, assertThrows } from "@std/assert";
import { arange, eye, full, ones, tensor, zeros } from "./creation.ts";
import { cat, stack, where } from "./functional.ts";
import { memoryOf } from "./memory.ts";
import { getBackend, setBackend } from "./backends/registry.ts";
import { assertAllClose, testBackends, webgpuAvailable } from "./_testing/backends.ts";

testBackends("creation from nested arrays, typed arrays and fills", async () => {
  const t = tensor([[1, 2, 3], [4, 5, 6]]);
  assertEquals([t.shape, t.dtype, t.size, t.ndim], [[2, 3], "float32", 6, 2]);
  assertEquals(await t.toArray(), [[1, 2, 3], [4, 5, 6]]);
  assertEquals(tensor([true, false]).dtype, "bool");
  assertEquals(await tensor([true, false]).toArray(), [true, false]);
  assertEquals(tensor(new Int32Array([1, 2, 3, 4]), { shape: [2, 2] }).dtype, "int32");
  assertEquals(await tensor(3.5).item(), 3.5);
  assertEquals(tensor(3.5).shape, []);
  assertEquals(await full([2], 1.5, { dtype: "float32" }).toArray(), [1.5, 1.5]);
  assertEquals(await zeros([0, 3]).toArray(), []);
  assertEquals(await arange(5).toArray(), [0, 1, 2, 3, 4]);
  assertEquals(arange(5).dtype, "int32");
  assertEquals(await arange(0, 1, 0.25).toArray(), [0, 0.25, 0.5, 0.75]);
  assertEquals(await eye(2, 3).toArray(), [[1, 0, 0], [0, 1, 0]]);
  assertThrows(() => tensor([[1, 2], [3]]), RangeError, "ragged");
  assertThrows(() => tensor(new Float32Array(5), { shape: [2, 3] }), RangeError, "[2, 3]");
});

testBackends("views share storage and add no bytes", async (b) => {
  const x = arange(24, undefined, 1, { dtype: "float32" }).reshape([2, 3, 4]);
  const before = memoryOf(b).liveBytes;
  const v = x.permute([2, 0, 1]).slice(0, 1, 3).unsqueeze(0).squeeze(0);
  assertEquals(memoryOf(b).liveBytes, before);
  assertEquals(v.shape, [2, 2, 3]);
  assert(!v.isContiguous);
  assertEquals(await v.toArray(), [[[1, 5, 9], [13, 17, 21]], [[2, 6, 10], [14, 18, 22]]]);
  assertEquals(await x.flatten(1).shape, [2, 12]);
  assertEquals(await x.expand([2, 2, 3, 4]).sum().item(), 2 * 276);
});

testBackends("split, chunk, cat and stack", async () => {
  const x = arange(10, undefined, 1, { dtype: "float32" }).reshape([2, 5]);
  const parts = x.split(2, 1);
  assertEquals(parts.map((p) => p.shape), [[2, 2], [2, 2], [2, 1]]);
  assertEquals(await parts[2].toArray(), [[4], [9]]);
  assertEquals(x.chunk(2, 1).map((p) => p.shape), [[2, 3], [2, 2]]);
  assertEquals(await cat(x.split([1, 4], 1), 1).toArray(), await x.toArray());
  assertEquals((await stack([x, x], 0)).shape, [2, 2, 5]);
  assertThrows(() => cat([x, ones([3, 5])], 1), RangeError, "[2, 5], [3, 5]");
  assertThrows(() => x.split([2, 2], 1), RangeError, "split");
});

testBackends("dtype promotion follows PyTorch", async () => {
  const i = tensor([1, 2, 3], { dtype: "int32" });
  assertEquals(i.add(1).dtype, "int32");
  assertEquals(i.add(0.5).dtype, "float32");
  assertEquals(i.div(2).dtype, "float32");
  assertEquals(await i.div(2).toArray(), [0.5, 1, 1.5]);
  assertEquals(i.exp().dtype, "float32");
  assertEquals(i.gt(1).dtype, "bool");
  assertEquals(tensor([true, true]).sum().dtype, "int32");
  assertEquals(await tensor([true, true, false]).sum().item(), 2);
  assertEquals(await i.mean().item(), 2);
});

testBackends("composites: clamp, maskedFill, where, tril, triu, oneHot, all, any", async () => {
  const x = tensor([[-2, 0.5, 3], [1, -1, 4]]);
  assertEquals(await x.clamp(-1, 2).toArray(), [[-1, 0.5, 2], [1, -1, 2]]);
  assertEquals(await x.maskedFill(x.lt(0), -100).toArray(), [[-100, 0.5, 3], [1, -100, 4]]);
  assertEquals(await where(x.gt(0), x, 0).toArray(), [[0, 0.5, 3], [1, 0, 4]]);
  const m = ones([3, 3]);
  assertEquals(await m.tril().toArray(), [[1, 0, 0], [1, 1, 0], [1, 1, 1]]);
  assertEquals(await m.triu(1).toArray(), [[0, 1, 1], [0, 0, 1], [0, 0, 0]]);
  assertEquals(await m.tril(-1).toArray(), [[0, 0, 0], [1, 0, 0], [1, 1, 0]]);
  assertEquals(await tensor([2, 0], { dtype: "int32" }).oneHot(3).toArray(), [[0, 0, 1], [
    1,
    0,
    0,
  ]]);
  assertEquals(await x.gt(-3).all().item(), 1);
  assertEquals(await x.gt(3).any(1).toArray(), [false, true]);
  assertEquals(await x.gt(0).all(1, { keepdim: true }).toArray(), [[false], [false]]);
});

testBackends("reductions: mean, var, logsumexp, argmax, topk", async () => {
  const x = tensor([[1, 2, 3, 4], [2, 4, 6, 8]]);
  assertEquals(await x.mean(1).toArray(), [2.5, 5]);
  assertAllClose(await x.var(1).data(), [5 / 3, 20 / 3]);
  assertAllClose(await x.var(1, { correction: 0 }).data(), [1.25, 5]);
  assertAllClose(await x.var().data(), [(150 - 8 * 3.75 ** 2) / 7]);
  const big = tensor([1000, 1000]);
  assertAllClose(await big.logsumexp().data(), [1000 + Math.log(2)]);
  assertAllClose(await tensor([-Infinity, -Infinity]).logsumexp().data(), [-Infinity]);
  assertEquals(await x.argmax().item(), 7);
  assertEquals(await x.argmin(1).toArray(), [0, 0]);
  const { values, indices } = tensor([3, 1, 4, 1, 5, 9, 2, 6]).topk(3);
  assertEquals(await values.toArray(), [9, 6, 5]);
  assertEquals(await indices.toArray(), [5, 7, 4]);
});

testBackends("gelu, silu and softmax give known values", async () => {
  const x = tensor([-1, 0, 1, 2]);
  // GELU(1) = 0.5 (1 + erf(1/√2)) = 0.8413447460685429; tanh form 0.8411919906082768.
  assertAllClose(await x.gelu().data(), [
    -0.15865525393145707,
    0,
    0.8413447460685429,
    1.9544997361036416,
  ]);
  assertAllClose(await x.gelu("tanh").data(), [
    -0.15880800939172324,
    0,
    0.8411919906082768,
    1.954597694087775,
  ]);
  assertAllClose(await x.silu().data(), [
    -0.2689414213699951,
    0,
    0.7310585786300049,
    1.7615941559557649,
  ]);
  assertAllClose(await tensor([0, Math.log(3)]).softmax().data(), [0.25, 0.75]);
});

testBackends("dropout: identity when not training, zero/scale when training", async () => {
  const x = ones([1000]);
  assert(x.dropout(0.5, false) === x);
  assert(x.dropout(0) === x);
  assertEquals(await x.dropout(1).sum().item(), 0);
  assertThrows(() => x.dropout(1.5), RangeError, "1.5");
});

Deno.test({
  name: "to() moves tensors between backends and setBackend() picks WebGPU when available",
  ignore: !webgpuAvailable,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const prev = getBackend();
    assertEquals(await setBackend(), "webgpu");
    const g = tensor([[1, 2], [3, 4]]);
    const c = await g.to("cpu");
    assertEquals([c.backend, await c.toArray()], ["cpu", [[1, 2], [3, 4]]]);
    const back = await c.to("webgpu");
    assertEquals([back.backend, await back.matmul(back).toArray()], ["webgpu", [[7, 10], [
      15,
      22,
    ]]]);
    assert(await g.to("webgpu") === g);
    await setBackend(prev);
  },
});

testBackends(
  "softmax of a row of -FLT_MAX (a fully masked attention row) is uniform, not NaN",
  async () => {
    const m = -3.4028234663852886e38;
    const x = tensor([[m, m, m, m], [m, 0, m, 0]]);
    assertAllClose(await x.softmax(-1).data(), [0.25, 0.25, 0.25, 0.25, 0, 0.5, 0, 0.5]);
    assertAllClose(
      Array.from(await x.logSoftmax(-1).data()).slice(0, 4),
      Array(4).fill(Math.log(0.25)),
    );
  },
);
