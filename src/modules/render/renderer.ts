// The renderer itself: Markdown (markdown-it, raw HTML off) and code (highlight.js, listed
// languages only, classes not styles), then sanitize-html with an explicit allowlist.
// Pure and synchronous: the worker pool (pool.ts) runs it off the event loop.
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
export const RENDERER_VERSION = 'r1-markdown-it15.0.3-hljs11.12.0-sanitize2.18.1';

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

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** `<pre><code>` with highlight.js's token spans, or the escaped text for an unknown language. */
function codeBlock(text: string, languageName: string | null | undefined): string {
  const language = knownLanguage(languageName);
  if (language === undefined) return `<pre><code class="hljs">${escapeHtml(text)}</code></pre>\n`;
  const { value } = hljs.highlight(text, { language, ignoreIllegals: true });
  return `<pre><code class="hljs language-${language}">${value}</code></pre>\n`;
}

const md = new MarkdownIt({
  html: false, // raw HTML in the source is shown as text, never passed through
  linkify: true,
  typographer: false,
  // markdown-it uses the result as the whole block when it starts with <pre.
  highlight: (text, info) => codeBlock(text, info.split(/\s+/)[0]),
});

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

/** The sanitized HTML of a task. */
export function render(task: RenderTask): string {
  const html = task.kind === 'markdown' ? md.render(task.text) : codeBlock(task.text, task.language);
  return sanitizeHtml(html, SANITIZE);
}
