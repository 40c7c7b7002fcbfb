// The chunker on real-looking Markdown: headings become the chunks' heading paths, chunks
// stay near the target, code fences are kept whole where they fit, neighbours overlap by
// whole sentences, and no text is lost.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunkContent } from '../../../src/modules/knowledge/chunker.ts';
import { identifierWords, prefixAtBoundary } from '../../../src/modules/knowledge/text.ts';

const sentence = (i: number) => `Sentence number ${i} explains one more detail of the retry policy. `;

// Words, sentence ends, blank lines, headings, fences and very long words, in any order.
const markdownish = fc
  .array(
    fc.oneof(
      fc.stringMatching(/^[a-z]{3,12}$/),
      fc.constantFrom('. ', '! ', '\n', '\n\n', '\n# ', '\n## ', '\n```\n', ' '),
      fc.stringMatching(/^[a-z]{300,600}$/),
    ),
    { maxLength: 600 },
  )
  .map((parts) => parts.join(' '));

describe('chunkContent', () => {
  it('splits by headings and records the heading path', () => {
    const chunks = chunkContent('Intro text.\n\n# Install\n\nRun the installer.\n\n## Linux\n\nUse the package.\n\n# Usage\n\nStart it.', {
      targetChars: 500,
      overlapChars: 100,
    });
    expect(chunks.map((chunk) => [chunk.heading, chunk.text])).toEqual([
      ['', 'Intro text.'],
      ['Install', '# Install\n\nRun the installer.'],
      ['Install > Linux', '## Linux\n\nUse the package.'],
      ['Usage', '# Usage\n\nStart it.'],
    ]);
    expect(chunks.map((chunk) => chunk.position)).toEqual([0, 1, 2, 3]);
  });

  it('packs paragraphs up to the target and overlaps neighbours by whole sentences', () => {
    const paragraphs = Array.from({ length: 12 }, (_, p) =>
      Array.from({ length: 4 }, (_, s) => sentence(p * 4 + s))
        .join('')
        .trim(),
    );
    const chunks = chunkContent(paragraphs.join('\n\n'), { targetChars: 800, overlapChars: 150 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks) expect(chunk.text.length).toBeLessThanOrEqual(800);
    for (let i = 1; i < chunks.length; i++) {
      const previous = chunks[i - 1]?.text ?? '';
      const firstSentence = (chunks[i]?.text ?? '').split('. ')[0] ?? '';
      // The next chunk starts with a sentence the previous one ended with.
      expect(previous).toContain(firstSentence);
    }
    // Every sentence of the input is in some chunk.
    for (let i = 0; i < 48; i++) expect(chunks.some((chunk) => chunk.text.includes(`number ${i} `))).toBe(true);
  });

  it('keeps a code fence whole where it fits and splits one that does not by lines', () => {
    const fence = ['```ts', ...Array.from({ length: 10 }, (_, i) => `const value${i} = compute(${i});`), '```'].join('\n');
    const text = `Before the code.\n\n${fence}\n\nAfter the code.`;
    const chunks = chunkContent(text, { targetChars: fence.length + 5, overlapChars: 50 });
    expect(chunks.some((chunk) => chunk.text.includes(fence))).toBe(true);
    const longFence = ['```', ...Array.from({ length: 200 }, (_, i) => `line ${i} of a long listing`), '```'].join('\n');
    const split = chunkContent(longFence, { targetChars: 400, overlapChars: 50 });
    expect(split.length).toBeGreaterThan(5);
    for (const chunk of split) {
      expect(chunk.text.length).toBeLessThanOrEqual(400);
      // Cut between lines, never inside one.
      for (const line of chunk.text.split('\n')) expect(line).toMatch(/^(```|line \d+ of a long listing)$/);
    }
  });

  it('does not read headings inside a code fence', () => {
    const chunks = chunkContent('```sh\n# not a heading\necho hi\n```', { targetChars: 500, overlapChars: 0 });
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.heading).toBe('');
  });

  it('folds a heading with only deeper headings under it into their heading paths', () => {
    const chunks = chunkContent('# Guide\n## Setup\nDo this.', { targetChars: 500, overlapChars: 0 });
    expect(chunks.map((chunk) => [chunk.heading, chunk.text])).toEqual([['Guide > Setup', '## Setup\n\nDo this.']]);
  });

  it('never exceeds the target and loses no words, whatever the text', () => {
    fc.assert(
      fc.property(markdownish, fc.integer({ min: 200, max: 1500 }), (text, target) => {
        const chunks = chunkContent(text, { targetChars: target, overlapChars: Math.floor(target / 5) });
        for (const chunk of chunks) expect(chunk.text.length).toBeLessThanOrEqual(target);
        const words = (s: string) => new Set(s.match(/[A-Za-z0-9]{3,}/g) ?? []);
        const chunked = new Set(chunks.flatMap((chunk) => [...words(chunk.text), ...words(chunk.heading)]));
        // A word longer than a chunk is cut (anywhere); every other word survives whole.
        for (const word of words(text)) if (word.length < 100) expect(chunked.has(word), word).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe('text helpers', () => {
  it('splits identifiers into their words', () => {
    expect(identifierWords('call parseHttpHeader with max_retry_count and HTTPServer')).toBe(
      'parse http header max retry count http server',
    );
  });

  it('cuts a prefix only where a sentence or a line ends', () => {
    const text = 'First sentence here. Second one is longer than that. Third.';
    expect(prefixAtBoundary(text, 30)).toBe('First sentence here.');
    expect(prefixAtBoundary(text, 10)).toBe('');
    expect(prefixAtBoundary('line one\nline two\nline three', 20)).toBe('line one\nline two');
    expect(prefixAtBoundary(text, 1000)).toBe(text);
  });
});
