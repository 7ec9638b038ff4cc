/**
 * The special-token templates of a `tokenizer.json` post-processor (`BertProcessing`,
 * `RobertaProcessing`, `TemplateProcessing`, or none), applied to already tokenized sequences so
 * that truncation happens before special tokens are added and offsets stay per sequence.
 *
 * @module
 */

/** One piece of a template: a special token, or the first (`A`) or second (`B`) sequence. */
export type TemplatePiece =
  | { special: { ids: number[]; tokens: string[] }; typeId: number }
  | { sequence: 0 | 1; typeId: number };

/** The single-sequence and pair templates. */
export interface Templates {
  /** For one sequence. */
  single: TemplatePiece[];
  /** For a pair (question, context). */
  pair: TemplatePiece[];
}

type Json = Record<string, unknown>;

const special = (token: string, id: number, typeId = 0): TemplatePiece => ({
  special: { ids: [id], tokens: [token] },
  typeId,
});

function fromTemplateProcessing(p: Json): Templates {
  const table = (p.special_tokens ?? {}) as Record<string, { ids: number[]; tokens: string[] }>;
  const parse = (items: unknown): TemplatePiece[] =>
    (items as Json[]).map((item) => {
      if ("SpecialToken" in item) {
        const { id, type_id } = item.SpecialToken as { id: string; type_id?: number };
        const entry = table[id];
        if (!entry) {
          throw new RangeError(
            `Cannot read post_processor: special token "${id}" is not in special_tokens`,
          );
        }
        return {
          special: { ids: [...entry.ids], tokens: [...entry.tokens] },
          typeId: type_id ?? 0,
        };
      }
      const { id, type_id } = item.Sequence as { id: string; type_id?: number };
      return { sequence: id === "B" ? 1 : 0, typeId: type_id ?? 0 };
    });
  return { single: parse(p.single), pair: parse(p.pair) };
}

/**
 * Reads the templates of a post-processor (`null` means no special tokens).
 *
 * @param processor The `post_processor` object of `tokenizer.json`.
 * @returns The templates.
 * @throws {RangeError} For post-processors without a template (other than `ByteLevel`).
 */
export function readTemplates(processor: unknown): Templates {
  const plain: Templates = {
    single: [{ sequence: 0, typeId: 0 }],
    pair: [{ sequence: 0, typeId: 0 }, { sequence: 1, typeId: 1 }],
  };
  if (processor === null || processor === undefined) return plain;
  const p = processor as Json;
  switch (p.type) {
    case "BertProcessing": {
      const [cls, clsId] = p.cls as [string, number];
      const [sep, sepId] = p.sep as [string, number];
      return {
        single: [special(cls, clsId), { sequence: 0, typeId: 0 }, special(sep, sepId)],
        pair: [
          special(cls, clsId),
          { sequence: 0, typeId: 0 },
          special(sep, sepId),
          { sequence: 1, typeId: 1 },
          special(sep, sepId, 1),
        ],
      };
    }
    case "RobertaProcessing": {
      const [cls, clsId] = p.cls as [string, number];
      const [sep, sepId] = p.sep as [string, number];
      return {
        single: [special(cls, clsId), { sequence: 0, typeId: 0 }, special(sep, sepId)],
        pair: [
          special(cls, clsId),
          { sequence: 0, typeId: 0 },
          special(sep, sepId),
          special(sep, sepId),
          { sequence: 1, typeId: 0 },
          special(sep, sepId),
        ],
      };
    }
    case "TemplateProcessing":
      return fromTemplateProcessing(p);
    case "ByteLevel":
      return plain;
    case "Sequence": {
      const found = (p.processors as Json[]).find((q) => q.type !== "ByteLevel");
      return readTemplates(found ?? null);
    }
    default:
      throw new RangeError(`Cannot read post_processor: type "${p.type}" is not supported`);
  }
}

/**
 * Number of special tokens a template adds.
 *
 * @param template A template.
 * @returns The count.
 */
export function specialCount(template: readonly TemplatePiece[]): number {
  return template.reduce((n, p) => n + ("special" in p ? p.special.ids.length : 0), 0);
}
