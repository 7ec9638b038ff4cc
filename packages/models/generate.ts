/**
 * Greedy and sampled generation for causal LMs, reusing the key/value cache between steps.
 *
 * @module
 */

import { rand, type Tensor, tensor, tidy } from "@denoformers/core";
import type { DynamicCache } from "./cache.ts";
import type { LMOptions, LMOutput } from "./outputs.ts";

/** A causal LM as `generate` uses it. */
export interface CausalLm {
  /** Runs the model. */
  call(inputIds: Tensor | null, options: LMOptions): LMOutput;
}

/** Options of {@linkcode generate} (Hugging Face `generate` arguments, camelCased). */
export interface GenerateOptions {
  /** Tokens to add. @default {20} */
  maxNewTokens?: number;
  /** Sample instead of taking the most likely token. @default {false} */
  doSample?: boolean;
  /** Divides the logits before sampling. @default {1} */
  temperature?: number;
  /** Keep only the `topK` most likely tokens when sampling (0: all). @default {50} */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches `topP` when sampling. @default {1} */
  topP?: number;
  /** Token id(s) that end a sequence. */
  eosTokenId?: number | readonly number[];
  /** Fills finished sequences. @default {the first eos id, or 0} */
  padTokenId?: number;
  /** `[B, S]` 1/0 mask of the prompt (left padding for batches of different lengths). */
  attentionMask?: Tensor;
}

/** Picks the next token from one row of logits (float64 maths on the host). */
function pick(
  logits: ArrayLike<number>,
  o: Required<Pick<GenerateOptions, "doSample" | "temperature" | "topK" | "topP">>,
  u: number,
): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  if (!o.doSample) return best;
  const scaled = Array.from(logits, (v, i) => ({ i, v: v / o.temperature }));
  scaled.sort((a, b) => b.v - a.v || a.i - b.i);
  let kept = o.topK > 0 ? scaled.slice(0, o.topK) : scaled;
  const max = kept[0].v;
  const weights = kept.map((e) => Math.exp(e.v - max));
  const total = weights.reduce((a, b) => a + b, 0);
  if (o.topP < 1) {
    let acc = 0;
    let n = 0;
    while (n < kept.length && acc < o.topP) acc += weights[n++] / total;
    kept = kept.slice(0, Math.max(n, 1));
  }
  const w = weights.slice(0, kept.length);
  const sum = w.reduce((a, b) => a + b, 0);
  let r = u * sum;
  for (let j = 0; j < kept.length; j++) {
    r -= w[j];
    if (r < 0) return kept[j].i;
  }
  return kept[kept.length - 1].i;
}

/**
 * Extends `inputIds` (`[B, S]`, int32) by up to `maxNewTokens` tokens, one forward pass per token
 * on the cache. Greedy by default; with `doSample`, temperature, top-k and top-p filtering and
 * draws from the global counter-based RNG (reproducible with `manualSeed`). Sequences that emit
 * an eos token are padded until all have finished.
 *
 * @param model A causal LM.
 * @param inputIds The prompt.
 * @param options Generation options.
 * @returns `[B, S + generated]` int32 token ids (on the CPU).
 */
export async function generate(
  model: CausalLm,
  inputIds: Tensor,
  options: GenerateOptions = {},
): Promise<Tensor> {
  const o = {
    maxNewTokens: options.maxNewTokens ?? 20,
    doSample: options.doSample ?? false,
    temperature: options.temperature ?? 1,
    topK: options.topK ?? 50,
    topP: options.topP ?? 1,
  };
  const eos = new Set(options.eosTokenId === undefined ? [] : [options.eosTokenId].flat());
  const pad = options.padTokenId ?? [...eos][0] ?? 0;
  const [B, S] = inputIds.shape;
  const backend = inputIds.backend;
  const rows: number[][] = [];
  const ids = Array.from(await inputIds.data());
  for (let b = 0; b < B; b++) rows.push(ids.slice(b * S, (b + 1) * S));
  const mask: number[][] = options.attentionMask
    ? (await options.attentionMask.toArray()) as number[][]
    : rows.map((r) => r.map(() => 1));
  const done = new Array<boolean>(B).fill(false);
  let cache: DynamicCache | null = null;
  try {
    for (let step = 0; step < o.maxNewTokens && !done.every((d) => d); step++) {
      const q = step === 0 ? S : 1;
      const feed = rows.map((r) => r.slice(r.length - q));
      // Positions count the real tokens before each one (left padding stays at 0).
      const positions = mask.map((m) => {
        let seen = 0;
        const pos = m.map((v) => (v ? seen++ : 0));
        return pos.slice(pos.length - q);
      });
      const last = tidy(() => {
        const out = model.call(tensor(feed, { dtype: "int32", backend }), {
          attentionMask: tensor(mask, { dtype: "int32", backend }),
          positionIds: tensor(positions, { dtype: "int32", backend }),
          pastKeyValues: cache,
          useCache: true,
        });
        cache = out.pastKeyValues ?? null;
        return out.logits.narrow(1, q - 1, 1).cast("float32");
      });
      const logits = await last.data();
      last.dispose();
      const V = logits.length / B;
      const draws = o.doSample ? await rand([B], { backend: "cpu" }).data() : new Float32Array(B);
      for (let b = 0; b < B; b++) {
        const next = done[b] ? pad : pick(logits.subarray(b * V, (b + 1) * V), o, draws[b]);
        rows[b].push(next);
        mask[b].push(1);
        if (eos.has(next)) done[b] = true;
      }
    }
  } finally {
    (cache as DynamicCache | null)?.dispose();
  }
  return tensor(rows, { dtype: "int32", backend: "cpu" });
}
