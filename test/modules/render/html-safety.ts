// Parses rendered HTML with a real HTML parser (htmlparser2, the one sanitize-html uses) and
// lists whatever could run script: forbidden elements, on* attributes, script-capable URLs.
import { parseDocument } from 'htmlparser2';

type Node = { type: string; name?: string; attribs?: Record<string, string>; children?: Node[] };

const FORBIDDEN_ELEMENTS = new Set(['script', 'iframe', 'object', 'embed', 'style', 'form', 'svg', 'math', 'base', 'link', 'meta']);
const URL_ATTRIBUTES = new Set(['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'background', 'poster', 'srcset']);
// Browsers ignore ASCII whitespace and control characters inside a scheme ("java\tscript:").
const DANGEROUS_URL = /^(?:javascript|vbscript|data|livescript):/i;

/** What in `html` could run script; empty when the HTML is safe. */
export function unsafeParts(html: string): string[] {
  const found: string[] = [];
  const visit = (node: Node) => {
    if (node.type === 'tag' || node.type === 'script' || node.type === 'style') {
      const name = (node.name ?? '').toLowerCase();
      if (FORBIDDEN_ELEMENTS.has(name)) found.push(`<${name}> element`);
      for (const [attribute, value] of Object.entries(node.attribs ?? {})) {
        const lower = attribute.toLowerCase();
        if (lower.startsWith('on')) found.push(`${lower} attribute on <${name}>`);
        if (lower === 'style') found.push(`style attribute on <${name}>`);
        const url = [...value].filter((ch) => ch.charCodeAt(0) > 0x20).join('');
        if (URL_ATTRIBUTES.has(lower) && DANGEROUS_URL.test(url)) found.push(`${lower}="${value}" on <${name}>`);
      }
    }
    for (const child of node.children ?? []) visit(child);
  };
  visit(parseDocument(html, { decodeEntities: true }) as unknown as Node);
  return found;
}
