// Forward values against an independent implementation: NumPy/SciPy in float64, computed by
// scripts/make_numpy_fixtures.py into testdata/numpy_fixtures.json (float32-exact inputs).
// One Deno test per op per backend loops over that op's cases and reads all outputs at once.
import { assertEquals } from "@std/assert";
import { type Tensor, tensor, tidy } from "./mod.ts";
import { assertAllClose, testBackends } from "./_testing/backends.ts";

type Scalar = number | "Infinity" | "-Infinity" | "NaN";

interface ArraySpec {
  shape: number[];
  dtype: "float32" | "int32";
  values: Scalar[];
}

interface FixtureCase {
  name: string;
  op: string;
  args: Record<string, unknown>;
  inputs: ArraySpec[];
  expected: ArraySpec | { values: ArraySpec; indices: ArraySpec };
}

const fixtures: { cases: FixtureCase[] } = JSON.parse(
  await Deno.readTextFile(new URL("./testdata/numpy_fixtures.json", import.meta.url)),
);

/** Ops in the order their tests are registered; every fixture op must be one of them. */
const OPS = [
  "softmax",
  "logSoftmax",
  "logsumexp",
  "gelu",
  "erf",
  "var",
  "matmul",
  "gather",
  "scatterAdd",
  "topk",
] as const;

type Axes = number | number[] | undefined;

function build(spec: ArraySpec): Tensor {
  const values = spec.values.map(Number);
  const data = spec.dtype === "int32" ? Int32Array.from(values) : Float32Array.from(values);
  return tensor(data, { shape: spec.shape });
}

/** Runs one case through the public API; each output is paired with its expected array. */
function run(c: FixtureCase, xs: Tensor[]): [Tensor, ArraySpec][] {
  const a = c.args;
  const axes = (a.axes ?? undefined) as Axes;
  const expected = c.expected as ArraySpec;
  switch (c.op) {
    case "softmax":
      return [[xs[0].softmax(a.dim as number), expected]];
    case "logSoftmax":
      return [[xs[0].logSoftmax(a.dim as number), expected]];
    case "logsumexp":
      return [[xs[0].logsumexp(axes, { keepdim: a.keepdim as boolean }), expected]];
    case "gelu":
      return [[xs[0].gelu(a.approximate as "none" | "tanh"), expected]];
    case "erf":
      return [[xs[0].erf(), expected]];
    case "var":
      return [[
        xs[0].var(axes, {
          keepdim: a.keepdim as boolean,
          correction: a.correction as number | undefined,
        }),
        expected,
      ]];
    case "matmul": {
      const [ta, tb] = (a.transpose as boolean[] | undefined) ?? [false, false];
      const lhs = ta ? xs[0].transpose(-1, -2) : xs[0];
      const rhs = tb ? xs[1].transpose(-1, -2) : xs[1];
      return [[lhs.matmul(rhs), expected]];
    }
    case "gather":
      return [[xs[0].gather(a.dim as number, xs[1]), expected]];
    case "scatterAdd":
      return [[xs[0].scatterAdd(a.dim as number, xs[1], xs[2]), expected]];
    case "topk": {
      const want = c.expected as { values: ArraySpec; indices: ArraySpec };
      const { values, indices } = xs[0].topk(a.k as number, {
        dim: a.dim as number,
        largest: a.largest as boolean,
      });
      return [[values, want.values], [indices, want.indices]];
    }
  }
  throw new Error(`fixture "${c.name}": unknown op "${c.op}"`);
}

/** Tolerances: rtol 1e-5 everywhere; erf relies on rtol alone so tiny arguments stay strict. */
function tolerances(op: string): { rtol: number; atol: number } {
  return op === "erf" ? { rtol: 1e-5, atol: 1e-12 } : { rtol: 1e-5, atol: 1e-6 };
}

Deno.test("numpy fixtures cover every op under test", () => {
  const seen = new Set(fixtures.cases.map((c) => c.op));
  assertEquals([...seen].sort(), [...OPS].sort());
});

for (const op of OPS) {
  const cases = fixtures.cases.filter((c) => c.op === op);
  testBackends(`numpy parity: ${op} (${cases.length} cases)`, async (backend) => {
    // Build every case's outputs first, then read them together (one wait on WebGPU).
    const outputs = tidy(() =>
      cases.map((c) => run(c, c.inputs.map(build)).map(([t, want]) => ({ c, t, want })))
    ).flat();
    try {
      const data = await Promise.all(outputs.map(({ t }) => t.data()));
      outputs.forEach(({ c, t, want }, i) => {
        const label = `${c.name} [${backend}]`;
        assertEquals([...t.shape], want.shape, `${label}: shape`);
        const expected = want.values.map(Number);
        if (want.dtype === "int32") {
          assertEquals(t.dtype, "int32", `${label}: dtype`);
          assertEquals(Array.from(data[i]), expected, `${label}: indices`);
        } else {
          assertAllClose(data[i], expected, { ...tolerances(op), label });
        }
      });
    } finally {
      for (const { t } of outputs) t.dispose();
    }
  });
}
