import { assert, assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import {
  cat,
  grad,
  manualSeed,
  PretrainedConfig,
  SafetensorsFile,
  tensor,
  tidy,
} from "@denoformers/core";
import { gradientCheckpointingEnable, isGradientCheckpointing } from "@denoformers/checkpoint";
import { assertAllClose, testBackends } from "@denoformers/core/testing";
import { AutoModelForSequenceClassification } from "./auto.ts";
import { forSequenceClassificationLoss } from "./losses.ts";
import { GenericForSequenceClassification, lastNonPadToken } from "./sequence_classification.ts";
import { paramsWithoutGrad, ToyConfig, ToyModel, toyRegistry, trainLosses } from "./_toy.ts";

const registry = toyRegistry();
const ids = (rows: number[][]) => tensor(rows, { dtype: "int32" });
const toy = (m: { baseModel: unknown }) => m.baseModel as ToyModel;
const PADDED = [[5, 6, 0, 0], [0, 0, 5, 6], [5, 0, 6, 0], [0, 0, 0, 0], [7, 8, 9, 4]];

testBackends("lastNonPadToken() gives the §1.3 derived example [1, 3, 2, 0, 3]", async () => {
  assertEquals(await lastNonPadToken(ids(PADDED), 0).toArray(), [1, 3, 2, 0, 3]);
});

testBackends("the head pools each row at its rightmost non-pad token", async () => {
  manualSeed(1);
  const config = new ToyConfig({ num_labels: 3 });
  const model = new GenericForSequenceClassification(config, { registry });
  const input = ids(PADDED);
  const out = model.call(input);
  assertEquals(out.logits.shape, [5, 3]);
  const all = await model.score.call(toy(model).call(input).lastHiddenState).toArray();
  const expected = [1, 3, 2, 0, 3].map((t, b) => (all as number[][][])[b][t]);
  assertAllClose(await out.logits.data(), expected.flat());
});

testBackends("without pad_token_id only batch 1 works and pools the last position", async () => {
  const config = new ToyConfig({ pad_token_id: null });
  const model = new GenericForSequenceClassification(config, { registry });
  assertThrows(
    () => model.call(ids([[1, 2], [3, 4]])),
    RangeError,
    "Cannot handle batch sizes > 1 if no padding token is defined",
  );
  const one = ids([[1, 0, 0]]);
  const all = model.score.call(toy(model).call(one).lastHiddenState);
  assertAllClose(await model.call(one).logits.data(), await all.slice(1, 2).data());
});

testBackends("inputsEmbeds pools the last position and warns once", async (b) => {
  const name = `HeadOn_${b}`;
  const Named = { [name]: class extends GenericForSequenceClassification {} }[name];
  const model = new Named(new ToyConfig(), { registry });
  const embeds = toy(model).embed_tokens.call(ids([[5, 6, 0], [7, 0, 0]]));
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (msg: string) => warnings.push(msg);
  try {
    const out = model.call(null, { inputsEmbeds: embeds });
    model.call(null, { inputsEmbeds: embeds });
    const all = model.score.call(toy(model).call(null, { inputsEmbeds: embeds }).lastHiddenState);
    assertAllClose(await out.logits.data(), await all.slice(1, 2).data());
  } finally {
    console.warn = warn;
  }
  assertEquals(warnings, [
    `${name} will not detect padding tokens in \`inputs_embeds\`. Results may be unexpected if using padding tokens in conjunction with \`inputs_embeds.\``,
  ]);
});

testBackends("outputs: logits [B, 3], loss, and the base model's cache and hidden states", () => {
  const model = new GenericForSequenceClassification(new ToyConfig({ num_labels: 3 }), {
    registry,
  });
  const out = model.call(ids([[1, 2, 0], [3, 4, 5]]), {
    labels: tensor([2, 0], { dtype: "int32" }),
    useCache: true,
    outputHiddenStates: true,
  });
  assertEquals(out.logits.shape, [2, 3]);
  assertEquals(out.loss!.shape, []);
  assertEquals(out.pastKeyValues, { seen: 3 });
  assertEquals(out.hiddenStates!.length, 2);
  assertEquals(out.attentions, undefined);
  assertEquals(model.config.problem_type, "single_label_classification");
});

testBackends("construction: Hugging Face names, no score bias, prefixes, config checks", () => {
  const model = new GenericForSequenceClassification(new ToyConfig({ num_labels: 3 }), {
    registry,
  });
  assertEquals(Object.keys(model.stateDict()), [
    "model.embed_tokens.weight",
    "model.layers.0.dense.weight",
    "model.layers.0.dense.bias",
    "score.weight",
  ]);
  assertEquals([model.score.weight.shape, model.score.bias, model.numLabels], [[3, 8], null, 3]);
  assert(model.baseModel instanceof ToyModel);
  assert(model.getInputEmbeddings() === toy(model).embed_tokens);
  const prefixed = new GenericForSequenceClassification(new ToyConfig(), {
    registry: toyRegistry("transformer"),
  });
  assertEquals(prefixed.baseModelPrefix, "transformer");
  assert("transformer.embed_tokens.weight" in prefixed.stateDict());
  assertThrows(
    () => new GenericForSequenceClassification(new ToyConfig({ hidden_size: null }), { registry }),
    TypeError,
    "config.hidden_size is null",
  );
  assertThrows(
    () => new GenericForSequenceClassification(new ToyConfig({ model_type: "nope" }), { registry }),
    RangeError,
    '"nope"',
  );
});

testBackends("lossFunction: an assigned override is used, null restores the default", async () => {
  const model = new GenericForSequenceClassification(new ToyConfig(), { registry });
  assert(model.lossFunction === forSequenceClassificationLoss);
  const seen: number[][] = [];
  model.lossFunction = (pooled, labels, options) => {
    seen.push([...pooled.shape], [...labels.shape], [...options.logits!.shape]);
    return pooled.sum().mul(0).add(7);
  };
  const labels = tensor([1, 0], { dtype: "int32" });
  const out = model.call(ids([[1, 2, 3], [4, 5, 0]]), { labels });
  assertEquals(await out.loss!.item(), 7);
  assertEquals(seen, [[2, 2], [2], [2, 3, 2]]);
  model.lossFunction = null;
  assert(model.lossFunction === forSequenceClassificationLoss);
});

testBackends("the loss gradient reaches every trainable parameter", async () => {
  manualSeed(2);
  const model = new GenericForSequenceClassification(new ToyConfig({ num_labels: 3 }), {
    registry,
  });
  const loss = model.call(ids([[1, 2, 3], [4, 5, 0]]), {
    labels: tensor([2, 1], { dtype: "int32" }),
  }).loss!;
  assertEquals(await paramsWithoutGrad(model, loss), []);
});

testBackends("training on a separable toy task drives the loss down", async () => {
  manualSeed(3);
  const model = new GenericForSequenceClassification(new ToyConfig(), { registry });
  // The class is whether the last real token is >= 8, under left, right and no padding.
  const rows = [[0, 3, 9], [12, 0, 0], [5, 4, 0], [0, 0, 2], [9, 1, 14], [6, 11, 3], [0, 15, 7]];
  const input = ids(rows);
  const labels = tensor(rows.map((r) => (r.filter((t) => t > 0).at(-1)! >= 8 ? 1 : 0)), {
    dtype: "int32",
  });
  const [first, last] = await trainLosses(model, () => model.call(input, { labels }).loss!, 30);
  assert(last < 0.2 * first, `loss fell from ${first} to ${last}`);
});

testBackends("save/load round trip with Hugging Face names; a base checkpoint loads", async (b) => {
  manualSeed(4);
  const model = new GenericForSequenceClassification(new ToyConfig({ num_labels: 3 }), {
    registry,
  });
  const dir = await Deno.makeTempDir();
  try {
    await model.savePretrained(dir);
    const file = await SafetensorsFile.open(`${dir}/model.safetensors`);
    assertEquals(file.keys().sort(), [
      "model.embed_tokens.weight",
      "model.layers.0.dense.bias",
      "model.layers.0.dense.weight",
      "score.weight",
    ]);
    file.close();
    const input = ids([[1, 2, 0], [3, 4, 5]]);
    const again = await AutoModelForSequenceClassification.fromPretrained(dir, {
      registry,
      backend: b,
    });
    assertEquals(again.loadingInfo, { missingKeys: [], unexpectedKeys: [] });
    assertAllClose(await again.call(input).logits.data(), await model.call(input).logits.data());

    const baseDir = `${dir}/base`;
    await toy(model).savePretrained(baseDir);
    const fresh = await AutoModelForSequenceClassification.fromPretrained(baseDir, { registry });
    assertEquals(fresh.loadingInfo, { missingKeys: ["score.weight"], unexpectedKeys: [] });
    const hidden = (m: typeof fresh) => tidy(() => toy(m).call(input).lastHiddenState);
    assertAllClose(await hidden(fresh).data(), await hidden(again).data());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

testBackends("regression with num_labels 1 through the head: MSE on squeezed values", async () => {
  const config = new ToyConfig({ num_labels: 1 });
  const model = new GenericForSequenceClassification(config, { registry });
  const input = ids([[1, 2, 0], [3, 4, 5]]);
  const labels = tensor([0.5, -1]);
  const out = model.call(input, { labels });
  assertEquals(config.problem_type, "regression");
  const pooled = await out.logits.data();
  const expected = ((pooled[0] - 0.5) ** 2 + (pooled[1] + 1) ** 2) / 2;
  assertAlmostEquals(await out.loss!.item(), expected, 1e-5);
});

testBackends("checkpointing the base model's layers keeps loss and gradients", async () => {
  manualSeed(14);
  const model = new GenericForSequenceClassification(new ToyConfig({ num_hidden_layers: 2 }), {
    registry,
  });
  const params = model.parameters();
  const input = ids([[1, 2, 3, 0], [0, 4, 5, 6]]);
  const labels = tensor([1, 0], { dtype: "int32" });
  const run = () =>
    tidy(() => {
      const loss = model.call(input, { labels }).loss!;
      return cat([loss.reshape([1]), ...grad(loss, params).map((g) => g!.flatten())]);
    });
  const plain = await run().data();
  gradientCheckpointingEnable(model);
  assert(isGradientCheckpointing(model));
  const checkpointed = await run().data();
  assertAllClose(checkpointed, plain, { rtol: 1e-5, atol: 1e-7 });
});

// CPU only: float16 on WebGPU needs the optional shader-f16 feature.
Deno.test("a float16 base model gets a float16 score layer", () => {
  const config = new ToyConfig();
  const base = new ToyModel(config).castFloats("float16");
  const model = new GenericForSequenceClassification(config, { baseModel: base });
  assertEquals([model.score.weight.dtype, model.baseModelPrefix], ["float16", "model"]);
  // Without a registry entry, the prefix comes from the base model itself.
  const other = new GenericForSequenceClassification(new PretrainedConfig({ hidden_size: 8 }), {
    baseModel: new ToyModel(config, "bert"),
  });
  assertEquals(other.baseModelPrefix, "bert");
  assert("bert.embed_tokens.weight" in other.stateDict());
});
