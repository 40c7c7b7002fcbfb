// Builds a model prompt's context from ranked chunks: in rank order, near-duplicates
// dropped, never longer than the limit, a chunk cut only where a sentence or line ends.
import { NearDuplicateFilter, prefixAtBoundary } from './text.ts';

export interface ContextCandidate {
  chunkId: string;
  entryId: string;
  title: string;
  position: number;
  text: string;
}

export interface Citation {
  entry_id: string;
  title: string;
  chunk_id: string;
  position: number;
  /** The chunk's text as it appears in the context (possibly cut at a boundary). */
  chunk: string;
  /** Where it sits in `context`: context.slice(start, end) === chunk. */
  start: number;
  end: number;
}

export interface BuiltContext {
  context: string;
  citations: Citation[];
  /** True when a chunk was cut or left out for lack of room. */
  truncated: boolean;
}

const SEPARATOR = '\n\n';

export function buildContext(candidates: ContextCandidate[], maxLength: number): BuiltContext {
  const duplicates = new NearDuplicateFilter();
  const seen = new Set<string>();
  const citations: Citation[] = [];
  let context = '';
  let truncated = false;
  for (const candidate of candidates) {
    if (seen.has(candidate.chunkId)) continue;
    seen.add(candidate.chunkId);
    if (!duplicates.keep(candidate.text)) continue;
    const separator = context ? SEPARATOR : '';
    const room = maxLength - context.length - separator.length;
    if (room <= 0) {
      truncated = true;
      break;
    }
    const piece = prefixAtBoundary(candidate.text.trim(), room);
    if (piece.length < candidate.text.trim().length) truncated = true;
    // Not even its first sentence fits: a later, shorter chunk still may.
    if (!piece) continue;
    const start = context.length + separator.length;
    context += separator + piece;
    citations.push({
      entry_id: candidate.entryId,
      title: candidate.title,
      chunk_id: candidate.chunkId,
      position: candidate.position,
      chunk: piece,
      start,
      end: start + piece.length,
    });
  }
  return { context, citations, truncated };
}
