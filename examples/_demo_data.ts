/**
 * The demo's datasets, generated here (no downloads) from small word lists with a seeded random
 * generator: sentiment sentences, sentences with people / places / organisations tagged in BIO
 * format, and short contexts with questions whose answers are spans of the context.
 *
 * Evaluation uses freshly generated examples (another seed): new combinations of the same words.
 *
 * @module
 */

/** A seeded generator of uniform numbers in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = [
  "Alice",
  "Bob",
  "Carol",
  "David",
  "Emma",
  "Farid",
  "Grace",
  "Hiro",
  "Ines",
  "Jonas",
  "Kofi",
  "Lena",
  "Mateo",
  "Nadia",
  "Omar",
  "Priya",
  "Quinn",
  "Rosa",
  "Sven",
  "Tara",
  "Zelda",
  "Yusuf",
  "Xenia",
];
const LAST = ["Martin", "Okafor", "Silva", "Novak", "Tanaka", "Weber", "Khan", "Rossi"];
const CITY = [
  "Paris",
  "Berlin",
  "Tokyo",
  "Lisbon",
  "Cairo",
  "Lima",
  "Oslo",
  "New York",
  "San Francisco",
  "Buenos Aires",
  "Cape Town",
  "Seoul",
  "Dublin",
  "Kyoto",
  "Hanoi",
  "Rio de Janeiro",
];
const ORG = [
  "Acme Corp",
  "Globex",
  "Initech",
  "Umbrella Labs",
  "Stark Industries",
  "Hooli",
  "Wayne Enterprises",
  "Cyberdyne",
  "Vandelay Imports",
  "Soylent",
  "Pied Piper",
  "Tyrell Systems",
];

/** A labelled sentence for sentiment classification. */
export interface SentimentExample {
  /** The sentence. */
  text: string;
  /** 0 negative, 1 positive. */
  label: number;
}

/** Share of negated sentences: enough for a tiny model to learn what "not" does. */
const NEGATION = 0.35;
const SUBJECTS = [
  "the movie",
  "the film",
  "the food",
  "the service",
  "the hotel",
  "this book",
  "the concert",
  "the game",
  "the trip",
  "our dinner",
];
const GOOD = [
  "great",
  "wonderful",
  "excellent",
  "lovely",
  "amazing",
  "good",
  "fantastic",
  "delightful",
  "superb",
  "charming",
];
const BAD = [
  "terrible",
  "awful",
  "boring",
  "bad",
  "horrible",
  "dull",
  "disappointing",
  "poor",
  "bland",
  "dreadful",
];
const VERBS = ["was", "is", "seemed", "felt", "looked"];
const ADVERBS = ["", "", "really ", "very ", "quite ", "so ", "truly "];
const TAILS = ["", "", ".", "!", " overall.", " to me.", " this time.", " , I think."];

/** Sentiment sentences; "not" flips the adjective's polarity. */
export function sentimentData(n: number, seed: number): SentimentExample[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  return Array.from({ length: n }, () => {
    const positive = r() < 0.5;
    const negated = r() < NEGATION;
    const adj = pick(positive ? GOOD : BAD);
    const subject = pick(SUBJECTS);
    const text = `${subject[0].toUpperCase()}${subject.slice(1)} ${pick(VERBS)} ${
      negated ? "not " : pick(ADVERBS)
    }${adj}${pick(TAILS)}`.replace(" ,", ",");
    return { text, label: Number(positive !== negated) };
  });
}

/** Entity labels, in id order. */
export const NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"] as const;

/** A sentence with character spans of its entities. */
export interface NerExample {
  /** The sentence. */
  text: string;
  /** Entities: `[start, end)` and type (`PER`, `LOC`, `ORG`). */
  entities: { start: number; end: number; type: string }[];
}

type Slot = string | { type: "PER" | "LOC" | "ORG" };
const P = { type: "PER" } as const, L = { type: "LOC" } as const, O = { type: "ORG" } as const;
const NER_TEMPLATES: Slot[][] = [
  [P, " lives in ", L, "."],
  [P, " works at ", O, " in ", L, "."],
  [P, " met ", P, " in ", L, "."],
  ["Yesterday ", P, " visited ", O, "."],
  [O, " hired ", P, " last year."],
  ["The office of ", O, " is in ", L, "."],
  [P, " and ", P, " moved to ", L, "."],
  ["We flew from ", L, " to ", L, " with ", P, "."],
];

/** Sentences with entities. */
export function nerData(n: number, seed: number): NerExample[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  const fill = (t: "PER" | "LOC" | "ORG") =>
    t === "PER"
      ? `${pick(FIRST)}${r() < 0.4 ? ` ${pick(LAST)}` : ""}`
      : pick(t === "LOC" ? CITY : ORG);
  return Array.from({ length: n }, () => {
    let text = "";
    const entities: NerExample["entities"] = [];
    for (const slot of pick(NER_TEMPLATES)) {
      if (typeof slot === "string") text += slot;
      else {
        const value = fill(slot.type);
        entities.push({ start: text.length, end: text.length + value.length, type: slot.type });
        text += value;
      }
    }
    return { text, entities };
  });
}

/** A question with its context and the answer's character span. */
export interface QaExample {
  /** The question. */
  question: string;
  /** The context. */
  context: string;
  /** Answer start in the context. */
  start: number;
  /** Answer end (exclusive). */
  end: number;
}

type Fact = [question: string, answer: "P" | "L" | "O"];
const QA_TEMPLATES: [string, Fact[]][] = [
  ["{P} lives in {L} and works at {O}.", [
    ["Where does {P} live?", "L"],
    ["Where does {P} work?", "O"],
    ["Who lives in {L}?", "P"],
    ["Who works at {O}?", "P"],
  ]],
  ["{P} was born in {L} and now works at {O}.", [
    ["Where was {P} born?", "L"],
    ["Where does {P} work?", "O"],
    ["Who works at {O}?", "P"],
  ]],
  ["{O} was founded by {P}, who lives in {L}.", [
    ["Who founded {O}?", "P"],
    ["Where does {P} live?", "L"],
    ["Who lives in {L}?", "P"],
  ]],
  ["{P} works at {O}. The company is based in {L}.", [
    ["Where does {P} work?", "O"],
    ["Where is {O} based?", "L"],
    ["Who works at {O}?", "P"],
  ]],
];

/** One-person contexts with two or three facts; each question asks about one of them. */
export function qaData(n: number, seed: number): QaExample[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  return Array.from({ length: n }, () => {
    const values = { P: pick(FIRST), L: pick(CITY), O: pick(ORG) };
    const fill = (t: string) => t.replace(/\{([PLO])\}/g, (_, k: "P" | "L" | "O") => values[k]);
    const [template, facts] = pick(QA_TEMPLATES);
    const [question, slot] = pick(facts);
    const start = template.indexOf(`{${slot}}`);
    const before = fill(template.slice(0, start));
    return {
      question: fill(question),
      context: fill(template),
      start: before.length,
      end: before.length + values[slot].length,
    };
  });
}

/** Every training text, for the tokenizer's vocabulary. */
export function corpus(sets: {
  sentiment: SentimentExample[];
  ner: NerExample[];
  qa: QaExample[];
}): string[] {
  return [
    ...sets.sentiment.map((e) => e.text),
    ...sets.ner.map((e) => e.text),
    ...sets.qa.flatMap((e) => [e.question, e.context]),
  ];
}
