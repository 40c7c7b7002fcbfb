// Text helpers of the knowledge module: sentences (ICU's segmenter, not a regex), the
// words inside code identifiers, the longest prefix that ends at a sentence or line
// boundary, and a near-duplicate test over word shingles.

const sentenceSegmenter = new Intl.Segmenter('en', { granularity: 'sentence' });

/** Sentences with their trailing whitespace, so joining them gives the text back. */
export function splitSentences(text: string): string[] {
  return Array.from(sentenceSegmenter.segment(text), (part) => part.segment);
}

const IDENTIFIER = /[A-Za-z][A-Za-z0-9]*(?:_+[A-Za-z0-9]+)+|[a-z]+(?:[A-Z][a-z0-9]*)+|[A-Z]{2,}[a-z][A-Za-z0-9]*/g;

/** `parseHttpHeader max_retry_count` → "parse http header max retry count": code terms as words. */
export function identifierWords(text: string): string {
  const words: string[] = [];
  for (const match of text.matchAll(IDENTIFIER)) {
    words.push(
      match[0]
        .replace(/_+/g, ' ')
        .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
        .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
        .toLowerCase(),
    );
  }
  return words.join(' ');
}

/**
 * The longest prefix of `text` of at most `limit` characters that ends where a sentence or
 * a line ends; '' when even the first sentence is longer.
 */
export function prefixAtBoundary(text: string, limit: number): string {
  if (text.length <= limit) return text;
  let end = 0;
  let offset = 0;
  for (const sentence of splitSentences(text)) {
    if (offset + sentence.trimEnd().length > limit) break;
    offset += sentence.length;
    end = offset;
  }
  const lineEnd = text.lastIndexOf('\n', limit);
  return text.slice(0, Math.max(end, lineEnd > 0 ? lineEnd : 0)).trimEnd();
}

const SHINGLE = 4;

function shingles(text: string): Set<string> {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const set = new Set<string>();
  if (words.length < SHINGLE) {
    set.add(words.join(' '));
    return set;
  }
  for (let i = 0; i + SHINGLE <= words.length; i++) set.add(words.slice(i, i + SHINGLE).join(' '));
  return set;
}

/** Tells whether a text repeats (≥ 80 % of its word 4-grams) one already kept. */
export class NearDuplicateFilter {
  readonly #kept: Set<string>[] = [];

  /** True (and remembers it) when `text` is new enough to keep. */
  keep(text: string): boolean {
    const candidate = shingles(text);
    for (const kept of this.#kept) {
      let shared = 0;
      for (const shingle of candidate) if (kept.has(shingle)) shared++;
      if (shared / Math.min(candidate.size, kept.size) >= 0.8) return false;
    }
    this.#kept.push(candidate);
    return true;
  }
}
