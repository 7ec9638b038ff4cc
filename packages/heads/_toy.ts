/**
 * Test helpers (not published): a toy base model following the heads' base-model contract
 * (token embeddings + one residual Linear/tanh layer that can be checkpointed), its plugin, and
 * small training and gradient utilities.
 *
 * @module
 */

import {
  AdamW,
  Embedding,
  Linear,
  type ModelPlugin,
  ModelRegistry,
  type Module,
  noGrad,
  PretrainedConfig,
  PreTrainedModel,
  stack,
  type Tensor,
  tensor,
  tidy,
} from "@denoformers/core";
import { testRng } from "@denoformers/core/testing";
import { GradientCheckpointingLayer } from "@denoformers/checkpoint";
import type { BaseModelOptions, BaseModelOutputWithPast } from "./types.ts";

/** Config of the toy model. */
export class ToyConfig extends PretrainedConfig {
  declare vocab_size: number;
  declare hidden_size: number;
  declare num_hidden_layers: number;
  static override defaults = {
    model_type: "toy",
    vocab_size: 16,
    hidden_size: 8,
    num_hidden_layers: 1,
    pad_token_id: 0,
  };
}

/** `x + tanh(dense(x))`, checkpointable. */
export class ToyLayer extends GradientCheckpointingLayer {
  dense: Linear;
  constructor(hidden: number) {
    super();
    this.dense = new Linear(hidden, hidden);
  }
  forward(x: Tensor, _options: { useCache?: boolean } = {}): Tensor {
    return x.add(this.dense.call(x).tanh());
  }
}

/** Counts base models built (to check that the Auto fallback reuses the one it is given). */
export const built = { count: 0 };

/** The toy base model. */
export class ToyModel extends PreTrainedModel {
  readonly baseModelPrefix: string;
  embed_tokens: Embedding;
  layers: ToyLayer[];
  constructor(config: ToyConfig, prefix = "model") {
    super(config);
    built.count++;
    this.baseModelPrefix = prefix;
    this.embed_tokens = new Embedding(config.vocab_size, config.hidden_size);
    this.layers = Array.from(
      { length: config.num_hidden_layers },
      () => new ToyLayer(config.hidden_size),
    );
    this.postInit();
  }
  getInputEmbeddings(): Module {
    return this.embed_tokens;
  }
  forward(inputIds: Tensor | null, options: BaseModelOptions = {}): BaseModelOutputWithPast {
    let x = options.inputsEmbeds ?? this.embed_tokens.call(inputIds!);
    const hiddenStates = [x];
    for (const layer of this.layers) {
      x = layer.call(x, { useCache: options.useCache });
      hiddenStates.push(x);
    }
    const out: BaseModelOutputWithPast = { lastHiddenState: x };
    if (options.outputHiddenStates) out.hiddenStates = hiddenStates;
    if (options.useCache) out.pastKeyValues = { seen: x.shape[1] };
    return out;
  }
}

/** The toy plugin, holding base models under `prefix` in task models. */
export function toyPlugin(
  prefix = "model",
  heads: ModelPlugin<ToyConfig>["heads"] = undefined,
): ModelPlugin<ToyConfig> {
  return {
    modelType: "toy",
    parseConfig: (values) => new ToyConfig(values),
    createBaseModel: (config) => new ToyModel(config, prefix),
    baseModelPrefix: prefix,
    heads,
    checkpointLayers: (m) => m instanceof ToyLayer,
  };
}

/** A fresh registry with the toy plugin. */
export function toyRegistry(prefix = "model"): ModelRegistry {
  return new ModelRegistry().register(toyPlugin(prefix));
}

/**
 * Names of the parameters whose gradient is missing or all zero, after one backward of `loss`
 * (one read for all of them).
 */
export async function paramsWithoutGrad(model: Module, loss: Tensor): Promise<string[]> {
  const named = model.namedParameters();
  for (const [, p] of named) p.grad = null;
  loss.backward();
  const missing = named.filter(([, p]) => !p.grad).map(([n]) => n);
  const present = named.filter(([, p]) => p.grad);
  const sums = await tidy(() => stack(present.map(([, p]) => p.grad!.abs().sum()))).data();
  return [...missing, ...present.filter((_, i) => !(sums[i] > 0)).map(([n]) => n)];
}

/** Trains `steps` AdamW steps on `lossOf()` and returns the first and last loss values (two reads). */
export async function trainLosses(
  model: Module,
  lossOf: () => Tensor,
  steps: number,
  lr = 0.05,
): Promise<[number, number]> {
  model.train();
  const opt = new AdamW(model.parameters(), { lr, weightDecay: 0 });
  let first: Tensor | null = null;
  let last: Tensor | null = null;
  for (let step = 0; step < steps; step++) {
    const loss = tidy(() => {
      opt.zeroGrad();
      const l = lossOf();
      l.backward();
      opt.step();
      return l.detach();
    });
    if (step === 0) first = loss;
    else {
      last?.dispose();
      last = loss;
    }
  }
  const values: [number, number] = [await first!.item(), await last!.item()];
  first!.dispose();
  last!.dispose();
  return values;
}

/**
 * Overwrites every parameter with values from `testRng(seed)` in [-scale, scale) and returns them
 * (float32-rounded, row-major) by name, so tests can compute references on the host without reads.
 */
export function fillParams(module: Module, seed: number, scale = 1): Record<string, number[]> {
  const rng = testRng(seed);
  const out: Record<string, number[]> = {};
  noGrad(() => {
    for (const [name, p] of module.namedParameters()) {
      const values = Array.from({ length: p.size }, () => Math.fround((2 * rng() - 1) * scale));
      p.assign(tensor(values, { shape: p.shape, backend: p.backend }));
      out[name] = values;
    }
  });
  return out;
}

/** Sets named parameters to the given nested values. */
export function setParams(module: Module, values: Record<string, number[] | number[][]>): void {
  const params = Object.fromEntries(module.namedParameters());
  noGrad(() => {
    for (const [name, v] of Object.entries(values)) {
      params[name].assign(tensor(v, { backend: params[name].backend }));
    }
  });
}
