// The context builder: never longer than asked, chunks in rank order, cut only where a
// sentence or line ends, near-duplicates dropped, citations pointing at the text used.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildContext, type ContextCandidate } from '../../../src/modules/knowledge/context.ts';
import { parseHighlights } from '../../../src/modules/knowledge/search.ts';

const candidate = (i: number, text: string): ContextCandidate => ({
  chunkId: `c${i}`,
  entryId: `e${i % 3}`,
  title: `Entry ${i % 3}`,
  position: i,
  text,
});

const sentences = fc
  .array(fc.stringMatching(/^[A-Z][a-z]{2,9}( [a-z]{2,9}){2,12}[.!?]$/), { minLength: 1, maxLength: 12 })
  .chain((parts) => fc.constantFrom(parts.join(' '), parts.join('\n')));

describe('buildContext', () => {
  it('never exceeds max_context_length, and every citation is the text at its offsets (property)', () => {
    fc.assert(
      fc.property(fc.array(sentences, { maxLength: 15 }), fc.integer({ min: 1, max: 4_000 }), (texts, maxLength) => {
        const candidates = texts.map((text, i) => candidate(i, text));
        const built = buildContext(candidates, maxLength);
        expect(built.context.length).toBeLessThanOrEqual(maxLength);
        let previousRank = -1;
        for (const citation of built.citations) {
          expect(built.context.slice(citation.start, citation.end)).toBe(citation.chunk);
          const source = candidates.find((item) => item.chunkId === citation.chunk_id);
          expect(source).toBeDefined();
          // A prefix of its chunk that ends a sentence or a line (or the whole chunk).
          expect(source?.text.startsWith(citation.chunk)).toBe(true);
          if (citation.chunk !== source?.text) expect(citation.chunk).toMatch(/[.!?]$/);
          // Rank order kept.
          expect(citation.position).toBeGreaterThan(previousRank);
          previousRank = citation.position;
        }
        const used = built.citations.reduce((sum, citation) => sum + citation.chunk.length, 0);
        if (used < texts.reduce((sum, text) => sum + text.length, 0))
          expect(built.truncated || built.citations.length < texts.length).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps whole chunks when they fit and says truncated when one is cut', () => {
    const first = 'Cars need oil changes. Tyres wear out.';
    const second = 'Brakes squeal when worn. Replace the pads. Check the discs too.';
    const whole = buildContext([candidate(0, first), candidate(1, second)], 1_000);
    expect(whole.context).toBe(`${first}\n\n${second}`);
    expect(whole.truncated).toBe(false);
    const cut = buildContext([candidate(0, first), candidate(1, second)], first.length + 2 + 30);
    expect(cut.context).toBe(`${first}\n\nBrakes squeal when worn.`);
    expect(cut.truncated).toBe(true);
    expect(cut.citations.map((citation) => citation.chunk)).toEqual([first, 'Brakes squeal when worn.']);
  });

  it('drops repeated and near-duplicate chunks', () => {
    const text = 'The retry policy doubles the delay after each failure, up to five minutes, and gives up after eight attempts.';
    const near = `${text} See also.`;
    const built = buildContext(
      [candidate(0, text), { ...candidate(0, text) }, candidate(1, near), candidate(2, 'Something else entirely, about cooking pasta.')],
      1_000,
    );
    expect(built.citations.map((citation) => citation.chunk_id)).toEqual(['c0', 'c2']);
  });
});

// Fusion itself runs in SQL (repo.ts hybridRanking): knowledge-api.test.ts checks its ranks and scores.
describe('snippets', () => {
  it('turns ts_headline markers into plain text and ranges', () => {
    const snippet = parseHighlights('fix the \uE000car\uE001 brakes and the \uE000cars\uE001');
    expect(snippet.text).toBe('fix the car brakes and the cars');
    expect(snippet.highlights.map(([start, end]) => snippet.text.slice(start, end))).toEqual(['car', 'cars']);
  });
});
