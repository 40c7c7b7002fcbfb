// The local embedder's tokenizer: a text as the lower-case words its word table can know,
// with identifiers (`parseHttpHeader`, `max_retry_count`, `HTTPServer`) split into theirs.

/** A run of letters (with their combining marks): `_`, digits, punctuation and spaces all separate words. */
const LETTER_RUN = /[\p{L}\p{M}]+/gu;
/** Inside a run: an acronym before a capitalised word (`HTTP` of `HTTPServer`), a word, or an acronym. */
const CASE_PART = /\p{Lu}+(?=\p{Lu}\p{Ll})|\p{Lu}?[\p{Ll}\p{M}]+|\p{Lu}[\p{Lu}\p{M}]*|[\p{L}\p{M}]+/gu;
/** Any change from lower to upper case inside a run: the run is an identifier (or a name like `iPhone`). */
const MIXED_CASE = /\p{Ll}\p{Lu}|\p{Lu}\p{Lu}\p{Ll}/u;

/**
 * The words of a text, in order. A mixed-case run is kept whole when the table knows it
 * (`JavaScript`, `PostgreSQL`, `WiFi`), else split at its case changes; the package's
 * vocabulary is lower-case, and has no digits-only words, so digits only separate.
 */
export function tokenize(text: string, known: (word: string) => boolean): string[] {
  const words: string[] = [];
  for (const [run] of text.normalize('NFC').matchAll(LETTER_RUN)) {
    const whole = run.toLowerCase();
    if (!MIXED_CASE.test(run) || known(whole)) {
      words.push(whole);
      continue;
    }
    for (const [part] of run.matchAll(CASE_PART)) words.push(part.toLowerCase());
  }
  return words;
}
