/**
 * Trains a small MLP on a synthetic regression task on the best available backend (WebGPU when an
 * adapter exists, else the CPU) and prints the loss as it goes down.
 *
 * Run: `deno task train` (options: `--backend cpu|webgpu`, `--steps N`).
 *
 * @module
 */

import {
  manualSeed,
  memory,
  noGrad,
  randn,
  setBackend,
  type Tensor,
  tidy,
  zeros,
} from "@denoformers/core";

function flag(name: string, fallback: string): string {
  const at = Deno.args.indexOf(`--${name}`);
  return at >= 0 && Deno.args[at + 1] ? Deno.args[at + 1] : fallback;
}

const requested = flag("backend", "auto");
const steps = Number(flag("steps", "300"));
const backend = await setBackend(requested === "auto" ? undefined : requested as "cpu" | "webgpu");
console.log(`backend: ${backend}`);

manualSeed(0);
// Target: y = sin(2 x0) + x1^2 - x0 x1, from 256 samples of x ~ N(0, 1).
const x = randn([256, 2]);
const [x0, x1] = x.split(1, 1);
const y = x0.mul(2).sin().add(x1.mul(x1)).sub(x0.mul(x1));

const hidden = 64;
const params: Record<string, Tensor> = {
  w1: randn([2, hidden]).mul(Math.sqrt(2 / 2)),
  b1: zeros([hidden]),
  w2: randn([hidden, hidden]).mul(Math.sqrt(2 / hidden)),
  b2: zeros([hidden]),
  w3: randn([hidden, 1]).mul(Math.sqrt(1 / hidden)),
  b3: zeros([1]),
};
for (const p of Object.values(params)) p.requiresGrad_(true);
const velocity = Object.fromEntries(Object.entries(params).map(([k, p]) => [k, zeros(p.shape)]));

const lr = 0.02;
const momentum = 0.9;
const start = performance.now();
for (let step = 1; step <= steps; step++) {
  const loss = tidy(() => {
    const { w1, b1, w2, b2, w3, b3 } = params;
    const h1 = x.matmul(w1).add(b1).relu();
    const h2 = h1.matmul(w2).add(b2).relu();
    const diff = h2.matmul(w3).add(b3).sub(y);
    const loss = diff.mul(diff).mean();
    loss.backward();
    noGrad(() => {
      for (const [k, p] of Object.entries(params)) {
        velocity[k].assign(velocity[k].mul(momentum).add(p.grad!));
        p.assign(p.sub(velocity[k].mul(lr)));
        p.grad!.dispose();
        p.grad = null;
      }
    });
    return loss;
  });
  if (step === 1 || step % 50 === 0) {
    console.log(`step ${String(step).padStart(4)}  loss ${(await loss.item()).toFixed(5)}`);
  }
  loss.dispose();
}
const ms = (performance.now() - start) / steps;
console.log(`${ms.toFixed(1)} ms/step; live tensors ${memory().liveTensors}`);
