import { assert, assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import { type MatmulOperand, matmulProgram, type MatmulSpec } from "./wgsl_matmul.ts";
import { MAX_WORKGROUPS_PER_DIM } from "./wgsl_program.ts";
import { getAdapter } from "../backends/webgpu/webgpu.ts";

const adapter = await getAdapter();

/** Where a logical `[batch, rows, cols]` operand sits in its buffer. */
interface Placement {
  /** Store transposed (rows contiguous) instead of row-major. */
  t?: boolean;
  offset?: number;
  /** Extra elements after each stored line. */
  pad?: number;
  /** Element stride along the stored line. */
  step?: number;
  /** One matrix shared by every batch entry. */
  broadcast?: boolean;
}

function place(batch: number, rows: number, cols: number, p: Placement = {}) {
  const { t = false, offset = 0, pad = 0, step = 1, broadcast = false } = p;
  const [lines, perLine] = t ? [cols, rows] : [rows, cols];
  const lineStride = perLine * step + pad;
  const batchStride = broadcast ? 0 : lines * lineStride + pad;
  const op: MatmulOperand = {
    offset,
    batchStride,
    rowStride: t ? step : lineStride,
    colStride: t ? lineStride : step,
  };
  const last = offset + (broadcast ? 0 : batch - 1) * batchStride +
    (rows - 1) * op.rowStride + (cols - 1) * op.colStride;
  return { op, length: last + 1 };
}

interface Case {
  name: string;
  spec: MatmulSpec;
  a: Float32Array<ArrayBuffer>;
  b: Float32Array<ArrayBuffer>;
}

let seed = 12345;
function random(): number {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  return seed / 2 ** 32;
}

/** Fills the operand's elements with values in [-1, 1) and everything else with NaN. */
function fill(
  rows: number,
  cols: number,
  batch: number,
  op: MatmulOperand,
  length: number,
): Float32Array<ArrayBuffer> {
  const data = new Float32Array(Math.ceil(length / 4) * 4).fill(NaN);
  for (let bi = 0; bi < batch; bi++) {
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        data[op.offset + bi * op.batchStride + i * op.rowStride + j * op.colStride] = random() * 2 -
          1;
      }
    }
  }
  return data;
}

function specOf([m, n, k, batch = 1]: number[], pa: Placement = {}, pb: Placement = {}) {
  return { batch, m, n, k, a: place(batch, m, k, pa).op, b: place(batch, k, n, pb).op };
}

function makeCase(
  name: string,
  [m, n, k, batch = 1]: number[],
  pa: Placement = {},
  pb: Placement = {},
): Case {
  const a = place(batch, m, k, pa), b = place(batch, k, n, pb);
  return {
    name,
    spec: { batch, m, n, k, a: a.op, b: b.op },
    a: fill(m, k, batch, a.op, a.length),
    b: fill(k, n, batch, b.op, b.length),
  };
}

function reference({ spec, a, b }: Case): Float64Array {
  const { batch, m, n, k } = spec;
  const out = new Float64Array(batch * m * n);
  for (let bi = 0; bi < batch; bi++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          s += a[
            spec.a.offset + bi * spec.a.batchStride + i * spec.a.rowStride +
            p * spec.a.colStride
          ] *
            b[
              spec.b.offset + bi * spec.b.batchStride + p * spec.b.rowStride +
              j * spec.b.colStride
            ];
        }
        out[(bi * m + i) * n + j] = s;
      }
    }
  }
  return out;
}

const T = { t: true };
const FIXED: Case[] = [
  ...[[1, 1, 1], [3, 5, 7], [5, 3, 1], [17, 33, 5], [33, 17, 127], [64, 64, 64], [67, 45, 70]]
    .map((s) => makeCase(`row-major ${s}`, s)),
  ...[[96, 96, 96], [68, 100, 36], [128, 24, 16]].map((s) => makeCase(`big tile ${s}`, s)),
  ...[[17, 33, 20], [64, 48, 64], [33, 5, 127], [1, 37, 50], [48, 48, 48]]
    .map((s) => makeCase(`B transposed ${s}`, s, {}, T)),
  ...[[33, 17, 20], [48, 64, 64], [5, 33, 3], [48, 48, 48]]
    .map((s) => makeCase(`A transposed ${s}`, s, T)),
  ...[[21, 19, 40], [32, 32, 32]].map((s) => makeCase(`both transposed ${s}`, s, T, T)),
  makeCase("M=1", [1, 64, 64]),
  makeCase("M=1, B transposed", [1, 70, 33], {}, T),
  makeCase("M=1, A column", [1, 40, 24], T),
  makeCase("N=1", [64, 1, 64]),
  makeCase("N=1, A transposed", [45, 1, 33], T),
  makeCase("N=1, B transposed", [40, 1, 24], {}, T),
  makeCase("K=1", [13, 9, 1]),
  makeCase("K=1 aligned", [16, 16, 1]),
  makeCase("K=1, both transposed", [12, 8, 1], T, T),
  makeCase("strided A", [19, 21, 23], { step: 2, pad: 3 }),
  makeCase("strided B", [19, 21, 23], {}, { step: 3, pad: 1 }),
  makeCase("strided transposed", [24, 20, 16], { t: true, step: 2 }, { t: true, step: 5 }),
  makeCase("aligned offsets and pads", [24, 28, 32], { offset: 8, pad: 4 }, { offset: 4, pad: 8 }),
  makeCase("unaligned offsets", [24, 28, 32], { offset: 3 }, { offset: 1, t: true }),
  makeCase("unaligned pads", [24, 28, 32], { pad: 1 }, { pad: 2 }),
  makeCase("batch", [17, 20, 9, 3]),
  makeCase("batch, A broadcast", [16, 20, 12, 3], { broadcast: true }),
  makeCase("batch, B broadcast", [16, 20, 12, 3], {}, { broadcast: true, t: true }),
  makeCase("batch, transposed, padded", [9, 12, 20, 4], { t: true, pad: 4 }, { t: true }),
  makeCase("large batch", [2, 3, 5, 4096]),
  makeCase("large batch, vec4", [4, 4, 8, 4096], {}, { broadcast: true }),
  makeCase("batch beyond one grid dimension", [1, 1, 3, 70000]),
  makeCase("many row bands", [330, 130, 4, 2]),
  makeCase("many row bands, partial last band", [400, 70, 9]),
];

