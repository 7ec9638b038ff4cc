/**
 * Eager and sdpa attention against each other and against a plain-loop reference, on every
 * backend: causal, padded, sliding-window, grouped-query and cached-decoding settings.
 */
import { assert, assertEquals } from "@std/assert";
import { type Tensor, tensor } from "@denoformers/core";
import { eagerAttentionForward } from "./eager.ts";
import { sdpaAttentionForward } from "./sdpa.ts";
import {
  type Allowed,
  assertAllClose,
  masks,
  referenceAttention,
  seededRandom,
  testBackends,
} from "./_test_util.ts";

interface Case {
  name: string;
  /** `[B, H, KVH, Q, K, D]`. */
  dims: [number, number, number, number, number, number];
  allowed: Allowed;
  /** Pass no mask to sdpa (its causal flag or bidirectional attention must do the work). */
  sdpaNull?: boolean;
  /** Pass no mask to eager either (only for patterns that allow everything). */
  eagerNull?: boolean;
}

const causal: Allowed = (_b, q, k) => k <= q;
const leftPad = [0, 2];
const rightLen = [5, 3];

const CASES: Case[] = [
  {
    name: "causal (sdpa: null mask and isCausal)",
    dims: [2, 4, 4, 5, 5, 8],
    allowed: causal,
    sdpaNull: true,
  },
  {
    name: "causal with left padding",
    dims: [2, 2, 2, 5, 5, 4],
    allowed: (b, q, k) => k <= q && k >= leftPad[b],
  },
  {
    name: "causal with right padding",
    dims: [2, 2, 2, 5, 5, 4],
    allowed: (b, q, k) => k <= q && k < rightLen[b],
  },
  {
    name: "bidirectional with left padding",
    dims: [2, 2, 2, 5, 5, 4],
    allowed: (b, _q, k) => k >= leftPad[b],
  },
  {
    name: "sliding window 3",
    dims: [1, 2, 2, 6, 6, 4],
    allowed: (_b, q, k) => k <= q && q - k < 3,
  },
  { name: "GQA H=4 KVH=2, causal", dims: [2, 4, 2, 5, 5, 4], allowed: causal, sdpaNull: true },
  {
    name: "GQA H=4 KVH=1, causal with right padding",
    dims: [2, 4, 1, 5, 5, 4],
    allowed: (b, q, k) => k <= q && k < rightLen[b],
  },
  {
    name: "decoding with a cache (Q=1, K=6), no mask",
    dims: [2, 4, 2, 1, 6, 4],
    allowed: () => true,
    sdpaNull: true,
    eagerNull: true,
  },
  {
    name: "decoding with a cache (Q=1, K=6), left padding",
    dims: [2, 4, 2, 1, 6, 4],
    allowed: (b, _q, k) => k >= leftPad[b],
  },
  {
    name: "chunked prefill with a cache (Q=2, K=6), causal",
    dims: [2, 2, 2, 2, 6, 4],
    allowed: (_b, q, k) => k <= q + 4,
  },
];

function values(n: number, random: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => 2 * random() - 1);
}

