import { assert, assertEquals, assertThrows } from "@std/assert";
import { alignTokens, surfaceOf, type SurfaceRules } from "./_offsets.ts";
import { SequenceLengthError, ServeTokenizer } from "./tokenizer.ts";
import { createWordPieceTokenizerJson } from "./tokenizer_json.ts";
import { serveDir } from "./_testing/static_server.ts";
import { CORPUS, tinyTokenizer } from "./_testing/tiny.ts";

const spans = (text: string, tok = tinyTokenizer()) => {
  const e = tok.encode(text);
  return e.tokens.map((t, i) => [t, e.offsets[i] && text.slice(...e.offsets[i]!), e.subword[i]]);
};

Deno.test("tokenizer: offsets point into the original text despite case, accents and spaces", () => {
  assertEquals(spans("  ÁLICE   lives\tin PARIS!"), [
    ["[CLS]", null, false],
    ["alice", "ÁLICE", false],
    ["lives", "lives", false],
    ["in", "in", false],
    ["paris", "PARIS", false],
    ["[UNK]", "!", false],
    ["[SEP]", null, false],
  ]);
});

Deno.test("tokenizer: word pieces are marked as subwords; [UNK] covers its word", () => {
  assertEquals(spans("Bobs 東京 lives"), [
    ["[CLS]", null, false],
    ["bob", "Bob", false],
    ["##s", "s", true],
    ["[UNK]", "東", false],
    ["[UNK]", "京", false],
    ["lives", "lives", false],
    ["[SEP]", null, false],
  ]);
  assertEquals(spans("xyz? lives")[1], ["[UNK]", "xyz", false]);
});

Deno.test("tokenizer: truncation cuts before adding special tokens, or throws", () => {
  const tok = tinyTokenizer();
  const text = "the movie was great and the music was bad";
  const cut = tok.encode(text, { maxLength: 5 });
  assertEquals(cut.tokens, ["[CLS]", "the", "movie", "was", "[SEP]"]);
  assert(cut.truncated && !tok.encode("the movie").truncated);
  const e = assertThrows(
    () => tok.encode(text, { maxLength: 5, truncate: false }),
    SequenceLengthError,
  );
  assertEquals([e.length, e.limit], [11, 5]);
});

Deno.test("tokenizer: pairs carry sequence and type ids; only the second text is cut", () => {
  const tok = tinyTokenizer();
  const e = tok.encodePair("Who lives?", "Alice lives in Paris.", { maxLength: 9 });
  assertEquals(e.tokens, ["[CLS]", "who", "lives", "?", "[SEP]", "alice", "lives", "in", "[SEP]"]);
  assertEquals(e.sequenceIds, [null, 0, 0, 0, null, 1, 1, 1, null]);
  assertEquals(e.typeIds, [0, 0, 0, 0, 0, 1, 1, 1, 1]);
  assertEquals(e.offsets[5], [0, 5]);
  assertEquals(tok.clsTokenId, 2);
  assertThrows(
    () => tok.encodePair("Who lives in Paris?", "x", { maxLength: 7 }),
    SequenceLengthError,
  );
});

Deno.test("tokenizer: BertProcessing, RobertaProcessing and no post-processor", () => {
  const json = createWordPieceTokenizerJson(CORPUS);
  const make = (post_processor: unknown) => ServeTokenizer.fromJson({ ...json, post_processor });
  const bert = make({ type: "BertProcessing", cls: ["[CLS]", 2], sep: ["[SEP]", 3] });
  assertEquals(bert.encodePair("bob", "alice").tokens, ["[CLS]", "bob", "[SEP]", "alice", "[SEP]"]);
  const roberta = make({ type: "RobertaProcessing", cls: ["[CLS]", 2], sep: ["[SEP]", 3] });
  assertEquals(roberta.encodePair("bob", "alice").tokens.length, 6);
  const none = make(null);
  assertEquals(none.encode("bob").tokens, ["bob"]);
  assertEquals(none.clsTokenId, null);
  assertThrows(() => make({ type: "Mystery" }), RangeError, 'type "Mystery" is not supported');
});

Deno.test("tokenizer: surfaces of BPE, Metaspace and byte-level tokens", () => {
  const rules: SurfaceRules = {
    unkToken: null,
    continuingSubwordPrefix: null,
    endOfWordSuffix: "</w>",
    metaspace: "\u2581",
    byteLevel: false,
  };
  assertEquals(surfaceOf("\u2581Hello", rules), "Hello");
  assertEquals(surfaceOf("world</w>", rules), "world");
  const bytes = { ...rules, metaspace: null, endOfWordSuffix: null, byteLevel: true };
  assertEquals(surfaceOf("\u0120caf\u00c3\u00a9", bytes), "café");
  assertEquals(
    alignTokens("Hi café", ["Hi", "\u0120caf\u00c3\u00a9"], bytes),
    [[0, 2], [3, 7]],
  );
});

Deno.test("tokenizer: save and load from a folder and from a URL", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const tok = tinyTokenizer();
    await tok.save(dir);
    const local = await ServeTokenizer.load(dir);
    assertEquals(local.encode("Alice lives").ids, tok.encode("Alice lives").ids);
    assertEquals(local.modelMaxLength, 64);
    await Deno.remove(`${dir}/tokenizer_config.json`);
    const server = serveDir(dir);
    try {
      const remote = await ServeTokenizer.load(server.url);
      assertEquals(remote.encode("Alice lives").ids, tok.encode("Alice lives").ids);
      assertEquals(remote.modelMaxLength, null);
    } finally {
      await server.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
