// Email identity: the one normal form under which addresses are unique and looked up,
// the Unicode TR39 skeleton that makes look-alike addresses collide, and the refusal of
// addresses hiding invisible characters.
import { createHash } from 'node:crypto';
import unhomoglyph from 'unhomoglyph';
import { caseFold } from 'unicode-case-folding';
import { AppError } from '../../platform/errors.ts';

const MAX_EMAIL_LENGTH = 254;

// Characters that render as nothing (zero-width space/joiners, word joiner, BOM, soft
// hyphen, variation selectors, Hangul fillers, tags), reorder text (bidi controls and
// isolates) or are controls: two addresses differing only in these look identical.
// U+2800 (braille blank) looks like a space without being a default-ignorable.
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Bidi_Control}\p{Cf}\p{Cc}\u2800]/u;
const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;

/**
 * NFKC, full Unicode case folding (CaseFolding.txt: "Straße" and "STRASSE" are one
 * address, which toLowerCase misses), NFKC again because folding can leave a string that
 * is not in NFKC. Stable on its own output and on the NFC + toLowerCase form stored before
 * migration 0006, so re-normalising old rows gives what login computes from the same input.
 */
export function normaliseEmail(email: string): string {
  return caseFold(email.trim().normalize('NFKC')).normalize('NFKC');
}

/**
 * The TR39 skeleton (UTS #39 section 4: NFD, drop default-ignorables, map each character to
 * its confusables.txt prototype, NFD) as hex SHA-256: two addresses a reader cannot tell
 * apart have the same one. The prototype table is unhomoglyph's copy of confusables.txt.
 * Hashed because a skeleton can be 21 times the address's size in bytes (a Hangul syllable
 * decomposes into jamo with multi-character prototypes), over the 2704 bytes a btree entry
 * holds unless Postgres manages to compress it.
 */
export function emailSkeletonHash(normalisedEmail: string): string {
  const skeleton = unhomoglyph(normalisedEmail.normalize('NFD').replace(DEFAULT_IGNORABLE, '')).normalize('NFD');
  return createHash('sha256').update(skeleton, 'utf8').digest('hex');
}

function invalidEmail(message: string): AppError {
  return new AppError('VALIDATION_FAILED', `Email ${message}`, { details: [{ path: 'body.email', message }] });
}

/** The stored form and skeleton hash of an address being registered; 400 for one no person could read back. */
export function registrableEmail(email: string): { email: string; skeletonHash: string } {
  if (INVISIBLE.test(email)) throw invalidEmail('contains invisible or formatting characters');
  const normalised = normaliseEmail(email);
  // NFKC can turn a fullwidth ＠ into a second @, or expand a character into many.
  if (!/^[^\s@]+@[^\s@]+$/u.test(normalised) || normalised.length > MAX_EMAIL_LENGTH) {
    throw invalidEmail('is not a valid address once normalised');
  }
  return { email: normalised, skeletonHash: emailSkeletonHash(normalised) };
}
