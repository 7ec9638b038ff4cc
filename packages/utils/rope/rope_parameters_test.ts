import { assertEquals, assertThrows } from "@std/assert";
import { PretrainedConfig } from "@denoformers/core";
import {
  headDim,
  type RopeConfig,
  ropeDim,
  ropeLayerTypes,
  standardizeRopeParameters,
} from "./rope_parameters.ts";

Deno.test("standardizeRopeParameters() fills rope_type and rope_theta defaults", () => {
  assertEquals(standardizeRopeParameters({}), { rope_type: "default", rope_theta: 10000 });
  assertEquals(
    standardizeRopeParameters({ rope_parameters: null, rope_theta: 500000 }),
    { rope_type: "default", rope_theta: 500000 },
  );
  const own = standardizeRopeParameters({
    rope_parameters: { rope_type: "linear", factor: 2, rope_theta: 7 },
    rope_theta: 500000,
  });
  assertEquals(own, { rope_type: "linear", factor: 2, rope_theta: 7 });
});

Deno.test("standardizeRopeParameters() reads the legacy rope_scaling and its type key", () => {
  const config = { rope_scaling: { type: "linear", factor: 4 }, rope_theta: 1e6 };
  const params = standardizeRopeParameters(config);
  assertEquals(params, { type: "linear", factor: 4, rope_type: "linear", rope_theta: 1e6 });
  assertEquals(config.rope_scaling, { type: "linear", factor: 4 }, "config is left unchanged");
  // rope_parameters wins over rope_scaling.
  const both = { rope_parameters: { rope_type: "dynamic", factor: 2 }, rope_scaling: config };
  assertEquals(standardizeRopeParameters(both).rope_type, "dynamic");
});

Deno.test("standardizeRopeParameters() copies a top-level partial_rotary_factor in", () => {
  const params = standardizeRopeParameters({
    partial_rotary_factor: 0.5,
    rope_parameters: { rope_type: "default", partial_rotary_factor: 0.25 },
  });
  assertEquals(params.partial_rotary_factor, 0.5);
});

Deno.test("standardizeRopeParameters() sets original_max_position_embeddings for scaled types", () => {
  const base = { max_position_embeddings: 4096 };
  for (const rope_type of ["llama3", "yarn", "longrope"]) {
    const fromMpe = standardizeRopeParameters({ ...base, rope_parameters: { rope_type } });
    assertEquals(fromMpe.original_max_position_embeddings, 4096);
    const own = standardizeRopeParameters({
      ...base,
      rope_parameters: { rope_type, original_max_position_embeddings: 1024 },
    });
    assertEquals(own.original_max_position_embeddings, 1024);
    // Phi-3 style: the top-level key takes priority.
    const top = standardizeRopeParameters({
      ...base,
      original_max_position_embeddings: 2048,
      rope_parameters: { rope_type, original_max_position_embeddings: 1024 },
    });
    assertEquals(top.original_max_position_embeddings, 2048);
  }
  const linear = standardizeRopeParameters({ ...base, rope_parameters: { rope_type: "linear" } });
  assertEquals(linear.original_max_position_embeddings, undefined);
});

Deno.test("standardizeRopeParameters() selects per-layer-type parameters", () => {
  const config: RopeConfig = {
    layer_types: ["full_attention", "sliding_attention"],
    rope_parameters: {
      full_attention: { rope_type: "linear", factor: 8 },
      sliding_attention: { rope_theta: 10 },
    },
  };
  assertEquals(standardizeRopeParameters(config, { layerType: "full_attention" }).factor, 8);
  assertEquals(
    standardizeRopeParameters(config, { layerType: "sliding_attention" }),
    { rope_type: "default", rope_theta: 10 },
  );
  assertThrows(() => standardizeRopeParameters(config), RangeError, "pass { layerType }");
  assertThrows(
    () => standardizeRopeParameters(config, { layerType: "chunked" }),
    RangeError,
    'Cannot select rope parameters for layer type "chunked"',
  );
  // One shared dictionary serves every layer type.
  const shared = { layer_types: ["full_attention"], rope_parameters: { rope_theta: 3 } };
  assertEquals(standardizeRopeParameters(shared, { layerType: "full_attention" }).rope_theta, 3);
});

Deno.test("standardizeRopeParameters() accepts a PretrainedConfig", () => {
  const config = new PretrainedConfig({
    rope_scaling: { rope_type: "yarn", factor: 4 },
    max_position_embeddings: 8192,
  });
  const params = standardizeRopeParameters(config);
  assertEquals(params.original_max_position_embeddings, 8192);
  assertEquals(ropeDim(new PretrainedConfig({ hidden_size: 64, num_attention_heads: 4 })), 16);
});

Deno.test("ropeDim() is int(head_dim × partial_rotary_factor)", () => {
  assertEquals(ropeDim({ head_dim: 128 }), 128);
  assertEquals(ropeDim({ hidden_size: 96, num_attention_heads: 4 }), 24);
  assertEquals(ropeDim({ head_dim: 80, partial_rotary_factor: 0.4 }), 32);
  assertEquals(
    ropeDim({ head_dim: 10, rope_parameters: { partial_rotary_factor: 0.75 } }),
    7,
    "truncated",
  );
  assertEquals(headDim({ head_dim: 0, hidden_size: 32, num_attention_heads: 2 }), 16);
  assertThrows(() => headDim({}), TypeError, "Cannot compute the head dimension");
});

Deno.test("ropeLayerTypes() detects parameters keyed by layer type", () => {
  const layer_types = ["full_attention", "sliding_attention"];
  assertEquals(
    ropeLayerTypes({ layer_types, rope_parameters: { sliding_attention: {}, full_attention: {} } }),
    ["sliding_attention", "full_attention"],
  );
  assertEquals(ropeLayerTypes({ layer_types, rope_parameters: { rope_theta: 1 } }), null);
  assertEquals(ropeLayerTypes({ layer_types, rope_parameters: {} }), null);
  assertEquals(ropeLayerTypes({ rope_parameters: { full_attention: {} } }), null);
});
