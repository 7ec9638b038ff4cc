// Acceptance: a small transformer-shaped model built from the core modules trains on every
// backend with AdamW and a causal-LM loss, its loss falls, and steps leak nothing.
import { assert, assertEquals } from "@std/assert";
import { tensor } from "../creation.ts";
import { memoryOf, tidy } from "../memory.ts";
import { manualSeed } from "../rng.ts";
import type { Tensor } from "../tensor.ts";
import { testBackends } from "../_testing/backends.ts";
import { AdamW } from "../optim/adamw.ts";
import { linearScheduleWithWarmup } from "../optim/schedules.ts";
import { clipGradNorm } from "../optim/clip_grad.ts";
import { getActivation } from "./activations.ts";
import { Dropout } from "./dropout.ts";
import { Embedding } from "./embedding.ts";
import { initWeights } from "./init.ts";
import { Linear } from "./linear.ts";
import { causalLmLoss } from "./losses.ts";
import { Module } from "./module.ts";
import { LayerNorm } from "./norm.ts";

const D = 16, H = 2, V = 12, T = 8;

class Attention extends Module {
  q_proj = new Linear(D, D);
  k_proj = new Linear(D, D);
  v_proj = new Linear(D, D);
  o_proj = new Linear(D, D);
  forward(x: Tensor, mask: Tensor): Tensor {
    const [B, S] = x.shape;
    const heads = (t: Tensor) => t.reshape([B, S, H, D / H]).transpose(1, 2); // (B, H, S, d)
    const q = heads(this.q_proj.call(x));
    const k = heads(this.k_proj.call(x));
    const v = heads(this.v_proj.call(x));
    const scores = q.matmul(k.transpose(-1, -2)).mul(1 / Math.sqrt(D / H)).maskedFill(mask, -1e9);
    const ctx = scores.softmax(-1).matmul(v).transpose(1, 2).reshape([B, S, D]);
    return this.o_proj.call(ctx);
  }
}

class Block extends Module {
  ln_1 = new LayerNorm(D);
  attn = new Attention();
  ln_2 = new LayerNorm(D);
  fc = new Linear(D, 4 * D);
  proj = new Linear(4 * D, D);
  dropout = new Dropout(0.1);
  act = getActivation("gelu_new");
  forward(x: Tensor, mask: Tensor): Tensor {
    const h = x.add(this.dropout.call(this.attn.call(this.ln_1.call(x), mask)));
    return h.add(this.dropout.call(this.proj.call(this.act(this.fc.call(this.ln_2.call(h))))));
  }
}

class TinyLm extends Module {
  wte = new Embedding(V, D);
  wpe = new Embedding(T, D);
  h = [new Block(), new Block()];
  ln_f = new LayerNorm(D);
  lm_head = new Linear(D, V, { bias: false });
  forward(ids: Tensor): Tensor {
    const S = ids.shape[1];
    const positions = tensor(Array.from({ length: S }, (_, i) => i), {
      dtype: "int32",
      backend: ids.backend,
    });
    const mask = tensor(Array.from({ length: S * S }, (_, i) => (i % S) > Math.floor(i / S)), {
      shape: [S, S],
      backend: ids.backend,
    });
    let x = this.wte.call(ids).add(this.wpe.call(positions));
    for (const block of this.h) x = block.call(x, mask);
    return this.lm_head.call(this.ln_f.call(x));
  }
}

testBackends("a tiny transformer trains with AdamW and its loss falls", async (b) => {
  manualSeed(0);
  const model = initWeights(new TinyLm(), 0.02);
  // Sequences follow a fixed rule (next = 3·prev + 1 mod V), so the model can learn them.
  const seqs = [1, 2, 5, 7].map((s) =>
    Array.from({ length: T }, (_, i) => i).reduce((acc) => {
      acc.push((3 * acc[acc.length - 1] + 1) % V);
      return acc;
    }, [s]).slice(0, T)
  );
  const ids = tensor(seqs, { dtype: "int32" });
  const opt = new AdamW(model.parameters(), { lr: 3e-2, weightDecay: 0.01 });
  const schedule = linearScheduleWithWarmup(opt, { numWarmupSteps: 3, numTrainingSteps: 60 });
  const losses: Tensor[] = [];
  let liveAfterFirst = 0;
  for (let step = 0; step < 40; step++) {
    losses.push(tidy(() => {
      opt.zeroGrad();
      const loss = causalLmLoss(model.call(ids), ids);
      loss.backward();
      clipGradNorm(model.parameters(), 1.0);
      opt.step();
      schedule.step();
      return loss;
    }));
    if (step === 0) liveAfterFirst = memoryOf(b).liveTensors;
  }
  assertEquals(
    memoryOf(b).liveTensors,
    liveAfterFirst + 39,
    "only the 39 further loss scalars were added",
  );
  const values = await Promise.all(losses.map((l) => l.item()));
  for (const l of losses) l.dispose();
  const first = values[0];
  const last = values.at(-1)!;
  assert(
    Math.abs(first - Math.log(V)) < 0.2,
    `initial loss ${first} is near ln V = ${Math.log(V)}`,
  );
  assert(last < 0.35 * first, `loss fell from ${first} to ${last}`);
});
