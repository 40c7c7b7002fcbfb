// Hostile values for fuzzing, each spelled twice: as the raw JSON a body field carries
// and as the percent-encoded text a query or path value carries (several = the key repeated),
// so both request parts meet the same attacks.
import fc from 'fast-check';

export interface Hostile {
  json: string;
  url: string[];
}

/** Percent-encodes any string, lone surrogates included (as their WTF-8 bytes, which encodeURIComponent refuses). */
export function percentEncode(text: string): string {
  let out = '';
  for (const char of text) {
    const unit = char.charCodeAt(0);
    if (char.length === 1 && unit >= 0xd800 && unit <= 0xdfff) {
      out += [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]
        .map((byte) => `%${byte.toString(16).toUpperCase()}`)
        .join('');
    } else out += encodeURIComponent(char);
  }
  return out;
}

export const text = (value: string): Hostile => ({ json: JSON.stringify(value), url: [percentEncode(value)] });
/** A literal written as is: valid JSON or not (`Infinity` makes the whole body malformed, which is an attack too). */
const literal = (value: string): Hostile => ({ json: value, url: [encodeURIComponent(value)] });
/** A JSON structure; in a URL, an array is the key repeated and anything else its JSON text. */
const structure = (value: string): Hostile => {
  const parsed: unknown = JSON.parse(value);
  const url = Array.isArray(parsed) && parsed.length > 0 ? parsed.map((item) => percentEncode(String(item))) : [percentEncode(value)];
  return { json: value, url };
};

export const forgedCursor = (key: unknown) => Buffer.from(JSON.stringify(key)).toString('base64url');

const uuid = '00000000-0000-4000-8000-000000000000';

// By class, each drawn as often as any other, so a rare class (NUL) is not drowned by a large one.
const CLASSES: Hostile[][] = [
  ['\u0000', 'a\u0000b', 'src/\u0000.ts'].map(text),
  ['\ud800', 'a\udc00z', '\udfff\ud800', 'x\ud83d'].map(text),
  ['', ' ', '\t', '\r\nX-Injected: 1', '\u202egnp.exe', '\ufeffbom', 'e\u0301'].map(text),
  ['x'.repeat(10_000), '🔐'.repeat(300), `${'a/'.repeat(600)}b`].map(text),
  // Look-alikes: fullwidth letters and dots, Cyrillic а, two-dot leader, division slash.
  ['ａｄｍｉｎ@ｅｘａｍｐｌｅ.ｔｅｓｔ', 'аdmin@example.test', '‥/‥/etc/passwd', 'src∕index.ts', '．．／x'].map(text),
  ['%', '%zz', '%00', '%2e%2e%2f', '../../etc/passwd', '..\\..\\x', 'C:\\x', "' or 1=1 --", '__proto__', 'constructor'].map(text),
  [
    '2024-13-01 00:00:00+00',
    '0000-01-01T00:00:00Z',
    '2024-02-30T25:61:61+99:99',
    '9999999-12-31',
    uuid.replace('4000', '0000'),
    uuid.toUpperCase(),
  ].map(text),
  [
    forgedCursor(['2024-13-01 00:00:00+00', uuid]),
    forgedCursor(['0000-01-01 00:00:00+00', uuid]),
    forgedCursor(['2024-01-01 00:00:00+99', uuid]),
    forgedCursor(['2023-02-29 12:00:00.1234567+00', uuid]),
    forgedCursor(['\u0000']),
    forgedCursor(['a\ud800']),
    forgedCursor(['']),
    forgedCursor([]),
    forgedCursor([1, 2]),
    forgedCursor({ a: 1 }),
    forgedCursor(['x'.repeat(1500)]),
    '====',
  ].map(text),
  ['1e309', '-1e309', 'Infinity', '-Infinity', 'NaN', '18446744073709551616', '99999999999', '9007199254740993', '1e-400'].map(literal),
  ['-0', '0', '-1', '1.5', '0x10', '+5'].map(literal),
  ['true', 'false', 'null', '[]', '["a"]', '["a@b.c", "d@e.f"]', '[1, 2]', '{}', '{"a": 1}'].map(structure),
  ['{"__proto__": {"role": "admin"}}', '{"constructor": {"prototype": {"x": 1}}}', `${'['.repeat(40)}${']'.repeat(40)}`].map(structure),
];

/** One value of each class, for a sweep that does not leave any class to chance. */
export const CLASS_SAMPLES: Hostile[] = CLASSES.map((members) => members[0] as Hostile);

/** A hostile value: a class of the catalogue above, or arbitrary text (any code unit) or numbers. */
export const hostile: fc.Arbitrary<Hostile> = fc.oneof(
  ...CLASSES.map((members) => fc.constantFrom(...members)),
  fc.string({ unit: 'binary', maxLength: 40 }).map(text),
  fc.double().map((value) => literal(Number.isFinite(value) ? String(value) : '1e309')),
  fc.bigInt().map((value) => literal(String(value))),
);
