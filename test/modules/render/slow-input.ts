// A Markdown input that keeps a render thread busy for seconds, for tests that need a render
// still running (time limits, a worker replaced, a caller leaving meanwhile).

/** A 400 KB table: markdown-it + sanitize-html take seconds on it (measured: about 6 s). */
export const HUGE_TABLE = `|${'a|'.repeat(100)}\n|${'-|'.repeat(100)}\n${`|${'x|'.repeat(100)}\n`.repeat(2000)}`;
