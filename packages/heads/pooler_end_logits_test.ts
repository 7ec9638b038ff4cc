import { assertEquals, assertThrows } from "@std/assert";
import { PretrainedConfig, tensor } from "@denoformers/core";
import { assertAllClose, testBackends, testRng } from "@denoformers/core/testing";
import { PoolerEndLogits } from "./pooler_end_logits.ts";
import { fillParams } from "./_toy.ts";

const H = 3;
const EPS = 1e-5;

/** Host reference: dense_1(LayerNorm(tanh(dense_0([x ; start])))). */
function reference(w: Record<string, number[]>, x: number[], start: number[]): number {
  const z = [...x, ...start];
  const u = Array.from(
    { length: H },
    (_, i) =>
      Math.tanh(
        z.reduce((acc, v, j) => acc + v * w["dense_0.weight"][i * 2 * H + j], 0) +
          w["dense_0.bias"][i],
      ),
  );
  const mean = u.reduce((a, b) => a + b, 0) / H;
  const variance = u.reduce((a, b) => a + (b - mean) ** 2, 0) / H;
  const n = u.map((v, i) =>
    ((v - mean) / Math.sqrt(variance + EPS)) * w["LayerNorm.weight"][i] + w["LayerNorm.bias"][i]
  );
  return n.reduce((acc, v, i) => acc + v * w["dense_1.weight"][i], 0) + w["dense_1.bias"][0];
}

testBackends("end logits match a host reference, from positions or from start states", async () => {
  const pooler = new PoolerEndLogits(new PretrainedConfig({ hidden_size: H, layer_norm_eps: EPS }));
  assertEquals(pooler.LayerNorm.eps, EPS);
  const w = fillParams(pooler, 21);
  const rng = testRng(22);
  const rows = Array.from(
    { length: 2 },
    () => Array.from({ length: 4 }, () => Array.from({ length: H }, () => 2 * rng() - 1)),
  );
  const hidden = tensor(rows);
  const starts = [2, 0];
  const expected = rows.map((row, b) => row.map((x) => reference(w, x, row[starts[b]])));
  const fromPositions = pooler.call(hidden, {
    startPositions: tensor(starts, { dtype: "int32" }),
    pMask: tensor([[0, 0, 0, 1], [0, 0, 0, 0]]),
  });
  assertEquals(fromPositions.shape, [2, 4]);
  const startStates = tensor(rows.map((row, b) => row.map(() => row[starts[b]])));
  const fromStates = pooler.call(hidden, { startStates });
  const masked = expected.flat().map((v, i) => (i === 3 ? -1e30 : v));
  assertAllClose(await fromPositions.data(), masked, { rtol: 1e-4, atol: 1e-5 });
  assertAllClose(await fromStates.data(), expected.flat(), { rtol: 1e-4, atol: 1e-5 });
  assertThrows(() => pooler.call(hidden, {}), TypeError, "one of startStates, startPositions");
});

testBackends("layer_norm_eps defaults to 1e-12; names are dense_0, LayerNorm, dense_1", () => {
  const pooler = new PoolerEndLogits(new PretrainedConfig({ hidden_size: 4 }));
  assertEquals(pooler.LayerNorm.eps, 1e-12);
  assertEquals(Object.keys(pooler.stateDict()), [
    "dense_0.weight",
    "dense_0.bias",
    "LayerNorm.weight",
    "LayerNorm.bias",
    "dense_1.weight",
    "dense_1.bias",
  ]);
  assertEquals(pooler.dense_0.weight.shape, [4, 8]);
});
