import { assert, assertEquals } from "@std/assert";
import { manualSeed, SafetensorsFile, tensor, tidy } from "@denoformers/core";
import { assertAllClose, testBackends } from "@denoformers/core/testing";
import { AutoModelForTokenClassification } from "./auto.ts";
import { forTokenClassificationLoss } from "./losses.ts";
import { GenericForTokenClassification, tokenClassifierDropout } from "./token_classification.ts";
import { paramsWithoutGrad, ToyConfig, type ToyModel, toyRegistry, trainLosses } from "./_toy.ts";

const registry = toyRegistry();
const int = (v: number[][]) => tensor(v, { dtype: "int32" });
const toy = (m: { baseModel: unknown }) => m.baseModel as ToyModel;

testBackends("dropout comes from classifier_dropout, then hidden_dropout, then 0.1", () => {
  const p = (values: Record<string, unknown>) => tokenClassifierDropout(new ToyConfig(values));
  assertEquals(p({ classifier_dropout: 0.2, hidden_dropout: 0.3 }), 0.2);
  assertEquals(p({ classifier_dropout: 0, hidden_dropout: 0.3 }), 0);
  assertEquals(p({ classifier_dropout: null, hidden_dropout: 0.3 }), 0.3);
  assertEquals(p({ hidden_dropout: 0 }), 0);
  assertEquals(p({ hidden_dropout: null }), 0.1);
  assertEquals(p({}), 0.1);
  const model = new GenericForTokenClassification(new ToyConfig({ classifier_dropout: 0.25 }), {
    registry,
  });
  assertEquals(model.dropout.p, 0.25);
});

testBackends("logits are [B, S, 3]; dropout acts only in training", async () => {
  manualSeed(9);
  const config = new ToyConfig({ num_labels: 3, classifier_dropout: 0.5 });
  const model = new GenericForTokenClassification(config, { registry });
  const input = int([[1, 2, 3, 4], [5, 6, 0, 0]]);
  model.eval();
  const evalOut = model.call(input, { outputHiddenStates: true });
  assertEquals(evalOut.logits.shape, [2, 4, 3]);
  assertEquals(evalOut.hiddenStates!.length, 2);
  const plain = tidy(() => model.score.call(toy(model).call(input).lastHiddenState));
  assertAllClose(await evalOut.logits.data(), await plain.data());
  model.train();
  const trainOut = model.call(input);
  const differs = await tidy(() => trainOut.logits.sub(plain).abs().sum()).item();
  assert(differs > 0, "dropout changed the training logits");
});

testBackends("names: <prefix>.* then score.weight and score.bias", () => {
  const model = new GenericForTokenClassification(new ToyConfig({ num_labels: 3 }), { registry });
  assertEquals(Object.keys(model.stateDict()).slice(-2), ["score.weight", "score.bias"]);
  assertEquals(model.score.weight.shape, [3, 8]);
  assert(Object.keys(model.stateDict())[0] === "model.embed_tokens.weight");
});

testBackends("loss: -100 ignored, all-ignored NaN, numItemsInBatch, override", async () => {
  const model = new GenericForTokenClassification(new ToyConfig({ num_labels: 3 }), { registry });
  model.eval();
  const input = int([[1, 2, 3], [4, 5, 0]]);
  const labels = int([[0, 2, -100], [1, -100, -100]]);
  const out = model.call(input, { labels, numItemsInBatch: 5 });
  const expected = forTokenClassificationLoss(out.logits, labels, { numItemsInBatch: 5 });
  const none = model.call(input, { labels: int([[-100, -100, -100], [-100, -100, -100]]) });
  const values = [await out.loss!.item(), await expected.item(), await none.loss!.item()];
  assertAllClose(values.slice(0, 1), values.slice(1, 2));
  assert(Number.isNaN(values[2]), `expected NaN, got ${values[2]}`);
  model.lossFunction = (logits) => logits.mean();
  assertAllClose(
    [await model.call(input, { labels }).loss!.item()],
    [await out.logits.mean().item()],
  );
});

testBackends("the loss gradient reaches every trainable parameter", async () => {
  manualSeed(10);
  const model = new GenericForTokenClassification(new ToyConfig({ num_labels: 3 }), { registry });
  const loss = model.call(int([[1, 2, 3], [4, 5, 6]]), {
    labels: int([[0, 1, 2], [2, -100, 1]]),
  }).loss!;
  assertEquals(await paramsWithoutGrad(model, loss), []);
});

testBackends("training tags tokens by id mod 3 and the loss falls", async () => {
  manualSeed(11);
  const model = new GenericForTokenClassification(
    new ToyConfig({ num_labels: 3, classifier_dropout: 0 }),
    { registry },
  );
  const rows = [[1, 2, 3, 4, 5], [6, 7, 8, 9, 0], [10, 11, 12, 0, 0], [13, 14, 15, 3, 6]];
  const input = int(rows);
  const labels = int(rows.map((r) => r.map((t) => (t === 0 ? -100 : t % 3))));
  const [first, last] = await trainLosses(model, () => model.call(input, { labels }).loss!, 30);
  assert(last < 0.2 * first, `loss fell from ${first} to ${last}`);
});

testBackends("save/load round trip; a base checkpoint reports the head as missing", async (b) => {
  manualSeed(12);
  const model = new GenericForTokenClassification(new ToyConfig({ num_labels: 3 }), { registry });
  model.eval();
  const dir = await Deno.makeTempDir();
  try {
    await model.savePretrained(dir);
    const file = await SafetensorsFile.open(`${dir}/model.safetensors`);
    assertEquals(file.keys().filter((k) => k.startsWith("score.")).sort(), [
      "score.bias",
      "score.weight",
    ]);
    file.close();
    const again = await AutoModelForTokenClassification.fromPretrained(dir, {
      registry,
      backend: b,
    });
    again.eval();
    assertEquals(again.loadingInfo, { missingKeys: [], unexpectedKeys: [] });
    const input = int([[3, 1, 4, 1, 5]]);
    assertAllClose(await again.call(input).logits.data(), await model.call(input).logits.data());
    await toy(model).savePretrained(`${dir}/base`);
    const fresh = await AutoModelForTokenClassification.fromPretrained(`${dir}/base`, {
      registry,
    });
    assertEquals(fresh.loadingInfo!.missingKeys, ["score.weight", "score.bias"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
