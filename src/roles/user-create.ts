// `rampart user create`: bootstrap accounts (the first operator) from the command line.
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { createAccounts } from '../modules/auth/accounts.ts';
import { AppError } from '../platform/errors.ts';
import { startPlatform } from '../platform/platform.ts';

export interface CreateUserArgs {
  email: string | undefined;
  password: string | undefined;
  name: string | undefined;
  admin: boolean;
}

class UsageError extends Error {
  readonly exitMessage = true;
}

export async function createUser(config: Config, logger: Logger, args: CreateUserArgs): Promise<void> {
  if (!args.email) throw new UsageError('user create: --email is required');
  if (!args.password) throw new UsageError('user create: --password is required');
  // One row to insert: no Redis, no job queue started, no session or rate-limit machinery.
  const platform = await startPlatform(config, logger, { redis: false });
  try {
    const user = await createAccounts(platform.db, config.auth, logger).create({
      email: args.email,
      password: args.password,
      displayName: args.name ?? args.email.split('@')[0] ?? args.email,
      role: args.admin ? 'admin' : 'user',
    });
    logger.info({ event: 'auth.user_created', user_id: user.id, role: user.role }, 'user created');
    console.log(`created ${user.role} ${user.email} (${user.id})`);
  } catch (error) {
    if (error instanceof AppError) throw new UsageError(`user create: ${error.message}`);
    throw error;
  } finally {
    await platform.stop();
  }
}
