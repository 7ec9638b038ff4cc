/**
 * `ServeTokenizer`: a `tokenizer.json` tokenizer (through `@huggingface/tokenizers`) that also
 * reports character offsets, word boundaries and sequence ids, truncates before adding special
 * tokens, and loads from a local folder or a URL.
 *
 * @module
 */

import { Tokenizer } from "@huggingface/tokenizers";
import { alignTokens, type Span, type SurfaceRules } from "./_offsets.ts";
import { readJsonFile } from "./_source.ts";
import { readTemplates, specialCount, type TemplatePiece, type Templates } from "./_template.ts";

/** A tokenized text (or pair), with everything the pipelines need to map tokens back. */
export interface TokenizedText {
  /** Token ids, special tokens included. */
  ids: number[];
  /** Token strings. */
  tokens: string[];
  /** `[start, end)` in the text each token came from; `null` for added special tokens. */
  offsets: ([number, number] | null)[];
  /** Which text a token came from (`0` the first, `1` the second), `null` for added specials. */
  sequenceIds: (0 | 1 | null)[];
  /** Segment (token type) ids. */
  typeIds: number[];
  /** Whether a token is a special token. */
  special: boolean[];
  /** Whether a token continues the word of the token before it. */
  subword: boolean[];
  /** Whether a text was cut to fit `maxLength`. */
  truncated: boolean;
}

/** How long an encoding may be and what happens when it is longer. */
export interface EncodeOptions {
  /** Most tokens, special tokens included. @default {Infinity} */
  maxLength?: number;
  /** Cut the (second) text to fit instead of throwing. @default {true} */
  truncate?: boolean;
}

/**
 * Thrown when a text does not fit the allowed length.
 *
 * @example Usage
 * ```ts
 * import { assert } from "@std/assert";
 * import { SequenceLengthError } from "@denoformers/serve";
 *
 * assert(new SequenceLengthError(600, 512) instanceof RangeError);
 * ```
 */
export class SequenceLengthError extends RangeError {
  /**
   * Builds the error.
   *
   * @param length Tokens the text needs.
   * @param limit Tokens allowed.
   */
  constructor(readonly length: number, readonly limit: number) {
    super(`Cannot encode text: ${length} tokens exceed the limit of ${limit}`);
    this.name = "SequenceLengthError";
  }
}

type Json = Record<string, unknown>;

interface Pieces {
  ids: number[];
  tokens: string[];
  offsets: Span[];
  subword: boolean[];
}

/**
 * A tokenizer from a Hugging Face `tokenizer.json`, with offsets.
 *
 * @example Usage
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { createWordPieceTokenizerJson, ServeTokenizer } from "@denoformers/serve";
 *
 * const tok = ServeTokenizer.fromJson(createWordPieceTokenizerJson(["Alice lives in Paris."]));
 * const e = tok.encode("Alice lives in PARIS");
 * assertEquals(e.tokens, ["[CLS]", "alice", "lives", "in", "paris", "[SEP]"]);
 * assertEquals(e.offsets[4], [15, 20]);
 * ```
 */
export class ServeTokenizer {
  /** The parsed `tokenizer.json`. */
  readonly json: Record<string, unknown>;
  /** The parsed `tokenizer_config.json` (empty when there is none). */
  readonly config: Record<string, unknown>;
  #tokenizer: Tokenizer;
  #rules: SurfaceRules;
  #templates: Templates;
  #specials: Set<string>;

