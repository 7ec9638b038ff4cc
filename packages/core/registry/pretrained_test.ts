import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import { tensor } from "../creation.ts";
import { manualSeed } from "../rng.ts";
import { Embedding } from "../nn/embedding.ts";
import { Linear } from "../nn/linear.ts";
import { LayerNorm } from "../nn/norm.ts";
import type { Tensor } from "../tensor.ts";
import { assertAllClose, testBackends } from "../_testing/backends.ts";
import { autoClass, AutoConfig, AutoModel } from "./auto.ts";
import { PretrainedConfig } from "./config.ts";
import { PreTrainedModel } from "./pretrained_model.ts";
import { type ModelPlugin, ModelRegistry } from "./registry.ts";

class ToyConfig extends PretrainedConfig {
  declare vocab_size: number;
  declare hidden_size: number;
  static override defaults = { model_type: "toy", vocab_size: 11, hidden_size: 6 };
}

/** A base model: embeddings, a projection and a norm. */
class ToyModel extends PreTrainedModel {
  readonly baseModelPrefix = "toy";
  embeddings: Embedding;
  dense: Linear;
  norm: LayerNorm;
  constructor(config: ToyConfig) {
    super(config);
    this.embeddings = new Embedding(config.vocab_size, config.hidden_size);
    this.dense = new Linear(config.hidden_size, config.hidden_size);
    this.norm = new LayerNorm(config.hidden_size);
    this.postInit();
  }
  forward(ids: Tensor): Tensor {
    return this.norm.call(this.dense.call(this.embeddings.call(ids)).tanh());
  }
}

/** A task model holding the base model under the prefix, with a tied LM head. */
class ToyForLm extends PreTrainedModel {
  readonly baseModelPrefix = "toy";
  toy: ToyModel;
  lm_head: Linear;
  constructor(config: ToyConfig) {
    super(config);
    this.toy = new ToyModel(config);
    this.lm_head = new Linear(config.hidden_size, config.vocab_size, { bias: false });
    this.postInit();
  }
  override tieWeights(): void {
    if (this.config.tie_word_embeddings) this.lm_head.weight = this.toy.embeddings.weight;
  }
  forward(ids: Tensor): Tensor {
    return this.lm_head.call(this.toy.call(ids));
  }
}

const toyPlugin: ModelPlugin<ToyConfig> = {
  modelType: "toy",
  parseConfig: (values) => new ToyConfig(values),
  createBaseModel: (config) => new ToyModel(config),
  baseModelPrefix: "toy",
  heads: { causalLm: (config) => new ToyForLm(config) },
};

const registry = new ModelRegistry().register(toyPlugin);
const AutoModelForCausalLM = autoClass("causalLm");
const ids = () => tensor([[1, 4, 9, 2]], { dtype: "int32" });

testBackends(
  "a toy plugin round-trips: fromConfig -> savePretrained -> fromPretrained",
  async (b) => {
    manualSeed(3);
    const model = AutoModel.fromConfig(new ToyConfig({ hidden_size: 6 }), { registry }) as ToyModel;
    assert(model instanceof ToyModel);
    const dir = await Deno.makeTempDir();
    await model.savePretrained(dir);
    const config = await AutoConfig.fromPretrained(dir, { registry });
    assertEquals(config.toDict(), model.config.toDict());
    const loaded = await AutoModel.fromPretrained(dir, { registry, backend: b }) as ToyModel;
    assertEquals(loaded.loadingInfo, { missingKeys: [], unexpectedKeys: [] });
    assertEquals(await loaded.call(ids()).toArray(), await model.call(ids()).toArray());
    await Deno.remove(dir, { recursive: true });
  },
);

testBackends("tied weights are saved once and re-tied on load", async () => {
  const lm = new ToyForLm(new ToyConfig());
  assert(lm.lm_head.weight === lm.toy.embeddings.weight);
  const dir = await Deno.makeTempDir();
  await lm.savePretrained(dir);
  const { SafetensorsFile } = await import("../io/safetensors_file.ts");
  const file = await SafetensorsFile.open(`${dir}/model.safetensors`);
  assertEquals(file.keys().includes("lm_head.weight"), false);
  assert(file.keys().includes("toy.embeddings.weight"));
  file.close();
  const again = await AutoModelForCausalLM.fromPretrained(dir, { registry }) as ToyForLm;
  assertEquals(again.loadingInfo, { missingKeys: [], unexpectedKeys: [] });
  assert(again.lm_head.weight === again.toy.embeddings.weight);
  assertAllClose(await again.call(ids()).data(), await lm.call(ids()).data());
  await Deno.remove(dir, { recursive: true });
});

testBackends("prefix rules: a base checkpoint loads into a task model and vice versa", async () => {
  const config = new ToyConfig({ tie_word_embeddings: false });
  const base = new ToyModel(config);
  const dir = await Deno.makeTempDir();
  await base.savePretrained(dir);
  const lm = await AutoModelForCausalLM.fromPretrained(dir, { registry }) as ToyForLm;
  // The checkpoint had no head: only the head is newly initialised.
  assertEquals(lm.loadingInfo!.missingKeys, ["lm_head.weight"]);
  assertEquals(lm.loadingInfo!.unexpectedKeys, []);
  assertEquals(await lm.toy.call(ids()).toArray(), await base.call(ids()).toArray());

  const lmDir = await Deno.makeTempDir();
  await new ToyForLm(config).savePretrained(lmDir);
  const stripped = new ToyModel(config);
  const info = await stripped.loadPretrainedWeights(lmDir);
  assertEquals(info, { missingKeys: [], unexpectedKeys: ["lm_head.weight"] });
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(lmDir, { recursive: true });
});

testBackends("loading a checkpoint with a wrong shape names the weight", async () => {
  const dir = await Deno.makeTempDir();
  await new ToyModel(new ToyConfig({ hidden_size: 4 })).savePretrained(dir);
  const model = new ToyModel(new ToyConfig({ hidden_size: 6 }));
  await assertRejects(() => model.loadPretrainedWeights(dir), RangeError, '"embeddings.weight"');
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the registry lists registered types for an unknown model_type and refuses duplicates", () => {
  const r = new ModelRegistry().register(toyPlugin).register({ ...toyPlugin, modelType: "bert" });
  assertEquals(r.modelTypes(), ["bert", "toy"]);
  assertThrows(
    () => r.get("gpt2"),
    RangeError,
    'Cannot create model for model_type "gpt2": type is not registered: registered types are "bert", "toy"',
  );
  assertThrows(() => r.register(toyPlugin), Error, "already registered");
  r.register(toyPlugin, { override: true });
  assertThrows(
    () => autoClass("questionAnswering").fromConfig(new ToyConfig(), { registry: r }),
    RangeError,
    "questionAnswering",
  );
});

testBackends("fromPretrained casts to the requested dtype", async () => {
  const dir = await Deno.makeTempDir();
  await new ToyModel(new ToyConfig()).savePretrained(dir);
  const half = await AutoModel.fromPretrained(dir, { registry, dtype: "float16", backend: "cpu" });
  assert(half.parameters().every((p) => p.dtype === "float16"));
  await Deno.remove(dir, { recursive: true });
});
