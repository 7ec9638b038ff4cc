import { assert, assertEquals, assertFalse, assertThrows } from "@std/assert";
import { Linear, Module, PretrainedConfig, type Tensor } from "@denoformers/core";
import { ALL_ATTENTION_FUNCTIONS, AttentionInterface } from "./attention_interface.ts";
import { eagerAttentionForward } from "./eager.ts";
import { sdpaAttentionForward } from "./sdpa.ts";
import type { AttentionFunction, AttentionModule, AttentionOptions } from "./types.ts";
import { assertAllClose, masks, randomTensor, seededRandom } from "./_test_util.ts";

Deno.test("AttentionInterface registers sdpa globally and leaves eager to the model", () => {
  const iface = new AttentionInterface();
  assert(iface.get("sdpa") === sdpaAttentionForward);
  assertFalse(iface.has("eager"));
  assert(iface.getInterface("sdpa", eagerAttentionForward) === sdpaAttentionForward);
  assert(iface.getInterface("eager", eagerAttentionForward) === eagerAttentionForward);
  assert(ALL_ATTENTION_FUNCTIONS instanceof AttentionInterface);
});

Deno.test("AttentionInterface.getInterface() uses a registered eager over the default", () => {
  const mine: AttentionFunction = (...args) => eagerAttentionForward(...args);
  const local = new AttentionInterface().set("eager", mine);
  assert(local.getInterface("eager", eagerAttentionForward) === mine);
  assert(new AttentionInterface().getInterface("eager", eagerAttentionForward) !== mine);
});

Deno.test("AttentionInterface.getInterface() rejects unknown names and lists the valid ones", () => {
  const iface = new AttentionInterface().set("local_attn", eagerAttentionForward);
  const error = assertThrows(
    () => iface.getInterface("flash_attention_2", eagerAttentionForward),
    RangeError,
    'Cannot get attention function: "flash_attention_2" is not a valid attention implementation ' +
      'registered in the AttentionInterface: valid implementations are "eager", "sdpa"',
  );
  assert(error.message.includes('"local_attn"'));
});

Deno.test("AttentionInterface.getInterface() warns once per instance when no name is set", () => {
  const warn = console.warn;
  const messages: unknown[][] = [];
  console.warn = (...args: unknown[]) => messages.push(args);
  try {
    const iface = new AttentionInterface();
    assert(iface.getInterface(null, eagerAttentionForward) === eagerAttentionForward);
    assert(iface.getInterface(undefined, sdpaAttentionForward) === sdpaAttentionForward);
    assertEquals(messages.length, 1);
    assert(String(messages[0][0]).includes("`config._attn_implementation` unset"));
    new AttentionInterface().getInterface(null, eagerAttentionForward);
    assertEquals(messages.length, 2);
  } finally {
    console.warn = warn;
  }
});

Deno.test("AttentionInterface global registrations reach every instance; local ones stay put", () => {
  const a = new AttentionInterface();
  const b = new AttentionInterface();
  const globalFn: AttentionFunction = (...args) => eagerAttentionForward(...args);
  const localFn: AttentionFunction = (...args) => sdpaAttentionForward(...args);
  AttentionInterface.register("shared_test_attn", globalFn);
  a.set("shared_test_attn", localFn);
  assert(a.getInterface("shared_test_attn", eagerAttentionForward) === localFn);
  assert(b.getInterface("shared_test_attn", eagerAttentionForward) === globalFn);
  assert(ALL_ATTENTION_FUNCTIONS.get("shared_test_attn") === globalFn);
  a.delete("shared_test_attn");
  assert(a.get("shared_test_attn") === globalFn);
  assertThrows(() => a.delete("sdpa"), RangeError, "only registered globally");
});

// ---- a model that picks its attention at call time ------------------------------------------

