import { assert, assertEquals } from "@std/assert";
import { BERT_PARAMS, bertLayerModel, type BertWeights, matmulModel } from "./_onnx.ts";
import { ortNode } from "./_ort.ts";
import { tf, tfEncoderLayer, tfLayer } from "./_tfjs_bert.ts";

/** Small deterministic values in [-1, 1), a different sequence per call. */
let seed = 7;
function noise(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    out[i] = seed / 2 ** 31 - 1;
  }
  return out;
}

const probe = await ortNode(matmulModel(2), {
  a: { data: new Float32Array(4), dims: [2, 2] },
  b: { data: new Float32Array(4), dims: [2, 2] },
}, 1);
const ignore = "error" in probe;
if (ignore) console.log(`note: the ONNX writer tests are ignored: ${probe.error}`);

Deno.test({
  name: "matmulModel() runs in onnxruntime-node and multiplies",
  ignore,
  async fn() {
    const n = 3, a = noise(n * n), b = noise(n * n);
    const made = await ortNode(matmulModel(n), {
      a: { data: a, dims: [n, n] },
      b: { data: b, dims: [n, n] },
    }, 1);
    if ("error" in made) throw new Error(made.error);
    const y = await made.runner.run();
    assertEquals(y.length, n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let want = 0;
        for (let k = 0; k < n; k++) want += a[i * n + k] * b[k * n + j];
        assert(Math.abs(y[i * n + j] - want) < 1e-5, `[${i}, ${j}]: ${y[i * n + j]} vs ${want}`);
      }
    }
  },
});

Deno.test({
  name: "bertLayerModel() computes tfEncoderLayer (S 5, H 8, 2 heads, F 16)",
  ignore,
  async fn() {
    const S = 5, H = 8, F = 16, heads = 2;
    await tf.setBackend("cpu");
    const p = tfLayer(H, F, noise, false);
    const weights = Object.fromEntries(
      BERT_PARAMS.map((k) => [k, { data: p[k].dataSync() as Float32Array, dims: p[k].shape }]),
    ) as BertWeights;
    const x = noise(S * H);
    const want = tf.tidy(() => tfEncoderLayer(tf.tensor2d(x, [S, H]), p, heads)).dataSync();
    tf.dispose(Object.values(p));
    const made = await ortNode(
      bertLayerModel(weights, S, heads),
      { x: { data: x, dims: [S, H] } },
      1,
    );
    if ("error" in made) throw new Error(made.error);
    const y = await made.runner.run();
    assertEquals(y.length, S * H);
    for (let i = 0; i < y.length; i++) {
      assert(Math.abs(y[i] - want[i]) < 1e-4, `element ${i}: ${y[i]} vs ${want[i]}`);
    }
  },
});
