// The renderer itself: Markdown (markdown-it, raw HTML off) and code (highlight.js, listed
// languages only, classes not styles), checked against an explicit allowlist (sanitize-html
// for the Markdown's HTML, a stricter shape check for highlight.js's spans; see README
// "Render"). Pure and synchronous: the worker pool (pool.ts) runs it off the event loop.
import { randomBytes } from 'node:crypto';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import css from 'highlight.js/lib/languages/css';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import markdown from 'highlight.js/lib/languages/markdown';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import MarkdownIt from 'markdown-it';
import sanitizeHtml from 'sanitize-html';

/** Part of every cache key and ETag: bump it when the output of the same input changes. */
export const RENDERER_VERSION = 'r2-markdown-it14.3.3-hljs11.12.0-sanitize2.18.1';

/** What to render: a Markdown text, or a whole code document in a language (maybe unknown). */
export type RenderTask = { kind: 'markdown'; text: string } | { kind: 'code'; text: string; language: string | null };

// Registered explicitly; nothing is ever auto-detected (highlightAuto would try them all).
const LANGUAGES = { typescript, javascript, python, go, rust, java, c, cpp, sql, bash, json, yaml, xml, css, markdown };
for (const [name, definition] of Object.entries(LANGUAGES)) hljs.registerLanguage(name, definition);
// Names the parse job (documents/parse.ts) and fence writers use beside each language's own aliases.
hljs.registerAliases(['shell'], { languageName: 'bash' });
hljs.registerAliases(['html', 'svg'], { languageName: 'xml' });

/** The language highlight.js will use for a name, or undefined (rendered as plain code). */
export function knownLanguage(name: string | null | undefined): string | undefined {
  if (!name) return undefined;
  const language = name.trim().toLowerCase();
  return /^[a-z0-9+#_-]{1,32}$/.test(language) && hljs.getLanguage(language) ? language : undefined;
}

// Element text only (never an attribute value), so quotes stay as they are.
const TEXT_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };
const escapeText = (text: string) => text.replace(/[&<>]/g, (ch) => TEXT_ENTITIES[ch] as string);

// A class the allowlist below keeps on a span: highlight.js 11's scopes (`hljs-keyword`) and
// sub-scopes (`function_`, `inherited__`). Stricter than sanitize-html's globs.
const SPAN_CLASS = '(?:hljs-[a-z0-9_-]+|[a-z0-9-]+_+)';
// highlight.js's output as it is when nothing went wrong: text with no `<` or `>` (it escapes
// `& < > " '`) and its own class-only spans. Text with no `<` cannot open an element, so a
// block of this shape is within the allowlist as it stands; any other shape goes through
// sanitize-html like the rest. Linear: the alternatives differ at their first two characters.
const HIGHLIGHTED_SHAPE = new RegExp(`^(?:[^<>]|<span class="${SPAN_CLASS}(?: ${SPAN_CLASS})*">|</span>)*$`);

/** Whether highlight.js's HTML for a block holds only escaped text and allowlisted spans. */
export function isAllowlistedHighlight(html: string): boolean {
  return HIGHLIGHTED_SHAPE.test(html);
}

/** `<pre><code>` with highlight.js's token spans, or the escaped text for an unknown language. */
function codeBlock(text: string, languageName: string | null | undefined): string {
  const language = knownLanguage(languageName);
  if (language === undefined) return `<pre><code class="hljs">${escapeText(text)}</code></pre>\n`;
  const { value } = hljs.highlight(text, { language, ignoreIllegals: true });
  const block = `<pre><code class="hljs language-${language}">${value}</code></pre>\n`;
  return isAllowlistedHighlight(value) ? block : sanitizeHtml(block, SANITIZE);
}

// The code blocks of the Markdown being rendered: markdown-it gets a placeholder for each, so
// sanitize-html reads only the Markdown's own HTML (over the whole highlighted HTML it was
// about 60 % of a render, profiled on bench/render.ts's document), and the blocks go back in
// after it. A placeholder holds this thread's random prefix (never in any output) and the
// render's number, so a document cannot write one; rendering is synchronous, so one
// module-level list per thread is safe (emptied after each render).
const PLACEHOLDER_PREFIX = `rampart-code-${randomBytes(12).toString('hex')}-`;
const PLACEHOLDER = new RegExp(`<pre>${PLACEHOLDER_PREFIX}(\\d+)-(\\d+)</pre>\n?`, 'g');
let renderNumber = 0;
let pendingBlocks: string[] = [];

const md = new MarkdownIt({
  html: false, // raw HTML in the source is shown as text, never passed through
  linkify: true,
  typographer: false,
  // markdown-it uses the result as the whole block when it starts with <pre.
  highlight: (text, info) => {
    pendingBlocks.push(codeBlock(text, info.split(/\s+/)[0]));
    return `<pre>${PLACEHOLDER_PREFIX}${renderNumber}-${pendingBlocks.length - 1}</pre>\n`;
  },
});

function renderMarkdown(text: string): string {
  renderNumber = (renderNumber + 1) % Number.MAX_SAFE_INTEGER;
  try {
    const html = sanitizeHtml(md.render(text), SANITIZE);
    const blocks = pendingBlocks;
    const current = String(renderNumber);
    // A placeholder not of this render, or not as written, leaves its block out: nothing unchecked gets in.
    return html.replace(PLACEHOLDER, (_placeholder, render: string, index: string) =>
      render === current ? (blocks[Number(index)] ?? '') : '',
    );
  } finally {
    pendingBlocks = [];
  }
}

const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: [
    'h1',
    'h2',
    'h3',
    'h4',
    'h5',
    'h6',
    'p',
    'br',
    'hr',
    'blockquote',
    'ul',
    'ol',
    'li',
    'strong',
    'em',
    's',
    'code',
    'pre',
    'span',
    'a',
    'img',
    'table',
    'thead',
    'tbody',
    'tr',
    'th',
    'td',
  ],
  allowedAttributes: { a: ['href', 'title', 'rel'], img: ['src', 'alt', 'title'], ol: ['start'], code: ['class'], span: ['class'] },
  // highlight.js 11 scopes: hljs-keyword, and sub-scopes such as "hljs-title function_".
  allowedClasses: { code: ['hljs', 'language-*'], span: ['hljs-*', '*_'] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['http', 'https'] },
  allowedSchemesAppliedToAttributes: ['href', 'src', 'cite'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'escape',
  transformTags: {
    a: (tagName, attribs) => {
      const href = attribs.href ?? '';
      // Anything with a scheme or a host is external; same-page and relative links are not.
      const external = /^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('//');
      const { rel: _dropped, ...rest } = attribs;
      return { tagName, attribs: external ? { ...rest, rel: 'nofollow noopener noreferrer' } : rest };
    },
  },
};

/** The HTML of a task, within the allowlist. */
export function render(task: RenderTask): string {
  return task.kind === 'markdown' ? renderMarkdown(task.text) : codeBlock(task.text, task.language);
}
