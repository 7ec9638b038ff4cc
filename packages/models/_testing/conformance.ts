/**
 * The conformance suite every architecture runs (after transformers' `CausalLMModelTest`): shapes,
 * state-dict names, save/load round trip, gradients to every parameter, checkpointing on/off,
 * eager vs sdpa, and (decoders) incremental decoding against a full forward — on every backend.
 *
 * @module
 */

import { assert, assertEquals } from "@std/assert";
import {
  AutoModel,
  type BackendName,
  manualSeed,
  type ModelPlugin,
  ModelRegistry,
  type PretrainedConfig,
  type PreTrainedModel,
  type Tensor,
  tensor,
  tidy,
} from "@denoformers/core";
import { assertAllClose, testBackends } from "@denoformers/core/testing";
import { gradientCheckpointingEnable } from "@denoformers/checkpoint";
import type { BaseModelOptions, BaseModelOutput, LMOptions, LMOutput } from "../outputs.ts";
import { DynamicCache } from "../cache.ts";

/** What an architecture supplies to the suite. */
export interface ConformanceSpec<C extends PretrainedConfig = PretrainedConfig> {
  /** Test name prefix. */
  name: string;
  /** The registry plugin. */
  plugin: ModelPlugin<C>;
  /** A tiny config; `dropout` sets every dropout probability the architecture has. */
  config: (overrides?: Record<string, unknown>) => C;
  /** Config keys that hold dropout probabilities (set to 0.1 for the checkpointing test). */
  dropoutKeys: readonly string[];
  /** Hugging Face state-dict keys the base model must have. */
  expectedKeys: readonly string[];
  /** Builds the LM head model (causal or masked). */
  lmHead: (config: C) => PreTrainedModel;
  /** Whether the model is a decoder with a KV cache. */
  decoder: boolean;
}

type Base = PreTrainedModel & { call(ids: Tensor | null, o: BaseModelOptions): BaseModelOutput };
type Lm = PreTrainedModel & { call(ids: Tensor | null, o: LMOptions): LMOutput };

const ids = (backend: BackendName) =>
  tensor([[5, 3, 9, 2, 7], [1, 4, 4, 8, 0]], { dtype: "int32", backend });
const mask = (backend: BackendName) =>
  tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]], { dtype: "int32", backend });

/**
 * Registers the suite's tests for one architecture.
 *
 * @param spec The architecture.
 */
