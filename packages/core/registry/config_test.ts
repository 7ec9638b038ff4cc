import { assert, assertEquals, assertThrows } from "@std/assert";
import { PretrainedConfig } from "./config.ts";

class ToyConfig extends PretrainedConfig {
  declare hidden_size: number;
  declare num_hidden_layers: number;
  static override defaults = { model_type: "toy", hidden_size: 8, num_hidden_layers: 2 };
}

Deno.test("PretrainedConfig applies Hugging Face's common defaults", () => {
  const c = new PretrainedConfig();
  assertEquals(c.num_labels, 2);
  assertEquals(c.id2label, { 0: "LABEL_0", 1: "LABEL_1" });
  assertEquals(c.label2id, { LABEL_0: 0, LABEL_1: 1 });
  assertEquals([c.problem_type, c.pad_token_id, c.bos_token_id, c.eos_token_id], [
    null,
    null,
    null,
    null,
  ]);
  assertEquals([c.output_hidden_states, c.output_attentions, c.use_cache, c.tie_word_embeddings], [
    false,
    false,
    true,
    true,
  ]);
  assertEquals([c.initializer_range, c.chunk_size_feed_forward, c._attn_implementation], [
    0.02,
    0,
    null,
  ]);
  assertEquals(c.pruned_heads, {});
});

Deno.test("num_labels and id2label stay consistent; JSON string keys become integers", () => {
  const c = new PretrainedConfig({ num_labels: 3 });
  assertEquals(c.id2label, { 0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2" });
  c.num_labels = 1;
  assertEquals(c.label2id, { LABEL_0: 0 });
  const d = new PretrainedConfig({ id2label: { "1": "POS", "0": "NEG" }, num_labels: 5 });
  assertEquals(d.num_labels, 2, "id2label wins over num_labels");
  assertEquals(Object.keys(d.id2label).map(Number), [0, 1]);
  assertEquals(d.label2id, { NEG: 0, POS: 1 });
  const p = new PretrainedConfig({ pruned_heads: { "0": [1, 2], "3": [0] } });
  assertEquals(p.pruned_heads[3], [0]);
  assert(Object.keys(p.pruned_heads).every((k) => Number.isInteger(Number(k))));
});

Deno.test("problem_type is validated; attn_implementation is runtime-only", () => {
  assertThrows(() => new PretrainedConfig({ problem_type: "ranking" }), RangeError, '"regression"');
  const c = new PretrainedConfig({ attn_implementation: "sdpa" });
  assertEquals(c._attn_implementation, "sdpa");
  assert(!("_attn_implementation" in c.toDict()));
});

Deno.test("config.json round trip keeps unknown keys and model-specific defaults", () => {
  const json = {
    model_type: "toy",
    hidden_size: 16,
    some_future_key: { nested: [1, 2] },
    id2label: { "0": "a", "1": "b", "2": "c" },
    pruned_heads: { "1": [0] },
  };
  const c = new ToyConfig(json);
  assertEquals([c.hidden_size, c.num_hidden_layers, c.num_labels], [16, 2, 3]);
  const again = new ToyConfig(JSON.parse(c.toJsonString()));
  assertEquals(again.toDict(), c.toDict());
  assertEquals(again.some_future_key, { nested: [1, 2] });
  const text = c.toJsonString();
  assert(text.indexOf('"hidden_size"') < text.indexOf('"model_type"'), "keys are sorted");
  assertEquals(JSON.parse(text).id2label, { "0": "a", "1": "b", "2": "c" });
});
