// The renderer on its own: the XSS corpus renders to HTML with nothing that runs script,
// fenced code is highlighted with token classes and its text kept, links get their rel.
import { parseDocument } from 'htmlparser2';
import { describe, expect, it } from 'vitest';
import { isAllowlistedHighlight, knownLanguage, render } from '../../../src/modules/render/renderer.ts';
import { unsafeParts } from './html-safety.ts';
import { XSS_CORPUS } from './xss-corpus.ts';

type Node = { type: string; name?: string; data?: string; attribs?: Record<string, string>; children?: Node[] };

function textOf(node: Node): string {
  if (node.type === 'text') return node.data ?? '';
  return (node.children ?? []).map(textOf).join('');
}

function elements(html: string, name: string): Node[] {
  const found: Node[] = [];
  const visit = (node: Node) => {
    if (node.type === 'tag' && node.name === name) found.push(node);
    for (const child of node.children ?? []) visit(child);
  };
  visit(parseDocument(html) as unknown as Node);
  return found;
}

describe('renderer: hostile input', () => {
  it('has a corpus of at least 100 hostile inputs', () => {
    expect(XSS_CORPUS.length).toBeGreaterThanOrEqual(100);
    expect(new Set(XSS_CORPUS).size).toBe(XSS_CORPUS.length);
  });

  it('renders every input to HTML without script, iframe, object, embed or style, on* attributes or script URLs', () => {
    const failures = XSS_CORPUS.map((input) => ({ input, unsafe: unsafeParts(render({ kind: 'markdown', text: input })) })).filter(
      (result) => result.unsafe.length > 0,
    );
    expect(failures).toEqual([]);
  });

  it('keeps every input safe as a code document too, in a known and an unknown language', () => {
    for (const language of ['xml', 'markdown', 'cobol', null]) {
      for (const input of XSS_CORPUS) expect(unsafeParts(render({ kind: 'code', text: input, language }))).toEqual([]);
    }
  });

  it('has a checker that sees what it looks for (the test above is not vacuous)', () => {
    const found = unsafeParts('<p onclick="x"><a href="java\tscript:x">a</a><svg></svg><img src="&#100;ata:x"></p>');
    expect(found).toHaveLength(4);
  });

  it('shows raw HTML as text', () => {
    const html = render({ kind: 'markdown', text: 'a <script>alert(1)</script> b' });
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(textOf(parseDocument(html) as unknown as Node)).toContain('<script>alert(1)</script>');
  });
});

