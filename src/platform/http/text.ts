// The text rule every string from a client meets before it can reach SQL: no NUL
// (Postgres text cannot hold it: error 22021, a 500) and no unpaired UTF-16
// surrogate (no UTF-8 spelling exists, so drivers silently store U+FFFD instead).

export const TEXT_RULE_MESSAGE = 'must not contain NUL or unpaired surrogate characters';

export function isStorableText(value: string): boolean {
  return !value.includes('\u0000') && value.isWellFormed();
}
