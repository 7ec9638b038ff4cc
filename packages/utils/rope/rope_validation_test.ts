import { assertEquals, assertMatch, assertThrows } from "@std/assert";
import type { RopeConfig } from "./rope_parameters.ts";
import { validateRopeParameters } from "./rope_validation.ts";

/** Runs `fn` with console.warn captured; returns the warnings. */
function warningsOf(fn: () => void): string[] {
  const seen: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => void seen.push(args.join(" "));
  try {
    fn();
  } finally {
    console.warn = original;
  }
  return seen;
}

Deno.test("validateRopeParameters() names the rope type and every missing key", () => {
  assertThrows(
    () => validateRopeParameters({ rope_parameters: { rope_type: "yarn" } }),
    TypeError,
    'Cannot use rope_type "yarn": missing required keys in rope_parameters: "factor", "original_max_position_embeddings"',
  );
  assertThrows(
    () => validateRopeParameters({ rope_parameters: { rope_type: "longrope" } }),
    TypeError,
    '"short_factor", "long_factor", "original_max_position_embeddings"',
  );
  assertThrows(
    () => validateRopeParameters({ rope_scaling: { type: "dynamic" } }),
    TypeError,
    'Cannot use rope_type "dynamic": missing required keys in rope_parameters: "factor"',
  );
});

Deno.test("validateRopeParameters() accepts complete parameters without warnings", () => {
  const configs: RopeConfig[] = [
    {},
    { rope_theta: 1e6, partial_rotary_factor: 0.5, head_dim: 64 },
    { rope_scaling: { type: "linear", factor: 2 } },
    { rope_parameters: { rope_type: "dynamic", factor: 2 } },
    {
      max_position_embeddings: 4096,
      rope_parameters: { rope_type: "yarn", factor: 4, original_max_position_embeddings: 1024 },
    },
    {
      max_position_embeddings: 2048,
      rope_parameters: {
        rope_type: "yarn",
        factor: 4,
        beta_fast: 32,
        beta_slow: 1,
        truncate: false,
      },
    },
    {
      head_dim: 8,
      max_position_embeddings: 4096,
      rope_parameters: {
        rope_type: "longrope",
        short_factor: [1, 1, 1, 1],
        long_factor: [1, 2, 3, 4],
        original_max_position_embeddings: 1024,
      },
    },
    {
      max_position_embeddings: 131072,
      rope_parameters: {
        rope_type: "llama3",
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 8192,
      },
    },
  ];
  for (const config of configs) assertEquals(warningsOf(() => validateRopeParameters(config)), []);
});

Deno.test("validateRopeParameters() warns once about all unrecognized keys", () => {
  const config = { rope_parameters: { rope_type: "linear", factor: 2, foo: 1, bar: 2 } };
  const warnings = warningsOf(() => validateRopeParameters(config));
  assertEquals(warnings, [
    'Unrecognized keys in rope_parameters for rope_type "linear": "foo", "bar"',
  ]);
  assertEquals(
    warningsOf(() => validateRopeParameters(config, { ignoreKeys: ["foo", "bar"] })),
    [],
  );
});

Deno.test("validateRopeParameters() warns about suspicious factors", () => {
  const linear = warningsOf(() =>
    validateRopeParameters({ rope_parameters: { rope_type: "linear", factor: 0.5 } })
  );
  assertEquals(linear, [
    'rope_parameters.factor for rope_type "linear" should be a number >= 1, got 0.5',
  ]);
  const text = warningsOf(() =>
    validateRopeParameters({
      rope_parameters: { rope_type: "dynamic", factor: "2" as unknown as number },
    })
  );
  assertEquals(text.length, 1);
  assertMatch(text[0], /factor .* should be a number >= 1, got "2"/);
});

Deno.test("validateRopeParameters() warns about suspicious yarn values", () => {
  const yarn = (extra: Record<string, unknown>, mpe = 2048) =>
    warningsOf(() =>
      validateRopeParameters({
        max_position_embeddings: mpe,
        rope_parameters: { rope_type: "yarn", factor: 4, ...extra },
      })
    );
  assertEquals(yarn({ attention_factor: -1 }), [
    'rope_parameters.attention_factor for rope_type "yarn" should be a number >= 0, got -1',
  ]);
  assertEquals(yarn({ beta_fast: "x" }).length, 1);
  assertEquals(yarn({ beta_fast: 1, beta_slow: 8 }), [
    'rope_parameters.beta_fast for rope_type "yarn" should be at least beta_slow (8), got 1',
  ]);
  const implicit = yarn({ original_max_position_embeddings: 1024 });
  assertEquals(implicit.length, 1);
  assertMatch(implicit[0], /differs from the implicit factor .* = 2; the explicit factor is used/);
  assertEquals(yarn({ original_max_position_embeddings: 512 }), [], "factor 4 == 2048 / 512");
});

Deno.test("validateRopeParameters() warns about longrope factor lists of the wrong length", () => {
  const warnings = warningsOf(() =>
    validateRopeParameters({
      hidden_size: 64,
      num_attention_heads: 4,
      max_position_embeddings: 4096,
      rope_parameters: {
        rope_type: "longrope",
        short_factor: [1, 1, 1],
        long_factor: [1, 1, 1, 1, 1, 1, 1, 1],
        factor: -2,
      },
    })
  );
  assertEquals(warnings, [
    'rope_parameters.factor for rope_type "longrope" should be a number >= 1, got -2',
    'rope_parameters.short_factor for rope_type "longrope" should be a list of length 8, got 3',
  ]);
});

Deno.test("validateRopeParameters() warns about suspicious llama3 values", () => {
  const warnings = warningsOf(() =>
    validateRopeParameters({
      max_position_embeddings: 4096,
      rope_parameters: {
        rope_type: "llama3",
        factor: 8,
        low_freq_factor: 4,
        high_freq_factor: 1,
        original_max_position_embeddings: 8192,
      },
    })
  );
  assertEquals(warnings, [
    'rope_parameters.high_freq_factor for rope_type "llama3" should be greater than low_freq_factor (4), got 1',
    'rope_parameters.original_max_position_embeddings for rope_type "llama3" should be less than max_position_embeddings (4096), got 8192',
  ]);
  const fractional = warningsOf(() =>
    validateRopeParameters({
      max_position_embeddings: 4096,
      rope_parameters: {
        rope_type: "llama3",
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 1000.5,
      },
    })
  );
  assertEquals(fractional.length, 1);
  assertMatch(fractional[0], /should be an integer, got 1000.5/);
});

Deno.test("validateRopeParameters() checks every layer type and warns about custom types", () => {
  const config: RopeConfig = {
    layer_types: ["full_attention", "sliding_attention"],
    rope_parameters: {
      full_attention: { rope_type: "linear" },
      sliding_attention: { rope_type: "default" },
    },
  };
  assertThrows(() => validateRopeParameters(config), TypeError, '"linear"');
  validateRopeParameters(config, { layerType: "sliding_attention" });
  const custom = warningsOf(() =>
    validateRopeParameters({ rope_parameters: { rope_type: "mine" } })
  );
  assertEquals(custom, ['No validation rule for rope_type "mine": its keys are unchecked']);
});
