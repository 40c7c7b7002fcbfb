// Splits an entry's Markdown-ish text into chunks near a target size: by headings, then
// paragraphs, then sentences and lines; a code fence stays whole where it fits; each chunk
// after the first of a section starts with the previous one's last sentences (the overlap).
import { splitSentences } from './text.ts';

export interface Chunk {
  position: number;
  /** Headings above the chunk, outermost first, joined with " > ". */
  heading: string;
  text: string;
}

export interface ChunkOptions {
  targetChars: number;
  overlapChars: number;
}

interface Block {
  text: string;
  code: boolean;
}

interface Section {
  heading: string;
  /** Its heading's level (1-6), 0 before the first heading. */
  level: number;
  blocks: Block[];
}

const HEADING = /^(#{1,6})\s+(.+?)\s*#*\s*$/;
const FENCE = /^\s{0,3}(`{3,}|~{3,})/;

export function chunkContent(content: string, options: ChunkOptions): Chunk[] {
  const chunks: Chunk[] = [];
  for (const section of sections(content.replace(/\r\n?/g, '\n'))) {
    for (const text of packSection(section.blocks, options)) chunks.push({ position: chunks.length, heading: section.heading, text });
  }
  return chunks;
}

/** Sections by heading, each a list of paragraphs and code fences (blank lines separate paragraphs). */
function sections(content: string): Section[] {
  const result: Section[] = [];
  const headings: string[] = [];
  let current: Section = { heading: '', level: 0, blocks: [] };
  let paragraph: string[] = [];
  let fence: { marker: string; lines: string[] } | undefined;
  const endParagraph = () => {
    const text = paragraph.join('\n').trim();
    if (text) current.blocks.push({ text, code: false });
    paragraph = [];
  };
  for (const line of content.split('\n')) {
    if (fence) {
      fence.lines.push(line);
      if (line.trim().startsWith(fence.marker)) {
        current.blocks.push({ text: fence.lines.join('\n'), code: true });
        fence = undefined;
      }
      continue;
    }
    const opening = FENCE.exec(line);
    if (opening) {
      endParagraph();
      fence = { marker: opening[1] as string, lines: [line] };
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      endParagraph();
      const level = (heading[1] as string).length;
      // A heading with nothing under it but deeper headings lives on in their heading paths.
      const onlyItsHeading = current.blocks.length === 1 && current.level > 0 && level > current.level;
      if (current.blocks.length > 0 && !onlyItsHeading) result.push(current);
      headings.length = Math.min(headings.length, level - 1);
      headings.push(heading[2] as string);
      // The heading line opens its section's text too, so a context built from chunks keeps it.
      current = { heading: headings.join(' > '), level, blocks: [{ text: line.trim(), code: false }] };
      continue;
    }
    if (line.trim() === '') endParagraph();
    else paragraph.push(line);
  }
  // An unclosed fence runs to the end of the text, as Markdown reads it.
  if (fence) current.blocks.push({ text: fence.lines.join('\n'), code: true });
  endParagraph();
  if (current.blocks.length > 0) result.push(current);
  return result;
}

function packSection(blocks: Block[], options: ChunkOptions): string[] {
  const pieces = blocks.flatMap((block) => (block.text.length <= options.targetChars ? [block] : splitBlock(block, options.targetChars)));
  const chunks: string[] = [];
  let current: Block[] = [];
  let length = 0;
  for (const piece of pieces) {
    const added = piece.text.length + (current.length > 0 ? 2 : 0);
    if (current.length > 0 && length + added > options.targetChars) {
      chunks.push(current.map((block) => block.text).join('\n\n'));
      const overlap = overlapOf(current.at(-1) as Block, options.overlapChars, options.targetChars - piece.text.length - 2);
      current = overlap ? [overlap] : [];
      length = overlap ? overlap.text.length : 0;
    }
    length += piece.text.length + (current.length > 0 ? 2 : 0);
    current.push(piece);
  }
  if (current.length > 0) chunks.push(current.map((block) => block.text).join('\n\n'));
  return chunks;
}

/** The last whole sentences of a prose block, at most `limit` characters (none from code). */
function overlapOf(block: Block, overlapChars: number, room: number): Block | undefined {
  const limit = Math.min(overlapChars, room);
  if (block.code || limit <= 0) return undefined;
  const sentences = splitSentences(block.text);
  let text = '';
  for (let i = sentences.length - 1; i > 0; i--) {
    const candidate = (sentences[i] as string) + text;
    if (candidate.trim().length > limit) break;
    text = candidate;
  }
  text = text.trim();
  return text ? { text, code: false } : undefined;
}

/** A block longer than the target: code by lines, prose by sentences, then lines, then words. */
function splitBlock(block: Block, target: number): Block[] {
  const units = block.code ? block.text.split('\n').map((line) => `${line}\n`) : splitSentences(block.text);
  const pieces: Block[] = [];
  let current = '';
  for (const unit of units.flatMap((unit) => (unit.length <= target ? [unit] : splitLong(unit, target)))) {
    if (current.length + unit.length > target && current) {
      pieces.push({ text: current.trimEnd(), code: block.code });
      current = '';
    }
    current += unit;
  }
  if (current.trim()) pieces.push({ text: current.trimEnd(), code: block.code });
  return pieces;
}

/** A sentence or line longer than the target: at line breaks, then spaces, then anywhere. */
function splitLong(unit: string, target: number): string[] {
  const parts: string[] = [];
  let rest = unit;
  while (rest.length > target) {
    const window = rest.slice(0, target);
    const cut = Math.max(window.lastIndexOf('\n'), window.lastIndexOf(' '));
    const at = cut > target / 2 ? cut + 1 : target;
    parts.push(rest.slice(0, at));
    rest = rest.slice(at);
  }
  if (rest) parts.push(rest);
  return parts;
}