for (const c of CASES) {
  testBackends(`eager and sdpa agree: ${c.name}`, async () => {
    const [b, h, kvh, nq, nk, d] = c.dims;
    const random = seededRandom(nq * 100 + nk * 10 + h);
    const qv = values(b * h * nq * d, random);
    const kv = values(b * kvh * nk * d, random);
    const vv = values(b * kvh * nk * d, random);
    const q = tensor(qv, { shape: [b, h, nq, d] });
    const k = tensor(kv, { shape: [b, kvh, nk, d] });
    const v = tensor(vv, { shape: [b, kvh, nk, d] });
    const mask = masks([b, nq, nk], c.allowed);
    const module = { training: false, numKeyValueGroups: h / kvh };
    const options = { dropout: 0, scaling: d ** -0.5 };

    const eager = eagerAttentionForward(
      module,
      q,
      k,
      v,
      c.eagerNull ? null : mask.additive,
      options,
    );
    const sdpa = sdpaAttentionForward(module, q, k, v, c.sdpaNull ? null : mask.bool, options);
    assertEquals(eager.output.shape, [b, nq, h, d]);
    assertEquals(sdpa.output.shape, [b, nq, h, d]);
    assert(eager.output.isContiguous && sdpa.output.isContiguous);
    assertEquals(sdpa.weights, null);

    const eagerOut = await eager.output.data();
    const sdpaOut = await sdpa.output.data();
    const weights = await eager.weights!.data();
    const reference = referenceAttention(qv, kv, vv, c.dims, c.allowed);

    // Rows whose mask allows no key: eager is uniform over all keys, sdpa (like torch's math
    // kernel) gives zeros. Everywhere else all three agree.
    const fullyMasked = (bi: number, qi: number) =>
      Array.from({ length: nk }, (_, j) => j).every((j) => !c.allowed(bi, qi, j));
    const rows: number[] = [];
    for (let bi = 0; bi < b; bi++) {
      for (let qi = 0; qi < nq; qi++) if (!fullyMasked(bi, qi)) rows.push(bi * nq + qi);
    }
    const pick = (xs: ArrayLike<number>) =>
      rows.flatMap((r) => Array.from({ length: h * d }, (_, i) => xs[r * h * d + i]));
    assertAllClose(pick(eagerOut), pick(sdpaOut), { label: "eager vs sdpa" });
    assertAllClose(pick(eagerOut), pick(reference), { label: "eager vs reference" });
    assertAllClose(sdpaOut, reference, { label: "sdpa vs reference (zeros on masked rows)" });

    for (let bi = 0; bi < b; bi++) {
      for (let hi = 0; hi < h; hi++) {
        for (let qi = 0; qi < nq; qi++) {
          const row = Array.from(weights.subarray(((bi * h + hi) * nq + qi) * nk).slice(0, nk));
          const sum = row.reduce((x, y) => x + y, 0);
          assert(Math.abs(sum - 1) < 1e-5, `weights row sums to ${sum}`);
          if (fullyMasked(bi, qi)) {
            assertAllClose(row, row.map(() => 1 / nk), { label: "fully masked row is uniform" });
          } else {
            row.forEach((w, j) => assert(c.allowed(bi, qi, j) || w === 0, "masked weight is 0"));
          }
        }
      }
    }
    // A fully masked row of eager is the mean of the values its head sees.
    for (let bi = 0; bi < b; bi++) {
      for (let qi = 0; qi < nq; qi++) {
        if (!fullyMasked(bi, qi)) continue;
        for (let hi = 0; hi < h; hi++) {
          const g = Math.floor(hi / (h / kvh));
          for (let e = 0; e < d; e++) {
            let mean = 0;
            for (let j = 0; j < nk; j++) mean += vv[((bi * kvh + g) * nk + j) * d + e] / nk;
            const at = ((bi * nq + qi) * h + hi) * d + e;
            assertAllClose([eagerOut[at], sdpaOut[at]], [mean, 0], { label: "fully masked row" });
          }
        }
      }
    }
  });
}

testBackends("eager and sdpa gradients agree and flow to query, key and value", async () => {
  const [b, h, kvh, n, d] = [2, 4, 2, 4, 4];
  const random = seededRandom(7);
  const allowed: Allowed = (bi, q, k) => k <= q && k < [4, 3][bi];
  const mask = masks([b, n, n], allowed);
  const qv = values(b * h * n * d, random);
  const kv = values(b * kvh * n * d, random);
  const vv = values(b * kvh * n * d, random);
  const probe = tensor(values(b * n * h * d, random), { shape: [b, n, h, d] });
  const module = { training: false, numKeyValueGroups: 2 };
  const grads: Float32Array[][] = [];
  for (
    const [fn, m] of [[eagerAttentionForward, mask.additive], [
      sdpaAttentionForward,
      mask.bool,
    ]] as const
  ) {
    const q = tensor(qv, { shape: [b, h, n, d], requiresGrad: true });
    const k = tensor(kv, { shape: [b, kvh, n, d], requiresGrad: true });
    const v = tensor(vv, { shape: [b, kvh, n, d], requiresGrad: true });
    fn(module, q, k, v, m as Tensor, {}).output.mul(probe).sum().backward();
    grads.push(
      await Promise.all([q, k, v].map(async (t) => (await t.grad!.data()) as Float32Array)),
    );
  }
  for (let i = 0; i < 3; i++) {
    assert(grads[0][i].every(Number.isFinite));
    assert(grads[0][i].some((g) => Math.abs(g) > 1e-3), "a gradient reached the input");
    assertAllClose(grads[1][i], grads[0][i], { label: ["dq", "dk", "dv"][i] });
  }
});
