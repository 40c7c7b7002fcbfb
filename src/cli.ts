// Entry point: parses the command line, loads config, and starts exactly one role.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.ts';
import { DataDirLockedError } from './platform/db/lock.ts';
import { serializeError } from './platform/observability/error-serializer.ts';
import { createLogger } from './platform/observability/logger.ts';

interface Command {
  usage: string;
  summary: string;
  options?: Record<string, { type: 'string' | 'boolean'; description: string }>;
  run(values: Record<string, string | boolean | undefined>): Promise<void>;
}

async function withConfig() {
  const config = loadConfig();
  return { config, logger: createLogger(config.logLevel) };
}

const COMMANDS: Record<string, Command> = {
  serve: {
    usage: 'rampart serve',
    summary: 'Run the HTTP API (and, in the embedded shape, every other role in-process).',
    async run() {
      const { config, logger } = await withConfig();
      await (await import('./roles/serve.ts')).serve(config, logger);
    },
  },
  worker: {
    usage: 'rampart worker',
    summary: 'Run background jobs (scale shape).',
    async run() {
      const { config, logger } = await withConfig();
      await (await import('./roles/worker.ts')).worker(config, logger);
    },
  },
  render: {
    usage: 'rampart render',
    summary: 'Run the internal render service (RENDER_PORT, RENDER_TOKEN) that API processes with RENDER_URL call.',
    async run() {
      const { config, logger } = await withConfig();
      await (await import('./roles/render.ts')).render(config, logger);
    },
  },
  migrate: {
    usage: 'rampart migrate',
    summary: 'Apply pending database migrations and exit.',
    async run() {
      const { config, logger } = await withConfig();
      await (await import('./roles/migrate.ts')).migrate(config, logger);
    },
  },
  health: {
    usage: 'rampart health [--role serve|worker|render]',
    summary: "Probe this container's role on its own /health/live (the image's HEALTHCHECK); exit 0 when live.",
    options: { role: { type: 'string', description: 'the role to probe (default: read from the running process)' } },
    async run(values) {
      const { config } = await withConfig();
      const { probe } = await import('./roles/health-probe.ts');
      const role = values.role as string | undefined;
      if (role !== undefined && !['serve', 'worker', 'render', 'migrate'].includes(role)) {
        throw Object.assign(new Error(`rampart health: --role must be serve, worker, render or migrate (got "${role}")`), {
          exitMessage: true,
        });
      }
      await probe(config, role as Parameters<typeof probe>[1]);
    },
  },
  'user create': {
    usage: 'rampart user create --email EMAIL --password PASSWORD [--name NAME] [--admin]',
    summary: 'Create an account (use --admin to bootstrap an operator).',
    options: {
      email: { type: 'string', description: 'email address of the account' },
      password: { type: 'string', description: 'password (12 to 256 characters); or set RAMPART_PASSWORD' },
      name: { type: 'string', description: 'display name (default: the part of the email before @)' },
      admin: { type: 'boolean', description: 'give the account the admin role' },
    },
    async run(values) {
      const { config, logger } = await withConfig();
      await (await import('./roles/user-create.ts')).createUser(config, logger, {
        email: values.email as string | undefined,
        password: values.password as string | undefined,
        name: values.name as string | undefined,
        admin: values.admin === true,
      });
    },
  },
};

function helpFor(name: string, command: Command): string {
  const lines = [`Usage: ${command.usage}`, '', command.summary];
  for (const [option, spec] of Object.entries(command.options ?? {})) {
    lines.push(`  --${option.padEnd(10)} ${spec.description}`);
  }
  lines.push('  --help       show this help');
  return name ? lines.join('\n') : '';
}

function generalHelp(): string {
  const lines = ['Usage: rampart <command> [options]', '', 'Commands:'];
  for (const [name, command] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(12)} ${command.summary}`);
  lines.push('', 'Run `rampart <command> --help` for the options of one command. Configuration comes from the environment (see README).');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const name = argv[0] === 'user' ? `user ${argv[1] ?? ''}`.trim() : (argv[0] ?? '');
  const rest = argv.slice(name.split(' ').length);
  if (name === '' || name === '--help' || name === '-h' || name === 'help') {
    console.log(generalHelp());
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`Unknown command "${name}".\n\n${generalHelp()}`);
    return 2;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = { help: { type: 'boolean' as const, short: 'h' }, ...(command.options ?? {}) };
    values = parseArgs({ args: rest, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    // parseArgs refuses unknown or malformed options with ERR_PARSE_ARGS_* TypeErrors.
    if (!(error instanceof TypeError && String((error as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS'))) throw error;
    console.error(`${error.message}\n\n${helpFor(name, command)}`);
    return 2;
  }
  if (values.help) {
    console.log(helpFor(name, command));
    return 0;
  }
  try {
    await command.run(values);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError || error instanceof DataDirLockedError || (error as { exitMessage?: boolean }).exitMessage) {
      console.error((error as Error).message);
    } else {
      // Through the log's error serializer: a database error's message carries its parameters.
      const described = serializeError(error) as { message?: string; stack?: string };
      console.error(`rampart: start-up failed: ${described.message}\n${described.stack ?? ''}`);
    }
    return 1;
  }
}

const exitCode = await main(process.argv.slice(2));
// serve and worker keep running after main resolves; every other command exits now.
const longRunning = ['serve', 'worker', 'render'].includes(process.argv[2] ?? '');
if (exitCode !== 0 || !longRunning) process.exit(exitCode);