  /**
   * Builds a tokenizer from parsed JSON.
   *
   * @param json The parsed `tokenizer.json`.
   * @param config The parsed `tokenizer_config.json`.
   */
  constructor(json: Record<string, unknown>, config: Record<string, unknown> = {}) {
    this.json = json;
    this.config = config;
    const model = (json.model ?? {}) as Json;
    const unk = (model.unk_token as string | undefined) ?? (config.unk_token as string) ?? null;
    this.#templates = readTemplates(json.post_processor);
    this.#tokenizer = new Tokenizer(json, { unk_token: unk, ...config });
    const text = JSON.stringify([json.pre_tokenizer, json.decoder]);
    const meta = /"replacement":"([^"]+)"/.exec(text);
    this.#rules = {
      unkToken: unk,
      continuingSubwordPrefix: (model.continuing_subword_prefix as string | null) ?? null,
      endOfWordSuffix: (model.end_of_word_suffix as string | null) ?? null,
      metaspace: text.includes('"Metaspace"') ? (meta?.[1] ?? "\u2581") : null,
      byteLevel: text.includes('"ByteLevel"'),
    };
    this.#specials = new Set(
      ((json.added_tokens ?? []) as Json[]).filter((t) => t.special).map((t) =>
        t.content as string
      ),
    );
  }

  /**
   * Builds a tokenizer from parsed JSON.
   *
   * @param json The parsed `tokenizer.json`.
   * @param config The parsed `tokenizer_config.json`.
   * @returns The tokenizer.
   */
  static fromJson(
    json: Record<string, unknown>,
    config: Record<string, unknown> = {},
  ): ServeTokenizer {
    return new ServeTokenizer(json, config);
  }

  /**
   * Loads `tokenizer.json` (and `tokenizer_config.json` when present) from a folder or URL.
   *
   * @param location Directory path or base URL.
   * @returns The tokenizer.
   */
  static async load(location: string | URL): Promise<ServeTokenizer> {
    const json = await readJsonFile(location, "tokenizer.json") as Json;
    const config = (await readJsonFile(location, "tokenizer_config.json", true) ?? {}) as Json;
    return new ServeTokenizer(json, config);
  }

  /**
   * Writes `tokenizer.json` and `tokenizer_config.json` into `dir`.
   *
   * @param dir Target directory (created if needed).
   */
  async save(dir: string): Promise<void> {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/tokenizer.json`, JSON.stringify(this.json, null, 2));
    await Deno.writeTextFile(`${dir}/tokenizer_config.json`, JSON.stringify(this.config, null, 2));
  }

  /** The id of the padding token (`[PAD]`, `<pad>`), else 0. */
  get padTokenId(): number {
    const name = (this.config.pad_token as string | undefined) ?? "[PAD]";
    return this.#tokenizer.token_to_id(name) ?? this.#tokenizer.token_to_id("<pad>") ?? 0;
  }

  /** The id of the token the pair template starts with (`[CLS]`), if it starts with one. */
  get clsTokenId(): number | null {
    const first = this.#templates.pair[0];
    return first && "special" in first ? first.special.ids[0] : null;
  }

  /** `model_max_length` of `tokenizer_config.json`, if set to a sane value. */
  get modelMaxLength(): number | null {
    const n = this.config.model_max_length;
    return typeof n === "number" && n > 0 && n < 1e9 ? n : null;
  }

  /**
   * Turns ids back into text with the tokenizer's decoder.
   *
   * @param ids Token ids.
   * @returns The text.
   */
  decode(ids: readonly number[]): string {
    return this.#tokenizer.decode([...ids], { skip_special_tokens: false });
  }

  #pieces(text: string): Pieces {
    const { ids, tokens } = this.#tokenizer.encode(text, { add_special_tokens: false });
    const offsets = alignTokens(text, tokens, this.#rules);
    const prefix = this.#rules.continuingSubwordPrefix;
    const subword = tokens.map((t, i) => {
      if (t === this.#rules.unkToken) return false;
      if (prefix) return t.startsWith(prefix) && t.length > prefix.length;
      const start = offsets[i]?.[0] ?? 0;
      return start > 0 && !/\s/.test(text[start - 1]) && !/\s/.test(text[start] ?? " ");
    });
    return { ids, tokens, offsets, subword };
  }

  #assemble(template: TemplatePiece[], parts: Pieces[], truncated: boolean): TokenizedText {
    const out: TokenizedText = {
      ids: [],
      tokens: [],
      offsets: [],
      sequenceIds: [],
      typeIds: [],
      special: [],
      subword: [],
      truncated,
    };
    for (const piece of template) {
      if ("special" in piece) {
        for (let i = 0; i < piece.special.ids.length; i++) {
          out.ids.push(piece.special.ids[i]);
          out.tokens.push(piece.special.tokens[i]);
          out.offsets.push(null);
          out.sequenceIds.push(null);
          out.typeIds.push(piece.typeId);
          out.special.push(true);
          out.subword.push(false);
        }
        continue;
      }
      const p = parts[piece.sequence];
      out.ids.push(...p.ids);
      out.tokens.push(...p.tokens);
      out.offsets.push(...p.offsets);
      for (let i = 0; i < p.ids.length; i++) {
        out.sequenceIds.push(piece.sequence);
        out.typeIds.push(piece.typeId);
        out.special.push(this.#specials.has(p.tokens[i]));
      }
      out.subword.push(...p.subword);
    }
    return out;
  }

  /**
   * Tokenizes one text and adds the single-sequence special tokens.
   *
   * @param text The text.
   * @param options Length limit and truncation policy.
   * @returns The encoding.
   * @throws {SequenceLengthError} When the text is too long and `truncate` is false.
   */
  encode(text: string, options: EncodeOptions = {}): TokenizedText {
    const { maxLength = Infinity, truncate = true } = options;
    const p = this.#pieces(text);
    const room = maxLength - specialCount(this.#templates.single);
    const cut = p.ids.length > room;
    if (cut && (!truncate || room < 0)) {
      throw new SequenceLengthError(p.ids.length + specialCount(this.#templates.single), maxLength);
    }
    return this.#assemble(this.#templates.single, [cut ? slice(p, Math.max(room, 0)) : p], cut);
  }

  /**
   * Tokenizes a pair (question, context) and adds the pair's special tokens. Only the second text
   * is ever cut.
   *
   * @param first The first text (kept whole).
   * @param second The second text (cut to fit when `truncate`).
   * @param options Length limit and truncation policy.
   * @returns The encoding.
   * @throws {SequenceLengthError} When the pair is too long and cannot or may not be cut.
   */
  encodePair(first: string, second: string, options: EncodeOptions = {}): TokenizedText {
    const { maxLength = Infinity, truncate = true } = options;
    const a = this.#pieces(first);
    const b = this.#pieces(second);
    const specials = specialCount(this.#templates.pair);
    const room = maxLength - specials - a.ids.length;
    const cut = b.ids.length > room;
    if (cut && (!truncate || room < 1)) {
      throw new SequenceLengthError(a.ids.length + b.ids.length + specials, maxLength);
    }
    return this.#assemble(this.#templates.pair, [a, cut ? slice(b, room) : b], cut);
  }
}

function slice(p: Pieces, n: number): Pieces {
  return {
    ids: p.ids.slice(0, n),
    tokens: p.tokens.slice(0, n),
    offsets: p.offsets.slice(0, n),
    subword: p.subword.slice(0, n),
  };
}
