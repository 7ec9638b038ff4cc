import { assert, assertEquals, assertRejects } from "@std/assert";
import { arange } from "../creation.ts";
import type { Tensor } from "../tensor.ts";
import { parseSafetensorsHeader, SafetensorsError, serializeSafetensors } from "./safetensors.ts";
import { loadSafetensors, SafetensorsFile, saveSafetensors } from "./safetensors_file.ts";

const cpu = { backend: "cpu" } as const;

/** Three float32 tensors of 4,000 elements each (16,000 bytes each). */
function sample(): Record<string, Tensor> {
  return {
    a: arange(0, 4000, 1, { dtype: "float32", ...cpu }),
    b: arange(4000, 8000, 1, { dtype: "float32", ...cpu }),
    c: arange(8000, 12000, 1, { dtype: "float32", ...cpu }).reshape([40, 100]),
  };
}

/** Counts the bytes `Deno.FsFile.prototype.read` returns while `fn` runs. */
async function countReads<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const proto = Deno.FsFile.prototype;
  const original = proto.read;
  let total = 0;
  proto.read = async function (this: Deno.FsFile, p: Uint8Array) {
    const n = await original.call(this, p);
    total += n ?? 0;
    return n;
  };
  try {
    return [await fn(), total];
  } finally {
    proto.read = original;
  }
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a local file reads only the header and the requested tensors", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/x.safetensors`;
    await saveSafetensors(path, sample(), { format: "pt" });
    const bytes = await Deno.readFile(path);
    assertEquals(bytes, await serializeSafetensors(sample(), { format: "pt" }));
    const { dataStart } = parseSafetensorsHeader(bytes, bytes.length);

    const [file, opened] = await countReads(() => SafetensorsFile.open(path));
    assertEquals(opened, dataStart);
    assertEquals(file.keys(), ["a", "b", "c"]);
    assertEquals(file.header.metadata, { format: "pt" });
    const [b, readB] = await countReads(() => file.read("b", cpu));
    assertEquals(readB, 16_000);
    assertEquals((await b.data()).slice(0, 3), new Float32Array([4000, 4001, 4002]));
    const [some, readSome] = await countReads(() => file.readAll({ ...cpu, names: ["c", "a"] }));
    assertEquals(readSome, 32_000);
    assertEquals(Object.keys(some), ["c", "a"]);
    assertEquals(some.c.shape, [40, 100]);
    assertEquals(await some.c.sum().item(), (8000 + 11999) * 2000);
    const [all, readAll] = await countReads(() => file.readAll(cpu));
    assertEquals(readAll, 48_000);
    assertEquals(Object.keys(all), ["a", "b", "c"]);
    // Concurrent reads share one file position safely.
    const both = await Promise.all([file.read("c", cpu), file.read("a", cpu)]);
    assertEquals([await both[0].max().item(), await both[1].max().item()], [11999, 3999]);

    const e = await assertRejects(() => file.read("nope"), SafetensorsError);
    assertEquals((e as SafetensorsError).tensor, "nope");
    assert(e.message.includes(`Cannot read tensor "nope": no such tensor in "${path}"`));
    assert(e.message.includes('(known: "a", "b", "c")'), e.message);
    await assertRejects(() => file.readAll({ names: ["a", "zz"] }), SafetensorsError, '"zz"');
    file.close();
    file.close();
    await assertRejects(() => file.read("a"), SafetensorsError, "has been closed");
    await assertRejects(
      () => SafetensorsFile.open(`${dir}/missing.safetensors`),
      Deno.errors.NotFound,
    );
  });
});

