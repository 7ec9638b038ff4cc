/**
 * Writing a small BERT-style `tokenizer.json` (WordPiece model, BERT normalizer and
 * pre-tokenizer, `[CLS] … [SEP]` template) from a corpus, for tests, demos and models trained
 * from scratch.
 *
 * @module
 */

/** Options of {@linkcode createWordPieceTokenizerJson}. */
export interface WordPieceJsonOptions {
  /** Lowercase and strip accents, as uncased BERT does. @default {true} */
  lowercase?: boolean;
  /** Keep words seen at least this often. @default {1} */
  minFrequency?: number;
  /** Keep at most this many words (most frequent first). @default {Infinity} */
  maxWords?: number;
  /** Characters to add to those seen (each alone and as a `##` piece). @default {""} */
  alphabet?: string;
}

/** The special tokens, in id order: `[PAD]` 0, `[UNK]` 1, `[CLS]` 2, `[SEP]` 3, `[MASK]` 4. */
const SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] as const;

/**
 * Builds a `tokenizer.json` whose vocabulary holds every word of `texts` (split like BERT: runs
 * of letters and digits, and single punctuation marks) plus each character seen, alone and as a
 * `##` continuation, so unseen words fall back to characters instead of `[UNK]`.
 *
 * @param texts The corpus.
 * @param options Casing and vocabulary size.
 * @returns The parsed `tokenizer.json` (write it with `JSON.stringify`).
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createWordPieceTokenizerJson, ServeTokenizer } from "@denoformers/serve";
 *
 * const json = createWordPieceTokenizerJson(["The movie was great."], { alphabet: "xyz" });
 * const tok = ServeTokenizer.fromJson(json);
 * assertEquals(tok.encode("The movies").tokens, ["[CLS]", "the", "movie", "##s", "[SEP]"]);
 * assertEquals(tok.encode("Zoe").tokens, ["[CLS]", "z", "##o", "##e", "[SEP]"]);
 * ```
 */
export function createWordPieceTokenizerJson(
  texts: Iterable<string>,
  options: WordPieceJsonOptions = {},
): Record<string, unknown> {
  const { lowercase = true, minFrequency = 1, maxWords = Infinity, alphabet = "" } = options;
  const counts = new Map<string, number>();
  const chars = new Set<string>(alphabet);
  for (const raw of texts) {
    const text = lowercase ? raw.toLowerCase().normalize("NFD").replace(/\p{Mn}/gu, "") : raw;
    for (const word of text.match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? []) {
      counts.set(word, (counts.get(word) ?? 0) + 1);
      for (const ch of word) chars.add(ch);
    }
  }
  const words = [...counts].filter(([, n]) => n >= minFrequency)
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, maxWords).map(([w]) => w);
  const letters = [...chars].sort();
  const vocab: Record<string, number> = {};
  for (const t of [...SPECIALS, ...words, ...letters, ...letters.map((c) => `##${c}`)]) {
    if (!(t in vocab)) vocab[t] = Object.keys(vocab).length;
  }
  const seq = (id: "A" | "B", typeId: number) => ({ Sequence: { id, type_id: typeId } });
  const tok = (id: string, typeId: number) => ({ SpecialToken: { id, type_id: typeId } });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: "BertNormalizer",
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [tok("[CLS]", 0), seq("A", 0), tok("[SEP]", 0)],
      pair: [tok("[CLS]", 0), seq("A", 0), tok("[SEP]", 0), seq("B", 1), tok("[SEP]", 1)],
      special_tokens: {
        "[CLS]": { id: "[CLS]", ids: [2], tokens: ["[CLS]"] },
        "[SEP]": { id: "[SEP]", ids: [3], tokens: ["[SEP]"] },
      },
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}

/**
 * A `tokenizer_config.json` to go with {@linkcode createWordPieceTokenizerJson}.
 *
 * @param modelMaxLength Longest input the model takes.
 * @param lowercase Whether the tokenizer lowercases.
 * @returns The parsed `tokenizer_config.json`.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createWordPieceTokenizerConfig } from "@denoformers/serve";
 *
 * assertEquals(createWordPieceTokenizerConfig(64).model_max_length, 64);
 * ```
 */
export function createWordPieceTokenizerConfig(
  modelMaxLength: number,
  lowercase = true,
): Record<string, unknown> {
  return {
    tokenizer_class: "BertTokenizerFast",
    do_lower_case: lowercase,
    model_max_length: modelMaxLength,
    pad_token: "[PAD]",
    unk_token: "[UNK]",
    cls_token: "[CLS]",
    sep_token: "[SEP]",
    mask_token: "[MASK]",
  };
}
