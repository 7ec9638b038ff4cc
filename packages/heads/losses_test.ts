import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { DTypeError, PretrainedConfig, tensor, zeros } from "@denoformers/core";
import { assertAllClose, testBackends } from "@denoformers/core/testing";
import {
  forQuestionAnsweringLoss,
  forSequenceClassificationLoss,
  forTokenClassificationLoss,
} from "./losses.ts";

const int = (v: number[] | number[][]) => tensor(v, { dtype: "int32" });
const softplus = (x: number) => Math.log1p(Math.exp(x));

testBackends("sequence loss infers single-label from int32 labels and keeps it", async () => {
  const config = new PretrainedConfig({ num_labels: 3 });
  const pooled = tensor([[1, 2, 3], [0, 0, 0]]);
  const loss = forSequenceClassificationLoss(pooled, int([2, 0]), { config });
  assertEquals(config.problem_type, "single_label_classification");
  const lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
  const expected = ((lse - 3) + Math.log(3)) / 2;
  const summed = forSequenceClassificationLoss(pooled, int([2, -100]), {
    config,
    numItemsInBatch: 4,
  });
  assertAllClose([await loss.item(), await summed.item()], [expected, (lse - 3) / 4], {
    rtol: 1e-5,
  });
  // Once set, the problem type sticks: float labels now fail as class indices would.
  assertThrows(
    () => forSequenceClassificationLoss(pooled, tensor([1, 0]), { config }),
    DTypeError,
  );
});

testBackends("sequence loss infers multi-label from float labels: mean BCE", async () => {
  const config = new PretrainedConfig({ num_labels: 2 });
  const pooled = tensor([[0, 2], [-1, 0.5]]);
  const loss = forSequenceClassificationLoss(pooled, tensor([[1, 0], [0, 1]]), { config });
  assertEquals(config.problem_type, "multi_label_classification");
  const expected = (softplus(0) + softplus(2) - 2 * 0 + softplus(-1) + softplus(0.5) - 0.5) / 4;
  assertAlmostEquals(await loss.item(), expected, 1e-6);
  const boolConfig = new PretrainedConfig({ num_labels: 2 });
  forSequenceClassificationLoss(pooled, tensor([[true, false], [false, true]]), {
    config: boolConfig,
  });
  assertEquals(boolConfig.problem_type, "multi_label_classification");
});

testBackends("sequence loss: num_labels 1 is regression on squeezed values", async () => {
  const config = new PretrainedConfig({ num_labels: 1 });
  const loss = forSequenceClassificationLoss(tensor([[1], [2]]), int([0, 4]), { config });
  assertEquals(config.problem_type, "regression");
  assertAlmostEquals(await loss.item(), (1 + 4) / 2, 1e-6);
  // One example: both sides squeeze to scalars.
  const one = forSequenceClassificationLoss(tensor([[3]]), tensor([[1]]), { config });
  assertAlmostEquals(await one.item(), 4, 1e-6);
  // Regression with several outputs compares full shapes.
  const wide = new PretrainedConfig({ num_labels: 2, problem_type: "regression" });
  const l2 = forSequenceClassificationLoss(tensor([[1, 2]]), tensor([[0, 0]]), { config: wide });
  assertAlmostEquals(await l2.item(), 2.5, 1e-6);
});

testBackends("sequence loss rejects an invalid problem type", () => {
  const config = new PretrainedConfig({ num_labels: 2 });
  (config as { problem_type: unknown }).problem_type = "ranking";
  assertThrows(
    () => forSequenceClassificationLoss(zeros([1, 2]), int([0]), { config }),
    RangeError,
    'invalid problem type "ranking"',
  );
});

testBackends("QA loss: the §8.3 example is ln 4 (clamped, out-of-range ignored)", async () => {
  const logits = zeros([2, 4]);
  const startPositions = int([1, 9]); // 9 clamps to 4 = S: ignored
  const endPositions = int([[-3], [2]]); // [B, 1] squeezed; -3 clamps to 0 and counts
  const loss = forQuestionAnsweringLoss(logits, logits, { startPositions, endPositions });
  const scaled = forQuestionAnsweringLoss(logits, logits, {
    startPositions,
    endPositions,
    numItemsInBatch: 2,
  });
  assertAllClose(
    [await loss.item(), await scaled.item()],
    [Math.log(4), (Math.log(4) / 2 + Math.log(4)) / 2],
    { rtol: 1e-6 },
  );
});

testBackends("QA loss is NaN when every position is ignored, 0 with numItemsInBatch", async () => {
  const logits = zeros([2, 3]);
  const startPositions = int([3, 7]);
  const endPositions = int([5, 3]);
  const loss = forQuestionAnsweringLoss(logits, logits, { startPositions, endPositions });
  const counted = forQuestionAnsweringLoss(logits, logits, {
    startPositions,
    endPositions,
    numItemsInBatch: 2,
  });
  const [nan, zero] = [await loss.item(), await counted.item()];
  assert(Number.isNaN(nan), `expected NaN, got ${nan}`);
  assertEquals(zero, 0);
  assertThrows(
    () => forQuestionAnsweringLoss(zeros([3]), zeros([3]), { startPositions, endPositions }),
    RangeError,
    "expected [B, S]",
  );
});

testBackends("token loss ignores -100; all ignored gives NaN", async () => {
  const logits = tensor([[[2, 0], [0, 0], [0, 1]]]);
  const loss = forTokenClassificationLoss(logits, int([[0, -100, 1]]));
  const expected = (Math.log(Math.exp(2) + 1) - 2 + Math.log(1 + Math.E) - 1) / 2;
  const perItem = forTokenClassificationLoss(logits, int([[0, -100, 1]]), { numItemsInBatch: 4 });
  const ignored = forTokenClassificationLoss(logits, int([[-100, -100, -100]]));
  const values = [await loss.item(), await perItem.item(), await ignored.item()];
  assertAllClose(values.slice(0, 2), [expected, expected / 2], { rtol: 1e-6 });
  assert(Number.isNaN(values[2]), `expected NaN, got ${values[2]}`);
});
