// How errors are written to the log. A database error is logged without its statement's
// parameters or the server's detail text: Drizzle puts every parameter of a failed query
// (a new Argon2id hash, an email) into its error's message, and Postgres' `detail` quotes
// the offending values ("Key (email)=(...)"). The SQLSTATE code, constraint, table and
// column say what went wrong without them.
import pino from 'pino';

interface DriverErrorFields {
  code?: unknown;
  severity?: unknown;
  constraint?: unknown;
  table?: unknown;
  column?: unknown;
  schema?: unknown;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;
const MAX_CAUSE_DEPTH = 8;

/** A failed Drizzle query: its message, stack and fields carry the statement and its parameters. */
function isQueryWrapper(error: Error): boolean {
  return error.name === 'DrizzleQueryError' || ('params' in error && 'query' in error);
}

/** An error from the Postgres protocol (pg or PGlite): a SQLSTATE code and a severity. */
function isDriverError(error: Error): boolean {
  const fields = error as DriverErrorFields;
  return typeof fields.code === 'string' && SQLSTATE.test(fields.code) && typeof fields.severity === 'string';
}

function causeChain(error: Error): Error[] {
  const chain: Error[] = [];
  for (let current: unknown = error; current instanceof Error && chain.length < MAX_CAUSE_DEPTH; current = current.cause) {
    chain.push(current);
  }
  return chain;
}

/** Stack frames only: the first line of a stack repeats the message. */
function framesOf(error: Error): string | undefined {
  return error.stack
    ?.split('\n')
    .filter((line) => line.trimStart().startsWith('at '))
    .join('\n');
}

export function serializeError(value: unknown): unknown {
  if (!(value instanceof Error)) return pino.stdSerializers.err(value as Error);
  const chain = causeChain(value);
  if (!chain.some((error) => isQueryWrapper(error) || isDriverError(error))) return pino.stdSerializers.err(value);
  const driver = chain.find(isDriverError) as (Error & DriverErrorFields) | undefined;
  // Without a server error (the connection failed) the socket's code (ECONNREFUSED...) tells.
  const coded = driver ?? chain.find((error) => typeof (error as DriverErrorFields).code === 'string');
  const code = (coded as DriverErrorFields | undefined)?.code as string | undefined;
  const described = [
    code && (SQLSTATE.test(code) ? `SQLSTATE ${code}` : code),
    typeof driver?.constraint === 'string' && `constraint ${driver.constraint}`,
  ]
    .filter(Boolean)
    .join(', ');
  return {
    type: value.name,
    message: `database error${described ? ` (${described})` : ''}; parameters and detail are not logged`,
    code,
    constraint: driver?.constraint,
    table: driver?.table,
    column: driver?.column,
    schema: driver?.schema,
    stack: framesOf(value),
  };
}
