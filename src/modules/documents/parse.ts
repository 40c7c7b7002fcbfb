// What the parse job learns from a document: language (by extension), line count,
// and the top-level symbols of TypeScript/JavaScript, Python and Go (regex level).
import { extname } from 'node:path';

const LANGUAGES: Record<string, string> = {
  '.ts': 'typescript',
  '.tsx': 'typescript',
  '.mts': 'typescript',
  '.cts': 'typescript',
  '.js': 'javascript',
  '.jsx': 'javascript',
  '.mjs': 'javascript',
  '.cjs': 'javascript',
  '.py': 'python',
  '.go': 'go',
  '.rs': 'rust',
  '.java': 'java',
  '.rb': 'ruby',
  '.c': 'c',
  '.h': 'c',
  '.cpp': 'cpp',
  '.md': 'markdown',
  '.json': 'json',
  '.yaml': 'yaml',
  '.yml': 'yaml',
  '.sql': 'sql',
  '.sh': 'shell',
};

// Each pattern is anchored at column 0: only top-level declarations count.
const SYMBOL_PATTERNS: Record<string, RegExp[]> = {
  typescript: [
    /^(?:export\s+)?(?:default\s+)?(?:async\s+)?function\*?\s+([A-Za-z_$][\w$]*)/gm,
    /^(?:export\s+)?(?:default\s+)?(?:abstract\s+)?class\s+([A-Za-z_$][\w$]*)/gm,
    /^(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)/gm,
    /^(?:export\s+)?(?:interface|type|enum)\s+([A-Za-z_$][\w$]*)/gm,
  ],
  python: [/^(?:async\s+)?def\s+([A-Za-z_]\w*)/gm, /^class\s+([A-Za-z_]\w*)/gm, /^([A-Za-z_]\w*)\s*(?::[^=\n]+)?=(?!=)/gm],
  go: [/^func\s+(?:\([^)]*\)\s*)?([A-Za-z_]\w*)/gm, /^type\s+([A-Za-z_]\w*)/gm, /^(?:var|const)\s+([A-Za-z_]\w*)/gm],
};
SYMBOL_PATTERNS.javascript = (SYMBOL_PATTERNS.typescript as RegExp[]).filter((pattern) => !pattern.source.includes('interface'));

export interface ParsedDocument {
  language: string | null;
  lineCount: number;
  symbols: string[];
}

export function detectLanguage(path: string): string | null {
  return LANGUAGES[extname(path).toLowerCase()] ?? null;
}

export class NotTextError extends Error {}

export function parseDocument(path: string, content: Buffer): ParsedDocument {
  // NUL bytes mean binary; we index text only.
  if (content.includes(0)) throw new NotTextError('content is binary (contains NUL bytes)');
  const text = new TextDecoder('utf-8', { fatal: false }).decode(content);
  const language = detectLanguage(path);
  const lineCount = text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  const symbols = new Set<string>();
  for (const pattern of (language && SYMBOL_PATTERNS[language]) || []) {
    for (const match of text.matchAll(pattern)) if (match[1]) symbols.add(match[1]);
  }
  return { language, lineCount, symbols: [...symbols].slice(0, 1000) };
}
