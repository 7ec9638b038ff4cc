/**
 * Step time of a training step (forward and backward) of a 12-layer transformer-shaped stack at
 * sequence 256, with and without gradient checkpointing, on each available backend. The memory
 * figures for the same stack come from packages/checkpoint/checkpoint_test.ts.
 *
 * @module
 */

import {
  availableBackends,
  manualSeed,
  randn,
  setBackend,
  type Tensor,
  tidy,
} from "@denoformers/core";
import { gradientCheckpointingDisable, gradientCheckpointingEnable } from "@denoformers/checkpoint";
// The stack the checkpoint tests measure; benches may import test fixtures by path.
import { Stack } from "../packages/checkpoint/_stack.ts";

for (const backend of await availableBackends()) {
  let model: Stack | undefined;
  let x: Tensor | undefined;
  const setup = async () => {
    await setBackend(backend);
    manualSeed(0);
    model ??= new Stack(12, 32, 2, 0.1);
    x ??= randn([1, 256, 32]);
    return { model, x };
  };
  const stepOnce = (m: Stack, input: Tensor) => {
    const loss = tidy(() => {
      const l = m.call(input).pow(2).mean();
      l.backward();
      return l;
    });
    for (const p of m.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
    return loss;
  };
  for (const ckpt of [false, true]) {
    Deno.bench({
      name: `${backend} ${ckpt ? "checkpointed" : "plain"}`,
      group: `12-layer training step, seq 256 [${backend}]`,
      baseline: !ckpt,
      n: backend === "webgpu" ? 4 : 8,
      warmup: 1,
      async fn(t) {
        const { model, x } = await setup();
        if (ckpt) gradientCheckpointingEnable(model);
        else gradientCheckpointingDisable(model);
        t.start();
        const loss = stepOnce(model, x);
        await loss.data();
        t.end();
        loss.dispose();
      },
    });
  }
}
