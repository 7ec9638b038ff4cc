/**
 * Character offsets for tokens. `@huggingface/tokenizers` 0.2.0 returns ids and token strings but
 * no offsets, so each token's surface form is searched for in a folded copy of the text
 * (lowercased, accents removed), left to right, and mapped back to the original UTF-16 indices.
 *
 * @module
 */

/** How token strings relate to the text they came from. */
export interface SurfaceRules {
  /** The unknown token, which covers a whole word (or one punctuation character). */
  unkToken: string | null;
  /** Prefix of word-continuing pieces (WordPiece `##`). */
  continuingSubwordPrefix: string | null;
  /** Suffix of word-final pieces (BPE `</w>`). */
  endOfWordSuffix: string | null;
  /** Metaspace replacement character (`▁`), if the tokenizer uses one. */
  metaspace: string | null;
  /** Whether tokens are byte-level (GPT-2's `Ġ` alphabet). */
  byteLevel: boolean;
}

/** A `[start, end)` character span in the original text, or `null` when not found. */
export type Span = [number, number] | null;

const IGNORABLE = /[\s\p{Cc}\p{Cf}]/u;
const PUNCT = /[\p{P}\p{S}\p{Script=Han}]/u;

interface Folded {
  text: string;
  /** Original index where the character behind each folded code unit starts. */
  startOf: number[];
  /** Original index just after that character. */
  endOf: number[];
}

/** Lowercase + NFD without combining marks: the lenient form both sides are compared in. */
export function foldString(s: string): string {
  return s.toLowerCase().normalize("NFD").replace(/\p{Mn}/gu, "");
}

function fold(text: string): Folded {
  let out = "";
  const startOf: number[] = [];
  const endOf: number[] = [];
  let i = 0;
  for (const ch of text) {
    const f = foldString(ch);
    for (let k = 0; k < f.length; k++) {
      startOf.push(i);
      endOf.push(i + ch.length);
    }
    out += f;
    i += ch.length;
  }
  return { text: out, startOf, endOf };
}

let byteDecoder: Map<string, number> | undefined;

/** GPT-2's byte-to-unicode table, inverted: printable bytes map to themselves, others to 256+. */
function bytesOfByteLevel(token: string): Uint8Array | null {
  if (!byteDecoder) {
    byteDecoder = new Map();
    let extra = 0;
    for (let b = 0; b < 256; b++) {
      const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
      byteDecoder.set(String.fromCodePoint(printable ? b : 256 + extra++), b);
    }
  }
  const bytes: number[] = [];
  for (const ch of token) {
    const b = byteDecoder.get(ch);
    if (b === undefined) return null;
    bytes.push(b);
  }
  return new Uint8Array(bytes);
}

/**
 * The text a token stands for, without subword markers (`""` when it cannot be told).
 *
 * @param token The token string.
 * @param rules The tokenizer's conventions.
 * @returns The surface text.
 */
export function surfaceOf(token: string, rules: SurfaceRules): string {
  let s = token;
  if (rules.byteLevel) {
    const bytes = bytesOfByteLevel(s);
    if (!bytes) return s;
    try {
      s = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      return ""; // a piece of a multi-byte character
    }
  }
  if (rules.continuingSubwordPrefix && s.startsWith(rules.continuingSubwordPrefix)) {
    s = s.slice(rules.continuingSubwordPrefix.length);
  }
  if (rules.endOfWordSuffix && s.endsWith(rules.endOfWordSuffix)) {
    s = s.slice(0, -rules.endOfWordSuffix.length);
  }
  if (rules.metaspace) s = s.replaceAll(rules.metaspace, " ");
  return s.trim();
}

/**
 * Finds the character span of each token of `text`, in order.
 *
 * @param text The original text.
 * @param tokens Its tokens, without special tokens added by a post-processor.
 * @param rules The tokenizer's conventions.
 * @returns One span per token.
 */
export function alignTokens(text: string, tokens: readonly string[], rules: SurfaceRules): Span[] {
  const f = fold(text);
  const n = f.text.length;
  const span = (s: number, e: number): Span =>
    e > s
      ? [f.startOf[s], f.endOf[e - 1]]
      : [f.startOf[s] ?? text.length, f.startOf[s] ?? text.length];
  const skip = (at: number) => {
    while (at < n && IGNORABLE.test(f.text[at])) at++;
    return at;
  };
  const spans: Span[] = [];
  let cursor = 0;
  for (const token of tokens) {
    if (token === rules.unkToken) {
      const s = skip(cursor);
      let e = s;
      if (e < n && PUNCT.test(f.text[e])) e++;
      else {
        while (e < n && !/\s/.test(f.text[e]) && !PUNCT.test(f.text[e])) e++;
        while (e > s && IGNORABLE.test(f.text[e - 1])) e--;
      }
      spans.push(e > s ? span(s, e) : null);
      cursor = e;
      continue;
    }
    const surface = foldString(surfaceOf(token, rules));
    if (surface === "") {
      spans.push(span(cursor, cursor));
      continue;
    }
    let s = skip(cursor);
    if (!f.text.startsWith(surface, s)) s = f.text.indexOf(surface, cursor);
    if (s < 0) {
      spans.push(null);
      continue;
    }
    spans.push(span(s, s + surface.length));
    cursor = s + surface.length;
  }
  return spans;
}
