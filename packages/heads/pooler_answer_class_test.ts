import { assertEquals, assertThrows } from "@std/assert";
import { PretrainedConfig, tensor } from "@denoformers/core";
import { assertAllClose, testBackends } from "@denoformers/core/testing";
import { PoolerAnswerClass } from "./pooler_answer_class.ts";
import { setParams } from "./_toy.ts";

const HIDDEN = [[[1, 2], [3, -1], [0.5, 0.5]], [[0, 0], [-2, 1], [4, 4]]];

/** dense_0 = [I | I] (start + cls), dense_1 picks the first unit: logit = tanh(start0 + cls0). */
function pooler(): PoolerAnswerClass {
  const p = new PoolerAnswerClass(new PretrainedConfig({ hidden_size: 2 }));
  setParams(p, {
    "dense_0.weight": [[1, 0, 1, 0], [0, 1, 0, 1]],
    "dense_0.bias": [0, 0],
    "dense_1.weight": [[1, 0]],
  });
  return p;
}

testBackends("answer class: start state + cls state (default: the last token)", async () => {
  const p = pooler();
  const hidden = tensor(HIDDEN);
  const startPositions = tensor([1, 0], { dtype: "int32" });
  const last = p.call(hidden, { startPositions });
  assertEquals(last.shape, [2]);
  const withCls = p.call(hidden, { startPositions, clsIndex: tensor([0, 1], { dtype: "int32" }) });
  const states = p.call(hidden, { startStates: tensor([[1, 9], [2, 9]]) });
  assertAllClose(
    [...await last.data(), ...await withCls.data(), ...await states.data()],
    [
      Math.tanh(3 + 0.5),
      Math.tanh(0 + 4),
      Math.tanh(3 + 1),
      Math.tanh(0 - 2),
      Math.tanh(1 + 0.5),
      Math.tanh(2 + 4),
    ],
    { rtol: 1e-5 },
  );
  assertEquals(p.dense_1.bias, null);
  assertThrows(() => p.call(hidden), TypeError, "one of startStates, startPositions");
});
