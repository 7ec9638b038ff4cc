import { assert, assertEquals } from "@std/assert";
import { Embedding, manualSeed, SafetensorsFile, tensor, tidy } from "@denoformers/core";
import { assertAllClose, testBackends, testRng } from "@denoformers/core/testing";
import { AutoModelForQuestionAnswering } from "./auto.ts";
import { forQuestionAnsweringLoss } from "./losses.ts";
import { GenericForQuestionAnswering } from "./question_answering.ts";
import { paramsWithoutGrad, ToyConfig, type ToyModel, toyRegistry, trainLosses } from "./_toy.ts";

const registry = toyRegistry();
const int = (v: number[] | number[][]) => tensor(v, { dtype: "int32" });
const toy = (m: { baseModel: unknown }) => m.baseModel as ToyModel;

testBackends("start and end logits are the two columns of qa_outputs, [B, S] each", async () => {
  manualSeed(5);
  const model = new GenericForQuestionAnswering(new ToyConfig({ num_labels: 3 }), { registry });
  const input = int([[1, 2, 3, 4], [5, 6, 7, 0]]);
  const out = model.call(input, { outputHiddenStates: true });
  assertEquals([out.startLogits.shape, out.endLogits.shape], [[2, 4], [2, 4]]);
  assertEquals([out.loss, out.hiddenStates!.length], [undefined, 2]);
  assert(out.startLogits.isContiguous && out.endLogits.isContiguous);
  const both = await tidy(() => model.qa_outputs.call(toy(model).call(input).lastHiddenState))
    .data();
  assertAllClose(await out.startLogits.data(), both.filter((_, i) => i % 2 === 0));
  assertAllClose(await out.endLogits.data(), both.filter((_, i) => i % 2 === 1));
});

testBackends("the loss needs both positions and equals forQuestionAnsweringLoss", async () => {
  const model = new GenericForQuestionAnswering(new ToyConfig(), { registry });
  const input = int([[1, 2, 3], [4, 5, 6]]);
  const startPositions = int([0, 9]);
  const endPositions = int([2, 1]);
  assertEquals(model.call(input, { startPositions }).loss, undefined);
  const out = model.call(input, { startPositions, endPositions, numItemsInBatch: 3 });
  const expected = forQuestionAnsweringLoss(out.startLogits, out.endLogits, {
    startPositions,
    endPositions,
    numItemsInBatch: 3,
  });
  assertAllClose([await out.loss!.item()], [await expected.item()]);
  model.lossFunction = (s) => s.sum().mul(0);
  assertEquals(await model.call(input, { startPositions, endPositions }).loss!.item(), 0);
});

testBackends("construction: qa_outputs with bias under the plugin prefix; embeddings", () => {
  const model = new GenericForQuestionAnswering(new ToyConfig(), {
    registry: toyRegistry("transformer"),
  });
  assertEquals(Object.keys(model.stateDict()), [
    "transformer.embed_tokens.weight",
    "transformer.layers.0.dense.weight",
    "transformer.layers.0.dense.bias",
    "qa_outputs.weight",
    "qa_outputs.bias",
  ]);
  assertEquals(model.qa_outputs.weight.shape, [2, 8]);
  const base = toy(model);
  assert(model.getInputEmbeddings() === base.embed_tokens);
  const replacement = new Embedding(16, 8);
  model.setInputEmbeddings(replacement);
  assert(base.embed_tokens === replacement);
});

testBackends("the loss gradient reaches every trainable parameter", async () => {
  manualSeed(6);
  const model = new GenericForQuestionAnswering(new ToyConfig(), { registry });
  const loss = model.call(int([[1, 2, 3], [4, 5, 6]]), {
    startPositions: int([0, 1]),
    endPositions: int([2, 2]),
  }).loss!;
  assertEquals(await paramsWithoutGrad(model, loss), []);
});

testBackends("training finds a span marked by tokens 1 and 2", async () => {
  manualSeed(7);
  const model = new GenericForQuestionAnswering(new ToyConfig(), { registry });
  const rng = testRng(7);
  const rows: number[][] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  for (let b = 0; b < 8; b++) {
    const row = Array.from({ length: 6 }, () => 3 + Math.floor(rng() * 13));
    const s = Math.floor(rng() * 3);
    const e = s + 1 + Math.floor(rng() * 2);
    row[s] = 1;
    row[e] = 2;
    rows.push(row);
    starts.push(s);
    ends.push(e);
  }
  const input = int(rows);
  const startPositions = int(starts);
  const endPositions = int(ends);
  const [first, last] = await trainLosses(
    model,
    () => model.call(input, { startPositions, endPositions }).loss!,
    30,
  );
  assert(last < 0.2 * first, `loss fell from ${first} to ${last}`);
});

testBackends("save/load round trip keeps qa_outputs.weight and qa_outputs.bias", async (b) => {
  manualSeed(8);
  const model = new GenericForQuestionAnswering(new ToyConfig(), { registry });
  const dir = await Deno.makeTempDir();
  try {
    await model.savePretrained(dir);
    const file = await SafetensorsFile.open(`${dir}/model.safetensors`);
    assert(file.keys().includes("qa_outputs.weight") && file.keys().includes("qa_outputs.bias"));
    file.close();
    const again = await AutoModelForQuestionAnswering.fromPretrained(dir, { registry, backend: b });
    assertEquals(again.loadingInfo, { missingKeys: [], unexpectedKeys: [] });
    const input = int([[3, 1, 4, 1, 5]]);
    assertAllClose(
      await again.call(input).startLogits.data(),
      await model.call(input).startLogits.data(),
    );
    await toy(model).savePretrained(`${dir}/base`);
    const fresh = await AutoModelForQuestionAnswering.fromPretrained(`${dir}/base`, { registry });
    assertEquals(fresh.loadingInfo!.missingKeys, ["qa_outputs.weight", "qa_outputs.bias"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
