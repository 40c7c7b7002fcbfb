// Argon2id hashing (on libuv's thread pool, never the event loop) and the password
// policy: 12 to 256 code points, not a common password, no composition rules.
import { randomBytes } from 'node:crypto';
import { hash, type Options, verify } from '@node-rs/argon2';
import { dictionary } from '@zxcvbn-ts/language-common';
import type { AuthConfig } from '../../config.ts';
import { AppError } from '../../platform/errors.ts';

export const PASSWORD_MIN_CODE_POINTS = 12;
export const PASSWORD_MAX_CODE_POINTS = 256;

// ~49k leaked passwords shipped with zxcvbn-ts; only the ones our length rule lets through matter.
const COMMON_PASSWORDS = new Set(
  (dictionary['passwords-common'] as string[])
    .map((word) => word.toLowerCase())
    .filter((word) => [...word].length >= PASSWORD_MIN_CODE_POINTS),
);
export const COMMON_PASSWORD_LIST_SIZE = (dictionary['passwords-common'] as string[]).length;

/** Why a password is refused, or undefined when it is acceptable. */
export function passwordProblem(password: string): string | undefined {
  const length = [...password].length;
  if (length < PASSWORD_MIN_CODE_POINTS) return `must be at least ${PASSWORD_MIN_CODE_POINTS} characters`;
  if (length > PASSWORD_MAX_CODE_POINTS) return `must be at most ${PASSWORD_MAX_CODE_POINTS} characters`;
  if (COMMON_PASSWORDS.has(password.toLowerCase())) return 'is too common; choose a less predictable password';
  return undefined;
}

export function assertAcceptablePassword(password: string, field: string): void {
  const problem = passwordProblem(password);
  if (problem) throw new AppError('VALIDATION_FAILED', `Password ${problem}`, { details: [{ path: field, message: problem }] });
}

// Algorithm.Argon2id: the package exports it as a const enum, which type stripping cannot read.
const ARGON2ID = 2;

export class PasswordHasher {
  readonly #options: Options & { memoryCost: number; timeCost: number; parallelism: number };
  /** Hash of a random secret, verified against when the email is unknown so both paths cost the same. */
  #dummyHash: Promise<string> | undefined;

  constructor(config: AuthConfig) {
    this.#options = {
      algorithm: ARGON2ID,
      memoryCost: config.argon2MemoryKib,
      timeCost: config.argon2TimeCost,
      parallelism: config.argon2Parallelism,
    };
  }

  /**
   * Makes the dummy hash (once) before the first login of any kind, so the first
   * unknown-email attempt is not slower than a known one. Not in the constructor: a
   * process that only creates accounts (`user create`) never needs it.
   */
  prepareDummy(): Promise<string> {
    this.#dummyHash ??= this.hash(randomBytes(32).toString('hex'));
    return this.#dummyHash;
  }

  hash(password: string): Promise<string> {
    return hash(password, this.#options);
  }

  async verify(storedHash: string, password: string): Promise<boolean> {
    try {
      return await verify(storedHash, password);
    } catch {
      return false; // a malformed stored hash must read as "wrong password", not a 500
    }
  }

  /** Burns the same Argon2id work as a real verification; always false. */
  async verifyDummy(password: string): Promise<false> {
    await this.verify(await this.prepareDummy(), password);
    return false;
  }

  /** True when the stored hash was made with other parameters than the configured ones. */
  needsRehash(storedHash: string): boolean {
    const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(storedHash);
    if (!match) return true;
    const [, memory, time, parallelism] = match.map(Number);
    return memory !== this.#options.memoryCost || time !== this.#options.timeCost || parallelism !== this.#options.parallelism;
  }
}
