import { assertEquals, assertThrows } from "@std/assert";
import { grad, noGrad, ShapeError, type Tensor, tensor } from "@denoformers/core";
import { applyRotaryPosEmb, rotateHalf } from "./rotary.ts";
import { assertAllClose, testBackends, testRandom } from "./_test_util.ts";

const draw = (n: number, next: () => number): number[] => Array.from({ length: n }, next);

/** Plain-JS RoPE over `[B, H, S, D]` queries and `[B, S, D]` cos/sin. */
function reference(
  x: readonly number[],
  cos: readonly number[],
  sin: readonly number[],
  [B, H, S, D]: readonly number[],
): number[] {
  const out = new Array<number>(x.length);
  const half = D / 2;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let s = 0; s < S; s++) {
        const row = ((b * H + h) * S + s) * D;
        const table = (b * S + s) * D;
        for (let j = 0; j < D; j++) {
          const rotated = j < half ? -x[row + j + half] : x[row + j - half];
          out[row + j] = x[row + j] * cos[table + j] + rotated * sin[table + j];
        }
      }
    }
  }
  return out;
}

/** cos/sin tables of random angles, with `emb = concat(freqs, freqs)` as Llama builds them. */
function tables(B: number, S: number, D: number, next: () => number) {
  const angles: number[] = [];
  for (let r = 0; r < B * S; r++) {
    const freqs = draw(D / 2, () => 4 * next());
    angles.push(...freqs, ...freqs);
  }
  return { cos: angles.map(Math.cos), sin: angles.map(Math.sin) };
}

testBackends("rotateHalf() returns concat(-x2, x1) over the last dimension", async () => {
  const x = tensor([[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]]);
  assertEquals(await rotateHalf(x).toArray(), [[-4, -5, -6, 1, 2, 3], [-10, -11, -12, 7, 8, 9]]);
});

testBackends("applyRotaryPosEmb() matches a plain-JS reference", async () => {
  const next = testRandom(1);
  const [B, H, KVH, S, D] = [2, 3, 1, 4, 8];
  const q = draw(B * H * S * D, next);
  const k = draw(B * KVH * S * D, next);
  const { cos, sin } = tables(B, S, D, next);
  const out = applyRotaryPosEmb(
    tensor(q, { shape: [B, H, S, D] }),
    tensor(k, { shape: [B, KVH, S, D] }),
    tensor(cos, { shape: [B, S, D] }),
    tensor(sin, { shape: [B, S, D] }),
  );
  assertEquals([out.q.shape, out.k.shape], [[B, H, S, D], [B, KVH, S, D]]);
  assertAllClose(await out.q.data(), reference(q, cos, sin, [B, H, S, D]), { atol: 1e-5 });
  assertAllClose(await out.k.data(), reference(k, cos, sin, [B, KVH, S, D]), { atol: 1e-5 });
});

testBackends("applyRotaryPosEmb() with unsqueezeDim 2 handles [B, S, H, D] layouts", async () => {
  const next = testRandom(2);
  const [B, S, H, D] = [1, 3, 2, 4];
  const q = draw(B * S * H * D, next);
  const { cos, sin } = tables(B, S, D, next);
  const bshd = tensor(q, { shape: [B, S, H, D] });
  const { q: rotated } = applyRotaryPosEmb(
    bshd,
    bshd,
    tensor(cos, { shape: [B, S, D] }),
    tensor(sin, { shape: [B, S, D] }),
    { unsqueezeDim: 2 },
  );
  // Same computation in [B, H, S, D] order.
  const bhsd = Array.from(await bshd.permute([0, 2, 1, 3]).contiguous().data());
  const expected = reference(bhsd, cos, sin, [B, H, S, D]);
  const actual = await rotated.permute([0, 2, 1, 3]).contiguous().data();
  assertAllClose(actual, expected, { atol: 1e-5 });
});

testBackends("applyRotaryPosEmb() preserves the norm of each rotated pair", async () => {
  const next = testRandom(3);
  const [H, S, D] = [2, 5, 6];
  const q = draw(H * S * D, next);
  const { cos, sin } = tables(1, S, D, next);
  const x = tensor(q, { shape: [1, H, S, D] });
  const { q: out } = applyRotaryPosEmb(
    x,
    x,
    tensor(cos, { shape: [1, S, D] }),
    tensor(sin, { shape: [1, S, D] }),
  );
  const rotated = await out.data();
  for (let row = 0; row < H * S; row++) {
    for (let j = 0; j < D / 2; j++) {
      const [a, b] = [row * D + j, row * D + j + D / 2];
      const before = Math.hypot(q[a], q[b]);
      const after = Math.hypot(rotated[a], rotated[b]);
      assertAllClose([after], [before], { atol: 1e-6, label: `row ${row}, pair ${j}` });
    }
  }
});

Deno.test("applyRotaryPosEmb() gradients match finite differences (float64)", async () => {
  const next = testRandom(4);
  const shapes = { q: [1, 2, 2, 4], k: [1, 1, 2, 4], cos: [1, 2, 4], sin: [1, 2, 4] };
  const data = {
    q: draw(16, next),
    k: draw(8, next),
    cos: draw(8, next),
    sin: draw(8, next),
  };
  const weights = { q: draw(16, next), k: draw(8, next) };
  const names = ["q", "k", "cos", "sin"] as const;
  const make = (d: typeof data, requiresGrad: boolean) =>
    names.map((n) =>
      tensor(d[n], { shape: shapes[n], dtype: "float64", backend: "cpu", requiresGrad })
    );
  const loss = ([q, k, cos, sin]: Tensor[]) => {
    const out = applyRotaryPosEmb(q, k, cos, sin);
    const wq = tensor(weights.q, { shape: shapes.q, dtype: "float64", backend: "cpu" });
    const wk = tensor(weights.k, { shape: shapes.k, dtype: "float64", backend: "cpu" });
    return out.q.mul(wq).sum().add(out.k.mul(wk).sum());
  };
  const inputs = make(data, true);
  const grads = grad(loss(inputs), inputs);
  const eps = 1e-6;
  for (const [index, name] of names.entries()) {
    const numeric = data[name].map((_, i) => {
      const at = (delta: number) => {
        const shifted = { ...data, [name]: data[name].map((v, j) => (j === i ? v + delta : v)) };
        return noGrad(() => loss(make(shifted, false)).dataSync()[0]);
      };
      return (at(eps) - at(-eps)) / (2 * eps);
    });
    assertAllClose(await grads[index]!.data(), numeric, {
      atol: 1e-8,
      label: `d loss / d ${name}`,
    });
  }
});

Deno.test("applyRotaryPosEmb() rejects cos/sin that do not match the head dimension", () => {
  const q = tensor(draw(8, testRandom(5)), { shape: [1, 1, 2, 4], backend: "cpu" });
  const cos = tensor(draw(6, testRandom(6)), { shape: [1, 2, 3], backend: "cpu" });
  const sin4 = tensor(draw(8, testRandom(7)), { shape: [1, 2, 4], backend: "cpu" });
  assertThrows(
    () => applyRotaryPosEmb(q, q, cos, cos),
    ShapeError,
    "Cannot apply rotary embeddings: cos [1, 2, 3] and sin [1, 2, 3] must share a shape whose last dimension matches q [1, 1, 2, 4]",
  );
  assertThrows(() => applyRotaryPosEmb(q, q, sin4, cos), ShapeError);
});