Deno.test("a malformed local file is rejected and closed", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/bad.safetensors`, new Uint8Array([200, 0, 0, 0, 0, 0, 0, 0, 123]));
    await assertRejects(
      () => SafetensorsFile.open(`${dir}/bad.safetensors`),
      SafetensorsError,
      "header of 200 bytes runs past the end of the 9-byte file",
    );
    await Deno.writeFile(`${dir}/tiny.safetensors`, new Uint8Array(3));
    await assertRejects(
      () => loadSafetensors(`${dir}/tiny.safetensors`),
      SafetensorsError,
      "3 bytes long",
    );
  });
});

/** Serves `files` (path → bytes) on 127.0.0.1, with or without Range support. */
async function serve(
  files: Record<string, Uint8Array>,
  ranges: boolean,
  fn: (base: string, log: { served: number; statuses: number[] }) => Promise<void>,
): Promise<void> {
  const log = { served: 0, statuses: [] as number[] };
  const controller = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: controller.signal, onListen: () => {} },
    (req) => {
      const body = files[new URL(req.url).pathname];
      if (!body) return new Response("not found", { status: 404 });
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.get("range") ?? "");
      let status = 200;
      let part = body;
      const headers = new Headers({ "content-length": String(body.length) });
      if (ranges && m) {
        const start = Number(m[1]);
        const end = Math.min(Number(m[2]), body.length - 1);
        part = body.subarray(start, end + 1);
        status = 206;
        headers.set("content-range", `bytes ${start}-${end}/${body.length}`);
        headers.set("content-length", String(part.length));
      }
      log.statuses.push(status);
      if (req.method === "HEAD") return new Response(null, { status, headers });
      log.served += part.length;
      return new Response(part.slice(), { status, headers });
    },
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, log);
  } finally {
    controller.abort();
    await server.finished;
  }
}

Deno.test("a URL is read with Range requests when the server answers 206", async () => {
  const big = arange(30000, undefined, 1, cpu); // int32: laid out after the float32 tensors
  const z = arange(100000, undefined, 1, cpu);
  const bytes = await serializeSafetensors({ ...sample(), big, z });
  const { dataStart } = parseSafetensorsHeader(bytes, bytes.length);
  assertEquals(dataStart + 48_000 + 120_000 + 400_000, bytes.length);
  await serve({ "/m.safetensors": bytes }, true, async (base, log) => {
    const file = await SafetensorsFile.open(`${base}/m.safetensors`);
    assertEquals(file.keys(), ["a", "b", "c", "big", "z"]);
    assertEquals([log.statuses, log.served], [[206], 64 * 1024]); // one prefetch holds the header
    const got = await file.read("big", cpu);
    assertEquals(await got.sum().item(), (29999 * 30000) / 2);
    assertEquals([log.statuses, log.served], [[206, 206], 64 * 1024 + 120_000]);
    // `a` lies inside the prefetched first 64 KiB: no request.
    assertEquals(await (await file.read("a", cpu)).max().item(), 3999);
    assertEquals(log.statuses.length, 2);
    file.close();
    const all = await loadSafetensors(new URL(`${base}/m.safetensors`), cpu);
    assertEquals(Object.keys(all), ["a", "b", "c", "big", "z"]);
    assertEquals(await all.z.max().item(), 99999);
    await assertRejects(
      () => SafetensorsFile.open(`${base}/gone.safetensors`),
      SafetensorsError,
      "HTTP 404",
    );
  });
});

Deno.test("a URL whose server ignores Range is read with one full GET", async () => {
  const bytes = await serializeSafetensors(sample());
  await serve({ "/m.safetensors": bytes }, false, async (base, log) => {
    const file = await SafetensorsFile.open(new URL(`${base}/m.safetensors`));
    assertEquals(log.statuses, [200]);
    assertEquals(log.served, bytes.length);
    const got = await file.readAll({ ...cpu, names: ["c"] });
    assertEquals(await got.c.min().item(), 8000);
    assertEquals(log.statuses, [200]);
    file.close();
  });
});

/** Writes a two-shard checkpoint with an index into `dir`. */
async function writeSharded(dir: string): Promise<Record<string, Tensor>> {
  const t = sample();
  await saveSafetensors(`${dir}/model-00001-of-00002.safetensors`, { a: t.a, c: t.c });
  await saveSafetensors(`${dir}/model-00002-of-00002.safetensors`, { b: t.b });
  const index = {
    metadata: { total_size: 48_000 },
    weight_map: {
      a: "model-00001-of-00002.safetensors",
      b: "model-00002-of-00002.safetensors",
      c: "model-00001-of-00002.safetensors",
    },
  };
  await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, JSON.stringify(index));
  return t;
}

Deno.test("a sharded checkpoint loads through its index", async () => {
  await withTempDir(async (dir) => {
    const t = await writeSharded(dir);
    for (const target of [dir, `${dir}/`, `${dir}/model.safetensors.index.json`]) {
      const got = await loadSafetensors(target, cpu);
      assertEquals(Object.keys(got), ["a", "b", "c"]);
      for (const k of ["a", "b", "c"]) assertEquals(await got[k].data(), await t[k].data(), k);
    }
    // Only the shards holding the requested names are opened.
    await Deno.remove(`${dir}/model-00002-of-00002.safetensors`);
    const some = await loadSafetensors(dir, { ...cpu, names: ["c"] });
    assertEquals(Object.keys(some), ["c"]);
    const e = await assertRejects(
      () => loadSafetensors(dir, { names: ["a", "q"] }),
      SafetensorsError,
    );
    assert(e.message.includes('Cannot read tensor "q": no such tensor in'), e.message);
    assert(e.message.includes('(known: "a", "b", "c")'), e.message);
    await assertRejects(() => loadSafetensors(dir, { names: ["b"] }), Deno.errors.NotFound);
    // A shard name that climbs out of the folder is refused.
    await Deno.writeTextFile(
      `${dir}/evil.safetensors.index.json`,
      JSON.stringify({ weight_map: { a: "../x.safetensors" } }),
    );
    await assertRejects(
      () => loadSafetensors(`${dir}/evil.safetensors.index.json`),
      SafetensorsError,
      'tensor "a" maps to "../x.safetensors", not a relative file name',
    );
    await Deno.writeTextFile(`${dir}/bad.safetensors.index.json`, "{}");
    await assertRejects(
      () => loadSafetensors(`${dir}/bad.safetensors.index.json`),
      SafetensorsError,
      'it has no "weight_map" object',
    );
  });
});

Deno.test("a directory without an index loads model.safetensors", async () => {
  await withTempDir(async (dir) => {
    await saveSafetensors(`${dir}/model.safetensors`, sample());
    const got = await loadSafetensors(dir, { ...cpu, names: ["b"] });
    assertEquals(Object.keys(got), ["b"]);
    assertEquals(await got.b.min().item(), 4000);
  });
});

Deno.test("a sharded checkpoint loads over HTTP", async () => {
  await withTempDir(async (dir) => {
    await writeSharded(dir);
    const files: Record<string, Uint8Array> = {};
    for (
      const name of [
        "model.safetensors.index.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
      ]
    ) {
      files[`/repo/${name}`] = await Deno.readFile(`${dir}/${name}`);
    }
    await serve(files, true, async (base) => {
      const got = await loadSafetensors(`${base}/repo`, cpu);
      assertEquals(Object.keys(got), ["a", "b", "c"]);
      assertEquals(await got.b.max().item(), 7999);
    });
  });
});