export function runConformance<C extends PretrainedConfig>(spec: ConformanceSpec<C>): void {
  const t = (name: string, fn: (b: BackendName) => Promise<void> | void) =>
    testBackends(`${spec.name}: ${name}`, fn);

  t("shapes, hidden states and attentions", (b) => {
    manualSeed(0);
    const config = spec.config({ _attn_implementation: "eager" });
    const model = spec.plugin.createBaseModel(config) as Base;
    const L = config.num_hidden_layers as number;
    const out = model.call(ids(b), {
      attentionMask: mask(b),
      outputHiddenStates: true,
      outputAttentions: true,
    });
    assertEquals(out.lastHiddenState.shape, [2, 5, config.hidden_size as number]);
    assertEquals(out.hiddenStates?.length, L + 1);
    assertEquals(out.attentions?.length, L);
    assertEquals(out.attentions![0].shape, [2, config.num_attention_heads as number, 5, 5]);
    const lm = spec.lmHead(config) as Lm;
    assertEquals(lm.call(ids(b), { attentionMask: mask(b) }).logits.shape, [
      2,
      5,
      config.vocab_size as number,
    ]);
  });

  t("state-dict keys use Hugging Face names and round-trip through savePretrained", async (b) => {
    manualSeed(1);
    const config = spec.config();
    const model = spec.plugin.createBaseModel(config) as Base;
    const keys = Object.keys(model.stateDict());
    for (const k of spec.expectedKeys) {
      assert(keys.includes(k), `missing "${k}" in ${keys.join(", ")}`);
    }
    const dir = await Deno.makeTempDir();
    try {
      await model.savePretrained(dir);
      const registry = new ModelRegistry().register(spec.plugin);
      const again = await AutoModel.fromPretrained(dir, { registry, backend: b }) as Base;
      assertEquals(again.loadingInfo, { missingKeys: [], unexpectedKeys: [] });
      model.eval();
      again.eval();
      const x = await model.call(ids(b), { attentionMask: mask(b) }).lastHiddenState.data();
      assertAllClose(
        await again.call(ids(b), { attentionMask: mask(b) }).lastHiddenState.data(),
        x,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  t("the LM loss gradient reaches every parameter", (b) => {
    manualSeed(2);
    const lm = spec.lmHead(spec.config()) as Lm;
    tidy(() => lm.call(ids(b), { attentionMask: mask(b), labels: ids(b) }).loss!.backward());
    for (const [name, p] of lm.namedParameters()) assert(p.grad, `no gradient for ${name}`);
  });

  t("checkpointing on and off give the same loss and gradients (dropout 0.1)", async (b) => {
    const overrides = Object.fromEntries(spec.dropoutKeys.map((k) => [k, 0.1]));
    manualSeed(3);
    const lm = spec.lmHead(spec.config(overrides)) as Lm;
    const run = async () => {
      manualSeed(99);
      for (const p of lm.parameters()) p.grad = null;
      const loss = tidy(() => {
        const l = lm.call(ids(b), { attentionMask: mask(b), labels: ids(b) }).loss!;
        l.backward();
        return l;
      });
      const grads = await Promise.all(
        lm.parameters().map(async (p) => Array.from(await p.grad!.data())),
      );
      return { loss: await loss.item(), grads };
    };
    const plain = await run();
    gradientCheckpointingEnable(lm);
    const ckpt = await run();
    assertAllClose([ckpt.loss], [plain.loss], { rtol: 1e-6 });
    plain.grads.forEach((g, i) => assertAllClose(ckpt.grads[i], g, { rtol: 1e-5, atol: 1e-7 }));
  });

  t("eager and sdpa attention agree", async (b) => {
    manualSeed(4);
    const config = spec.config({ _attn_implementation: "eager" });
    const model = spec.plugin.createBaseModel(config) as Base;
    model.eval();
    const eager = await model.call(ids(b), { attentionMask: mask(b) }).lastHiddenState.data();
    config._attn_implementation = "sdpa";
    const sdpa = await model.call(ids(b), { attentionMask: mask(b) }).lastHiddenState.data();
    // Positions a padding query sees differ by design (eager: uniform, sdpa: zeros); compare real tokens.
    const H = config.hidden_size as number;
    const real = (a: ArrayLike<number>) => Array.from(a).slice(0, 9 * H);
    assertAllClose(real(sdpa), real(eager), { atol: 1e-5 });
  });

  if (!spec.decoder) return;
  t("incremental decoding with the cache equals a full forward", async (b) => {
    manualSeed(5);
    const lm = spec.lmHead(spec.config()) as Lm;
    lm.eval();
    const full = tensor([[5, 3, 9, 2, 7, 1]], { dtype: "int32", backend: b });
    const want = await lm.call(full, {}).logits.data();
    const cache = new DynamicCache();
    const prefix = lm.call(full.narrow(1, 0, 4), { useCache: true, pastKeyValues: cache });
    const steps = [prefix.logits];
    for (const at of [4, 5]) {
      steps.push(lm.call(full.narrow(1, at, 1), { useCache: true, pastKeyValues: cache }).logits);
    }
    const got = (await Promise.all(steps.map((s) => s.data()))).flatMap((a) => Array.from(a));
    assertAllClose(got, want, { atol: 1e-5 });
    assertEquals(cache.getSeqLength(), 6);
    cache.dispose();
  });
}
