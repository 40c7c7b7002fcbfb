// `rampart user create`: bootstrap accounts from the command line.
import type { Logger } from 'pino';
import type { Config } from '../config.ts';

export interface CreateUserArgs {
  email: string | undefined;
  password: string | undefined;
  name: string | undefined;
  admin: boolean;
}

export async function createUser(_config: Config, _logger: Logger, _args: CreateUserArgs): Promise<void> {
  throw Object.assign(new Error('user create is not available yet'), { exitMessage: true });
}
