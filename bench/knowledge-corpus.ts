// The knowledge bench's seeded synthetic corpus with topic structure: entries of chunks whose
// words come from topics (each a neighbourhood of the local embedder's own word vectors) and
// frequent filler words, and the queries run against it.
import { randomUUID } from 'node:crypto';
import type { WordTable } from '../src/modules/knowledge/embeddings/table.ts';
import { seededRandom } from './lib.ts';

export const CHUNKS = Number(process.env.BENCH_KNOWLEDGE_CHUNKS ?? 100_000);
export const CHUNKS_PER_ENTRY = 100;
export const QUERIES = 300;
/**
 * Two corpora. `zipf` (the default): a topic has 800 words, chunks draw from its nearest 600
 * with a skew towards the nearest (u^2) and take frequent words with Zipf-like skew (u^3 over
 * the 20,000 most frequent), as prose does. `dense` (BENCH_KNOWLEDGE_CORPUS=dense, the first
 * corpus measured): 100-word topics drawn uniformly, so every topic word is in about half of
 * its topic's chunks: a stress case for full-text ranking (every match is ranked) and full of
 * near-tied vectors.
 */
export const PROFILE = process.env.BENCH_KNOWLEDGE_CORPUS === 'dense' ? 'dense' : 'zipf';
export const SHAPE =
  PROFILE === 'dense'
    ? {
        topicWords: 150,
        corpusTopicWords: 100,
        topicSkew: 1,
        fillerFrom: 30,
        fillerTo: 1_500,
        fillerSkew: 1,
        topicShare: 6,
        secondShare: 1,
      }
    : {
        topicWords: 800,
        corpusTopicWords: 600,
        topicSkew: 2,
        fillerFrom: 30,
        fillerTo: 20_000,
        fillerSkew: 3,
        topicShare: 5,
        secondShare: 1,
      };
export const TOPIC_WORDS = SHAPE.topicWords;
export const SEEDS = (
  'car cooking guitar finance football medicine computer garden ocean election weather travel painting chemistry ' +
  'court school church fashion army astronomy farming railway insurance wedding hospital mining fishing aircraft ' +
  'theatre poetry banking software volcano forest restaurant police prison hotel movie baseball'
).split(' ');

export interface Corpus {
  entries: { id: string; title: string }[];
  chunks: { id: string; entry: number; position: number; text: string }[];
  queries: string[];
}

/** Topic vocabularies: the words nearest each seed word, among the table's frequent words. */
function topics(table: WordTable, words: string[]): string[][] {
  const { dimensions, vectors } = table;
  const candidates = words.map((word, i) => ({ word, i })).filter(({ word, i }) => i >= 300 && i < 30_000 && /^[a-z]{4,}$/.test(word));
  const unit = (i: number) => {
    const v = Array.from(vectors.subarray(i * dimensions, (i + 1) * dimensions));
    const n = Math.hypot(...v) || 1;
    return v.map((x) => x / n);
  };
  const units = new Map(candidates.map(({ i }) => [i, unit(i)]));
  return SEEDS.filter((seed) => table.index.has(seed)).map((seed) => {
    const s = unit(table.index.get(seed) as number);
    const scored = candidates.map(({ word, i }) => ({
      word,
      score: (units.get(i) as number[]).reduce((sum, x, d) => sum + x * (s[d] as number), 0),
    }));
    scored.sort((a, b) => b.score - a.score);
    return [seed, ...scored.filter((item) => item.word !== seed).map((item) => item.word)].slice(0, TOPIC_WORDS);
  });
}

export function corpus(table: WordTable): Corpus {
  const words: string[] = [];
  for (const [word, i] of table.index) words[i] = word;
  const vocabularies = topics(table, words);
  const filler = words.slice(SHAPE.fillerFrom, SHAPE.fillerTo).filter((word) => /^[a-z]+$/.test(word));
  const random = seededRandom(42);
  // Index u^skew * limit: skew 1 is uniform, higher favours the list's first (nearest, most frequent) words.
  const pick = (list: string[], limit = list.length, skew = 1) =>
    list[Math.floor(Math.min(limit, list.length) * (random(1_000_000) / 1_000_000) ** skew)] as string;
  const entries: Corpus['entries'] = [];
  const chunks: Corpus['chunks'] = [];
  for (let n = 0; chunks.length < CHUNKS; n++) {
    const main = vocabularies[n % vocabularies.length] as string[];
    const second = vocabularies[random(vocabularies.length)] as string[];
    entries.push({ id: randomUUID(), title: `${main[0]} notes ${n}` });
    for (let position = 0; position < CHUNKS_PER_ENTRY && chunks.length < CHUNKS; position++) {
      const sentences: string[] = [];
      for (let s = 0, count = 4 + random(5); s < count; s++) {
        const sentence = Array.from({ length: 8 + random(7) }, () => {
          const roll = random(10);
          if (roll < SHAPE.topicShare) return pick(main, SHAPE.corpusTopicWords, SHAPE.topicSkew);
          if (roll < SHAPE.topicShare + SHAPE.secondShare) return pick(second, SHAPE.corpusTopicWords, SHAPE.topicSkew);
          return pick(filler, filler.length, SHAPE.fillerSkew);
        }).join(' ');
        sentences.push(`${sentence[0]?.toUpperCase()}${sentence.slice(1)}.`);
      }
      chunks.push({ id: randomUUID(), entry: entries.length - 1, position, text: sentences.join(' ') });
    }
  }
  // Two queries in three use words the corpus has (text search can match all of them); the third
  // draws from the whole topic, so some of its words never occur and only vectors can help.
  const queries = Array.from({ length: QUERIES }, (_, i) => {
    const topic = vocabularies[random(vocabularies.length)] as string[];
    return Array.from({ length: 2 + random(3) }, () =>
      pick(topic, i % 3 === 2 ? TOPIC_WORDS : SHAPE.corpusTopicWords, SHAPE.topicSkew),
    ).join(' ');
  });
  return { entries, chunks, queries };
}