describe('renderer: links', () => {
  it('allows links; external ones get rel="nofollow noopener noreferrer", relative ones none', () => {
    const html = render({
      kind: 'markdown',
      text: '[ext](https://example.com/a) [rel](/docs/x) [anchor](#part) [mail](mailto:a@example.com) https://auto.example.com',
    });
    const links = elements(html, 'a').map((node) => node.attribs);
    expect(links).toEqual([
      { href: 'https://example.com/a', rel: 'nofollow noopener noreferrer' },
      { href: '/docs/x' },
      { href: '#part' },
      { href: 'mailto:a@example.com', rel: 'nofollow noopener noreferrer' },
      { href: 'https://auto.example.com', rel: 'nofollow noopener noreferrer' },
    ]);
  });

  it('drops a rel the author wrote and protocol-relative targets', () => {
    const html = render({ kind: 'markdown', text: '[x](//evil.example/a)' });
    for (const link of elements(html, 'a')) expect(link.attribs?.href ?? '').not.toMatch(/^\/\//);
  });
});

describe('renderer: highlighting', () => {
  const source = [
    '# Three languages',
    '',
    '```python',
    'def greet(name: str) -> str:',
    '    return f"hello {name}"  # a comment',
    '```',
    '',
    '```typescript',
    'export function add(a: number, b: number): number {',
    "  return a + b; // 'sum'",
    '}',
    '```',
    '',
    '```sql',
    "SELECT id, name FROM users WHERE name = 'x' AND id > 10;",
    '```',
  ].join('\n');
  const codes = [
    ['python', 'def greet(name: str) -> str:\n    return f"hello {name}"  # a comment\n'],
    ['typescript', "export function add(a: number, b: number): number {\n  return a + b; // 'sum'\n}\n"],
    ['sql', "SELECT id, name FROM users WHERE name = 'x' AND id > 10;\n"],
  ] as const;

  it('highlights fenced Python, TypeScript and SQL with a class per token kind and the code text intact', () => {
    const html = render({ kind: 'markdown', text: source });
    const blocks = elements(html, 'code');
    expect(blocks.map((block) => block.attribs?.class)).toEqual(codes.map(([language]) => `hljs language-${language}`));
    blocks.forEach((block, index) => {
      expect(textOf(block)).toBe(codes[index]?.[1]);
      const classes = new Set(
        (block.children ?? []).flatMap((child) => (child.type === 'tag' ? (child.attribs?.class ?? '').split(' ') : [])),
      );
      expect(classes.has('hljs-keyword')).toBe(true);
      expect(classes.size).toBeGreaterThanOrEqual(3); // keyword and at least two other token kinds
    });
    expect(html).toContain('<span class="hljs-comment"># a comment</span>');
    expect(html).toContain('<span class="hljs-title function_">add</span>');
    expect(html).not.toMatch(/style=/);
  });

  it('renders an unknown or hostile language as escaped plain code, never auto-detected', () => {
    const html = render({ kind: 'markdown', text: '```nosuchlang\nSELECT 1; <b>x</b>\n```' });
    expect(html.trim()).toBe('<pre><code class="hljs">SELECT 1; &lt;b&gt;x&lt;/b&gt;\n</code></pre>');
    expect(render({ kind: 'code', text: 'def f(): pass', language: null })).not.toContain('<span');
    expect(knownLanguage('python" onload="x')).toBeUndefined();
  });

  it('knows every listed language and the parse job names', () => {
    for (const name of [
      'typescript',
      'javascript',
      'python',
      'go',
      'rust',
      'java',
      'c',
      'cpp',
      'sql',
      'shell',
      'bash',
      'json',
      'yaml',
      'html',
      'css',
      'markdown',
    ]) {
      expect(knownLanguage(name), name).toBeDefined();
    }
    expect(knownLanguage('ruby')).toBeUndefined();
  });

  it('highlights a whole code document in its language', () => {
    const html = render({ kind: 'code', text: 'package main\n\nfunc main() {}\n', language: 'go' });
    expect(html).toMatch(/^<pre><code class="hljs language-go"><span class="hljs-keyword">package<\/span>/);
  });
});

// highlight.js's blocks skip sanitize-html when they have its own shape and rejoin the
// sanitized Markdown afterwards: these hold the result to the same allowlist.
describe('renderer: highlighted blocks within the allowlist', () => {
  // Written out from the README's allowlist, not taken from the renderer's options.
  const ALLOWED_ELEMENTS = new Set(
    'h1 h2 h3 h4 h5 h6 p br hr blockquote ul ol li strong em s code pre span a img table thead tbody tr th td'.split(' '),
  );
  const SPAN_CLASS = /^(?:hljs-[a-z0-9_-]+|[a-z0-9-]*_)$/;
  const LANGUAGES = ['xml', 'markdown', 'javascript', 'typescript', 'python', 'sql', 'css', 'bash', 'yaml', 'json', 'nosuchlang'];

  function outsideAllowlist(html: string): string[] {
    const found: string[] = [];
    const visit = (node: Node) => {
      if (node.type !== 'text' && node.type !== 'root' && node.type !== 'comment') {
        if (!node.name || !ALLOWED_ELEMENTS.has(node.name)) found.push(`<${node.name ?? node.type}>`);
        const classes = (node.attribs?.class ?? '').split(' ').filter(Boolean);
        if (node.name === 'span') found.push(...classes.filter((name) => !SPAN_CLASS.test(name)).map((name) => `span.${name}`));
        if (node.name === 'code')
          found.push(...classes.filter((name) => !/^(?:hljs|language-[a-z0-9+#_-]+)$/.test(name)).map((name) => `code.${name}`));
        if (node.name === 'span' || node.name === 'code') {
          found.push(
            ...Object.keys(node.attribs ?? {})
              .filter((name) => name !== 'class')
              .map((name) => `${node.name}[${name}]`),
          );
        }
      }
      for (const child of node.children ?? []) visit(child);
    };
    visit(parseDocument(html, { decodeEntities: true }) as unknown as Node);
    return found;
  }

  it('keeps every corpus input fenced in each language to the allowlisted elements and classes', () => {
    const failures: { language: string; input: string; outside: string[] }[] = [];
    for (const language of LANGUAGES) {
      for (const input of XSS_CORPUS) {
        // A fence longer than any backtick run in the input, so the input stays inside it.
        const fence = '`'.repeat(Math.max(3, ...[...input.matchAll(/`+/g)].map((run) => run[0].length + 1)));
        const html = render({ kind: 'markdown', text: `Before\n\n${fence}${language}\n${input}\n${fence}\n\nAfter` });
        const outside = [...outsideAllowlist(html), ...unsafeParts(html)];
        if (outside.length > 0) failures.push({ language, input, outside });
        if (!html.startsWith('<p>Before</p>') || !html.trimEnd().endsWith('<p>After</p>'))
          failures.push({ language, input, outside: ['order'] });
      }
    }
    expect(failures).toEqual([]);
  });

  it('accepts highlight.js output as it is, and no shape that could carry markup', () => {
    expect(
      isAllowlistedHighlight('<span class="hljs-keyword">def</span> f(): <span class="hljs-title function_">x</span> &lt;b&gt; &amp;'),
    ).toBe(true);
    for (const hostile of [
      '<img src=x onerror=alert(1)>',
      '<span class="hljs-keyword" onclick="x">def</span>',
      '<span class=hljs-keyword>def</span>',
      '<span class="hljs-keyword"><script>alert(1)</script></span>',
      '<span class="hljs-x" style="color:red">a</span>',
      '<span class="language-javascript">a</span>',
      '<span class="hljs-x">a</span><a href="javascript:alert(1)">b</a>',
      'a > b',
      '</code></pre><script>alert(1)</script>',
    ]) {
      expect(isAllowlistedHighlight(hostile), hostile).toBe(false);
    }
  });

  it('sends a block of another shape through sanitize-html: HTML with a script element keeps its tokens, loses the sub-language class', () => {
    const html = render({ kind: 'markdown', text: '```html\n<script>var a = "<b>";</script>\n```' });
    expect(html).not.toContain('language-javascript');
    expect(html).toContain('<span class="hljs-keyword">var</span>');
    expect(textOf(elements(html, 'code')[0] as Node)).toBe('<script>var a = "<b>";</script>\n');
  });

  it('renders fences in place inside lists and quotes, and a document cannot write a block placeholder', () => {
    const text =
      '- item\n\n  ```sql\n  SELECT 1;\n  ```\n\n> quoted\n>\n> ```python\n> pass\n> ```\n\n<pre>rampart-code-0-0</pre> rampart-code-0-0';
    const html = render({ kind: 'markdown', text });
    expect(html).toMatch(/<li>[\s\S]*<code class="hljs language-sql">[\s\S]*<\/li>/);
    expect(html).toMatch(/<blockquote>[\s\S]*<code class="hljs language-python">[\s\S]*<\/blockquote>/);
    expect(html).toContain('&lt;pre&gt;rampart-code-0-0&lt;/pre&gt; rampart-code-0-0');
    expect(elements(html, 'pre')).toHaveLength(2);
  });
});