function fuzzCases(count: number): Case[] {
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)];
  const placement = (): Placement => ({
    t: random() < 0.5,
    offset: pick([0, 0, 4, 3]),
    pad: pick([0, 0, 4, 1]),
    step: pick([1, 1, 1, 2]),
    broadcast: random() < 0.2,
  });
  return Array.from({ length: count }, (_, i) => {
    const shape = [1, 1, 1].map(() => 1 + Math.floor(random() * 40));
    shape.push(pick([1, 1, 2, 3]));
    return makeCase(`fuzz ${i} ${shape}`, shape, placement(), placement());
  });
}

async function runAll(device: GPUDevice, cases: Case[]): Promise<Float32Array[]> {
  const pipelines = new Map<string, GPUComputePipeline>();
  const storage = (data: Float32Array<ArrayBuffer>) => {
    const buf = device.createBuffer({
      size: data.byteLength,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(buf, 0, data);
    return buf;
  };
  const outSizes = cases.map(({ spec }) => Math.ceil(spec.batch * spec.m * spec.n / 4) * 16);
  const staging = device.createBuffer({
    size: outSizes.reduce((x, y) => x + y),
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const buffers: GPUBuffer[] = [staging];
  const encoder = device.createCommandEncoder();
  let at = 0;
  for (const [i, c] of cases.entries()) {
    const program = matmulProgram(c.spec);
    assert(program.workgroups.every((w) => w >= 1 && w <= MAX_WORKGROUPS_PER_DIM));
    let pipeline = pipelines.get(program.key);
    if (!pipeline) {
      const module = device.createShaderModule({ code: program.code() });
      pipeline = device.createComputePipeline({ layout: "auto", compute: { module } });
      pipelines.set(program.key, pipeline);
    }
    const out = device.createBuffer({
      size: outSizes[i],
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
    const uniforms = device.createBuffer({
      size: program.uniforms.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(uniforms, 0, program.uniforms as Uint32Array<ArrayBuffer>);
    const bound = [storage(c.a), storage(c.b), out, uniforms];
    buffers.push(...bound);
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(
      0,
      device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: bound.map((buffer, binding) => ({ binding, resource: { buffer } })),
      }),
    );
    pass.dispatchWorkgroups(...program.workgroups);
    pass.end();
    encoder.copyBufferToBuffer(out, 0, staging, at, outSizes[i]);
    at += outSizes[i];
  }
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const all = new Float32Array(staging.getMappedRange().slice(0));
  for (const buf of buffers) buf.destroy();
  at = 0;
  return cases.map(({ spec }, i) => {
    const result = all.subarray(at / 4, at / 4 + spec.batch * spec.m * spec.n);
    at += outSizes[i];
    return result;
  });
}

function check(c: Case, got: Float32Array): void {
  const want = reference(c);
  const floor = 1e-5 * Math.sqrt(c.spec.k);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= Math.max(1e-5 * Math.abs(want[i]), floor))) {
      throw new Error(`${c.name}: element ${i} is ${got[i]}, want ${want[i]}`);
    }
  }
}

Deno.test({
  name: "matmulProgram() matches a float64 reference on every layout and edge size",
  ignore: adapter === null,
  async fn() {
    const device = await adapter!.requestDevice();
    try {
      device.pushErrorScope("validation");
      const cases = [...FIXED, ...fuzzCases(16)];
      const results = await runAll(device, cases);
      assertEquals(await device.popErrorScope(), null);
      cases.forEach((c, i) => check(c, results[i]));
    } finally {
      device.destroy();
    }
  },
});

Deno.test("matmulProgram() keys name the layout class, not the sizes", () => {
  const key = (s: number[], pa: Placement = {}, pb: Placement = {}) =>
    matmulProgram(specOf(s, pa, pb)).key;
  assertEquals(key([1024, 1024, 1024]), "matmul_k4_x4_o4_12x12_8x1");
  assertEquals(key([960, 1000, 1056]), key([1024, 1024, 1024]));
  assertEquals(key([960, 960, 960], {}, T), "matmul_k4_k4_o4_12x12_8x1");
  assertEquals(key([960, 960, 960], T), "matmul_x4_x4_o4_12x12_8x1");
  assertEquals(key([960, 960, 960], { offset: 2 }, { step: 2 }), "matmul_s_s_o4_12x12_8x1");
  assertNotEquals(key([960, 962, 960]), key([960, 960, 960]));
});

Deno.test("matmulProgram() folds any batch into the workgroup limits", () => {
  const { workgroups, uniforms } = matmulProgram(specOf([1, 1, 1, 200000]));
  assert(workgroups.every((w) => w <= MAX_WORKGROUPS_PER_DIM));
  assert(workgroups[0] * workgroups[1] >= 200000);
  assertEquals(uniforms.length % 4, 0);
});

Deno.test("matmulProgram() rejects negative and fractional layouts", () => {
  const spec = specOf([4, 4, 4]);
  assertThrows(() => matmulProgram({ ...spec, m: -1 }), RangeError);
  assertThrows(() => matmulProgram({ ...spec, a: { ...spec.a, offset: 1.5 } }), RangeError);
});
