// The generic task heads on the real architectures: any registered model gains sequence
// classification, question answering and token classification with no model-specific code.
import { assert, assertEquals } from "@std/assert";
import {
  AdamW,
  manualSeed,
  ModelRegistry,
  type PretrainedConfig,
  type Tensor,
  tensor,
  tidy,
} from "@denoformers/core";
import { testBackends } from "@denoformers/core/testing";
import {
  AutoModelForQuestionAnswering,
  AutoModelForSequenceClassification,
  AutoModelForTokenClassification,
} from "@denoformers/heads";
import { bert, gpt2, llama, registerBuiltinModels } from "./mod.ts";

const registry = registerBuiltinModels(new ModelRegistry());
const tiny: Record<string, () => PretrainedConfig> = {
  bert: () =>
    bert.parseConfig({
      vocab_size: 24,
      hidden_size: 16,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      intermediate_size: 32,
      max_position_embeddings: 16,
      num_labels: 3,
      pad_token_id: 0,
      hidden_dropout_prob: 0,
      attention_probs_dropout_prob: 0,
    }),
  gpt2: () =>
    gpt2.parseConfig({
      vocab_size: 24,
      n_embd: 16,
      n_layer: 2,
      n_head: 4,
      n_positions: 16,
      num_labels: 3,
      pad_token_id: 0,
      resid_pdrop: 0,
      embd_pdrop: 0,
      attn_pdrop: 0,
    }),
  llama: () =>
    llama.parseConfig({
      vocab_size: 24,
      hidden_size: 16,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      intermediate_size: 32,
      max_position_embeddings: 16,
      num_labels: 3,
      pad_token_id: 0,
    }),
};

// Right-padded batch (pad id 0); the class is whether token 5 appears.
const ids = (b: string) =>
  tensor([[5, 3, 9, 2, 0, 0], [4, 3, 9, 2, 7, 1], [7, 5, 1, 0, 0, 0], [8, 8, 2, 6, 3, 0]], {
    dtype: "int32",
    backend: b as "cpu" | "webgpu",
  });
const mask = (b: string) => ids(b).ne(0).cast("int32");

for (const name of Object.keys(tiny)) {
  testBackends(
    `${name}: generic heads give the documented shapes and gradients reach every parameter`,
    (b) => {
      manualSeed(1);
      const seq = AutoModelForSequenceClassification.fromConfig(tiny[name](), { registry });
      const labels = tensor([1, 0, 1, 2], { dtype: "int32", backend: b });
      const out = seq.call(ids(b), { attentionMask: mask(b), labels });
      assertEquals(out.logits.shape, [4, 3]);
      tidy(() => out.loss!.backward());
      for (const [p, t] of seq.namedParameters()) {
        assert(t.grad, `${name} sequence head: no gradient for ${p}`);
      }

      const qa = AutoModelForQuestionAnswering.fromConfig(tiny[name](), { registry });
      const q = qa.call(ids(b), {
        attentionMask: mask(b),
        startPositions: tensor([1, 2, 0, 3], { dtype: "int32", backend: b }),
        endPositions: tensor([2, 4, 1, 4], { dtype: "int32", backend: b }),
      });
      assertEquals([q.startLogits.shape, q.endLogits.shape], [[4, 6], [4, 6]]);
      tidy(() => q.loss!.backward());
      for (const [p, t] of qa.namedParameters()) {
        assert(t.grad, `${name} QA head: no gradient for ${p}`);
      }

      const tok = AutoModelForTokenClassification.fromConfig(tiny[name](), { registry });
      const tl = tensor([
        [0, 1, 2, 0, -100, -100],
        [1, 1, 2, 0, 2, 1],
        [2, 0, 1, -100, -100, -100],
        [0, 0, 1, 2, 1, -100],
      ], {
        dtype: "int32",
        backend: b,
      });
      const t = tok.call(ids(b), { attentionMask: mask(b), labels: tl });
      assertEquals(t.logits.shape, [4, 6, 3]);
    },
  );

  testBackends(`${name}: a sequence-classification head learns a separable toy task`, async (b) => {
    manualSeed(2);
    const model = AutoModelForSequenceClassification.fromConfig(tiny[name](), { registry });
    model.train();
    const opt = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0 });
    const x = ids(b);
    const labels = tensor([1, 0, 1, 0], { dtype: "int32", backend: b });
    const losses: Tensor[] = [];
    for (let step = 0; step < 30; step++) {
      losses.push(tidy(() => {
        opt.zeroGrad();
        const loss = model.call(x, { attentionMask: mask(b), labels }).loss!;
        loss.backward();
        opt.step();
        return loss;
      }));
    }
    const first = await losses[0].item();
    const last = await losses.at(-1)!.item();
    assert(last < 0.3 * first, `${name}: loss went from ${first} to ${last}`);
  });
}