/** A Llama-style attention block with Hugging Face field names, written once. */
class ToyAttention extends Module implements AttentionModule {
  readonly numKeyValueGroups: number;
  readonly isCausal = true;
  readonly scaling: number;
  q_proj: Linear;
  k_proj: Linear;
  v_proj: Linear;
  o_proj: Linear;
  #config: PretrainedConfig;
  #heads: number;
  #kvHeads: number;
  #headDim: number;

  constructor(config: PretrainedConfig) {
    super();
    this.#config = config;
    const hidden = config.hidden_size as number;
    this.#heads = config.num_attention_heads as number;
    this.#kvHeads = config.num_key_value_heads as number;
    this.#headDim = hidden / this.#heads;
    this.numKeyValueGroups = this.#heads / this.#kvHeads;
    this.scaling = this.#headDim ** -0.5;
    const options = { bias: false, backend: "cpu" as const };
    this.q_proj = new Linear(hidden, this.#heads * this.#headDim, options);
    this.k_proj = new Linear(hidden, this.#kvHeads * this.#headDim, options);
    this.v_proj = new Linear(hidden, this.#kvHeads * this.#headDim, options);
    this.o_proj = new Linear(this.#heads * this.#headDim, hidden, options);
  }

  forward(hidden: Tensor, mask: Tensor | null, extra: AttentionOptions = {}): Tensor {
    const [b, s] = hidden.shape;
    const split = (x: Tensor, n: number) => x.reshape([b, s, n, this.#headDim]).transpose(1, 2);
    const q = split(this.q_proj.call(hidden), this.#heads); // (B, H, S, D)
    const k = split(this.k_proj.call(hidden), this.#kvHeads); // (B, KVH, S, D)
    const v = split(this.v_proj.call(hidden), this.#kvHeads);
    const attention = ALL_ATTENTION_FUNCTIONS.getInterface(
      this.#config._attn_implementation,
      eagerAttentionForward,
    );
    const dropout = this.training ? this.#config.attention_dropout as number : 0;
    const { output } = attention(this, q, k, v, mask, { ...extra, dropout, scaling: this.scaling });
    return this.o_proj.call(output.reshape([b, s, -1])); // (B, S, hidden)
  }
}

Deno.test("a registered attention function is used by a model without touching its code", async () => {
  const config = new PretrainedConfig({
    hidden_size: 8,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    attention_dropout: 0.1,
    attn_implementation: "eager",
  });
  const attn = new ToyAttention(config).eval();
  const hidden = randomTensor([2, 3, 8], seededRandom(20));
  const mask = masks([2, 3, 3], (_b, q, k) => k <= q).additive;
  const eagerOut = await attn.call(hidden, mask).data();

  const calls: Parameters<AttentionFunction>[] = [];
  const recording: AttentionFunction = (...args) => {
    calls.push(args);
    return eagerAttentionForward(...args);
  };
  AttentionInterface.register("recording_attention", recording);
  config._attn_implementation = "recording_attention";
  const positionIds = [0, 1, 2];
  const out = await attn.call(hidden, mask, { positionIds }).data();

  assertEquals(calls.length, 1);
  const [module, q, k, v, passedMask, options] = calls[0];
  assert(module === attn);
  assertEquals([q.shape, k.shape, v.shape], [[2, 4, 3, 2], [2, 2, 3, 2], [2, 2, 3, 2]]);
  assert(passedMask === mask);
  assertEquals(options, { positionIds, dropout: 0, scaling: 2 ** -0.5 });
  assertAllClose(out, eagerOut, { label: "same math as eager" });

  // Training switches the model's dropout on; the function sees it in the options.
  attn.train();
  attn.call(hidden, mask);
  assertEquals(calls[1][5].dropout, 0.1);
  attn.eval();

  // Switching the config to "sdpa" with a bool mask gives the same result.
  config._attn_implementation = "sdpa";
  const sdpaOut = await attn.call(hidden, masks([2, 3, 3], (_b, q, k) => k <= q).bool).data();
  assertAllClose(sdpaOut, eagerOut, { label: "sdpa" });
  assertEquals(calls.length, 2);
});
