// Fuzzes every operation of the OpenAPI document: hostile path params, query params and
// JSON body fields (one at a time or several, beside plausible values), sent as an admin
// with real ids some of the time so handlers and SQL run, not just the guard; then hostile
// multipart and archive bodies. Any 4xx in the envelope is fine; a 5xx is a finding.
// FUZZ_SEED=<seed> replays a run (each failure prints its seed).
import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { bearer, GOOD_PASSWORD, login, registerAndLogin, type SignedIn, uniqueEmail } from '../helpers/accounts.ts';
import { CLASS_SAMPLES, type Hostile, hostile, text } from '../helpers/hostile-values.ts';
import { shapes } from '../helpers/shapes.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

// Per operation: a sweep (each class once in each field) first, then this many random requests.
// `npm run scan` raises it (SCAN_FUZZ_RUNS) to replay the hostile values at ten times the volume.
const RANDOM_RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const FUZZ_SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;

const ENV = {
  LOG_LEVEL: 'warn',
  API_RATE_LIMIT_PER_MINUTE: '1000000',
  LOGIN_FAILURES_PER_ACCOUNT_IP: '1000',
  LOGIN_FAILURES_PER_IP_PER_HOUR: '100000',
  // A busy shared machine must not read as a finding: load shedding and budgets have their own tests.
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
  TIME_BUDGET_READ_MS: '600000',
  TIME_BUDGET_WRITE_MS: '600000',
  TIME_BUDGET_SEARCH_MS: '600000',
  // Small, so multipart fuzzing reaches the file, field and part limits.
  MAX_UPLOAD_FILES: '3',
};

interface JsonSchema {
  type?: string;
  format?: string;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  minimum?: number;
  minLength?: number;
  default?: unknown;
}

interface Operation {
  method: string;
  path: string;
  pathParams: string[];
  query: { name: string; schema: JsonSchema }[];
  bodyFields: { name: string; schema: JsonSchema }[];
  /** The body's media type, or undefined for operations without a body. */
  contentType?: string;
}

type FieldPlan = { kind: 'plausible' } | { kind: 'omit' } | { kind: 'uuid'; value: string } | { kind: 'hostile'; value: Hostile };

// Mostly plausible, so a run often carries one or two attacks the rest of the request lets through to the handler.
const plausibleOrHostile = (omit: boolean): fc.Arbitrary<FieldPlan> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant<FieldPlan>({ kind: 'plausible' }) },
    { weight: 3, arbitrary: hostile.map<FieldPlan>((value) => ({ kind: 'hostile', value })) },
    { weight: omit ? 1 : 0, arbitrary: fc.constant<FieldPlan>({ kind: 'omit' }) },
    { weight: omit ? 0 : 1, arbitrary: fc.uuid().map<FieldPlan>((value) => ({ kind: 'uuid', value })) },
  );

interface RequestPlan {
  path: FieldPlan[];
  query: FieldPlan[];
  body: FieldPlan[];
  extra?: Hostile;
  whole?: Hostile;
}

/** Each class of hostile value in each field in turn, every other field plausible; then each as the whole body. */
function sweep(operation: Operation): [RequestPlan][] {
  const plausibleAll = (count: number): FieldPlan[] => Array.from({ length: count }, () => ({ kind: 'plausible' }));
  const base = (): RequestPlan => ({
    path: plausibleAll(operation.pathParams.length),
    query: plausibleAll(operation.query.length),
    body: plausibleAll(operation.bodyFields.length),
  });
  const plans: RequestPlan[] = [];
  for (const value of CLASS_SAMPLES) {
    for (const part of ['path', 'query', 'body'] as const) {
      for (let i = 0; i < base()[part].length; i += 1) {
        const plan = base();
        plan[part][i] = { kind: 'hostile', value };
        plans.push(plan);
      }
    }
    if (operation.contentType === 'application/json') plans.push({ ...base(), whole: value });
  }
  return plans.map((plan) => [plan]);
}

/** One run in `oneIn` gets a value, the others none. */
const sometimes = <T>(arbitrary: fc.Arbitrary<T>, oneIn: number) =>
  fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });

function operationsOf(document: { paths: Record<string, Record<string, Record<string, unknown>>> }): Operation[] {
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => {
      const parameters = (operation.parameters ?? []) as { in: string; name: string; schema: JsonSchema }[];
      const content = (operation.requestBody as { content?: Record<string, { schema: JsonSchema }> } | undefined)?.content ?? {};
      const contentType = content['application/json'] ? 'application/json' : Object.keys(content)[0];
      const properties = content['application/json']?.schema.properties ?? {};
      return {
        method: method.toUpperCase(),
        path,
        pathParams: parameters.filter((p) => p.in === 'path').map((p) => p.name),
        query: parameters.filter((p) => p.in === 'query').map(({ name, schema }) => ({ name, schema })),
        bodyFields: Object.entries(properties).map(([name, schema]) => ({ name, schema })),
        contentType,
      };
    }),
  );
}

describe.each(shapes)('route fuzzing (%s shape)', (shape) => {
  let t: TestApp;
  let admin: SignedIn;
  // Session-ending auth operations run as this user, so the admin session survives them.
  let victim: SignedIn & { sessionId: string };
  let operations: Operation[];
  const ids: Record<string, string> = {};
  const cursors: Record<string, string> = {};
  let unique = 0;

  const signInVictim = async (account: SignedIn) => {
    const sessions = await t.app.inject({ url: '/api/v1/auth/sessions', headers: bearer(account.token) });
    const current = sessions.json().sessions.find((session: { current: boolean }) => session.current);
    victim = { ...account, sessionId: current.id };
    ids.sessions = current.id;
  };

  beforeAll(async () => {
    // No job handlers: this file checks what the HTTP edge answers; what the jobs make of
    // hostile uploads and archives belongs to the documents and import tests.
    t = await startTestApp(shape, { env: ENV, worker: false });
    admin = await registerAndLogin(t.app, { email: uniqueEmail('admin') });
    await t.platform.db.query("update users set role = 'admin' where id = $1", [admin.userId]);
    await signInVictim(await registerAndLogin(t.app, { email: uniqueEmail('victim') }));
    ids.users = (await registerAndLogin(t.app, { email: uniqueEmail('target') })).userId;
    const headers = bearer(admin.token);
    const project = await t.app.inject({ method: 'POST', url: '/api/v1/projects', payload: { name: 'fuzz' }, headers });
    ids.projects = project.json().project.id;
    for (const path of ['fuzz/a.ts', 'fuzz/b.ts']) {
      const upload = await t.app.inject({
        method: 'POST',
        url: `/api/v1/projects/${ids.projects}/documents`,
        payload: { path, content: `export const ${path.at(-4)} = 1;\n` },
        headers,
      });
      ids.documents = upload.json().document.id;
    }
    const imported = await t.app.inject({
      method: 'POST',
      url: `/api/v1/projects/${ids.projects}/import`,
      payload: Buffer.from('not really a zip'),
      headers: { ...headers, 'content-type': 'application/zip' },
    });
    ids.job_id = imported.json().job.id;
    const jobs = (await t.app.inject({ url: '/api/v1/admin/jobs?limit=1', headers })).json();
    ids.jobs = jobs.jobs[0].id;
    cursors['/api/v1/admin/jobs'] = jobs.next_cursor;
    cursors['/api/v1/admin/users'] = (await t.app.inject({ url: '/api/v1/admin/users?limit=1', headers })).json().next_cursor;
    const listing = await t.app.inject({ url: `/api/v1/projects/${ids.projects}/documents?limit=1`, headers });
    cursors['/api/v1/projects/{id}/documents'] = listing.json().next_cursor;
    operations = operationsOf(t.app.swagger() as unknown as Parameters<typeof operationsOf>[0]);
  });
  afterAll(() => t.close());

  /** A value a client could well send, so the other fields' attacks reach the handler. */
  function plausible(operation: Operation, name: string, schema: JsonSchema): unknown {
    if (schema.default !== undefined) return schema.default;
    if (schema.enum) return schema.enum[0];
    if (schema.anyOf?.[0]) return plausible(operation, name, schema.anyOf[0]);
    if (schema.type === 'integer' || schema.type === 'number') return schema.minimum ?? 1;
    if (schema.type === 'boolean') return true;
    if (name === 'cursor') return cursors[operation.path];
    if (/email/.test(name)) return operation.path.endsWith('/login') ? victim.email : uniqueEmail('fuzz');
    if (/password/.test(name)) return operation.path.endsWith('/password') && name === 'current_password' ? victim.password : GOOD_PASSWORD;
    if (name === 'path') {
      unique += 1;
      return `fuzz/plausible-${unique}.ts`;
    }
    return 'fuzz'.padEnd(schema.minLength ?? 1, 'z');
  }

  /** The real id a path parameter names: by its own name, else by the collection before it. */
  function realId(operation: Operation, param: string): string | undefined {
    const segments = operation.path.split('/');
    const collection = segments[segments.indexOf(`{${param}}`) - 1] ?? '';
    return ids[param] ?? ids[collection];
  }

  function requestFor(operation: Operation, plan: RequestPlan) {
    let url = operation.path;
    operation.pathParams.forEach((param, i) => {
      const step = plan.path[i] ?? { kind: 'plausible' };
      const value =
        step.kind === 'hostile' ? step.value.url[0] : step.kind === 'uuid' ? step.value : (realId(operation, param) ?? 'missing');
      url = url.replace(`{${param}}`, value ?? '');
    });
    const query = operation.query.flatMap(({ name, schema }, i) => {
      const step = plan.query[i] ?? { kind: 'omit' };
      if (step.kind === 'hostile') return step.value.url.map((value) => `${name}=${value}`);
      const value = step.kind === 'plausible' ? plausible(operation, name, schema) : undefined;
      return value === undefined || value === null ? [] : [`${name}=${text(String(value)).url[0]}`];
    });
    if (plan.extra && operation.query.length > 0) query.push(`unexpected=${plan.extra.url[0]}`);
    if (query.length > 0) url += `?${query.join('&')}`;
    if (operation.contentType === undefined) return { url };
    if (operation.contentType !== 'application/json') return { url, contentType: operation.contentType, payload: 'PK\u0003\u0004 cut' };
    const fields = operation.bodyFields.flatMap(({ name, schema }, i) => {
      const step = plan.body[i] ?? { kind: 'plausible' };
      if (step.kind === 'omit') return [];
      const json = step.kind === 'hostile' ? step.value.json : JSON.stringify(plausible(operation, name, schema));
      return [`${JSON.stringify(name)}: ${json}`];
    });
    if (plan.extra && operation.bodyFields.length > 0) fields.push(`"unexpected": ${plan.extra.json}`);
    return { url, contentType: 'application/json', payload: plan.whole ? plan.whole.json : `{${fields.join(', ')}}` };
  }

  /** Fails with what an operator needs (the request, the answer, the logged cause) on a 5xx or an answer outside the envelope. */
  function check(method: string, url: string, payload: unknown, response: LightMyRequestResponse): void {
    if (response.statusCode < 400) return;
    let body: { error_code?: unknown } | undefined;
    try {
      body = response.json();
    } catch {
      body = undefined;
    }
    if (response.statusCode < 500 && typeof body?.error_code === 'string') return;
    const requestId = response.headers['x-request-id'];
    const logged = t.logs.find((line) => line.request_id === requestId && (line.level as number) >= 50)?.err as
      | { message?: string }
      | undefined;
    const sent = payload === undefined ? 'no body' : String(payload).slice(0, 300);
    throw new Error(
      `${method} ${url.slice(0, 300)} with ${sent} answered ${response.statusCode} ${response.body.slice(0, 300)}; logged: ${logged?.message ?? '-'}`,
    );
  }

  const send = async (method: string, url: string, headers: Record<string, string>, payload?: string | Buffer) => {
    const response = await t.app.inject({ method: method as 'GET', url, headers, ...(payload === undefined ? {} : { payload }) });
    check(method, url, payload, response);
    return response;
  };

  it(
    'answers every operation, whatever its parameters and body hold, with a 2xx or a 4xx in the envelope, never a 5xx',
    async () => {
      expect(operations.length).toBeGreaterThan(15);
      const failures: string[] = [];
      for (const operation of operations) {
        const asVictim = operation.path.startsWith('/api/v1/auth/') && operation.method !== 'GET';
        const planArbitrary = fc.record({
          path: fc.array(plausibleOrHostile(false), { minLength: operation.pathParams.length, maxLength: operation.pathParams.length }),
          query: fc.array(plausibleOrHostile(true), { minLength: operation.query.length, maxLength: operation.query.length }),
          body: fc.array(plausibleOrHostile(true), { minLength: operation.bodyFields.length, maxLength: operation.bodyFields.length }),
          extra: sometimes(hostile, 8),
          whole: sometimes(hostile, 10),
        });
        const property = fc.asyncProperty(planArbitrary, async (plan) => {
          const request = requestFor(operation, plan);
          const headers: Record<string, string> = bearer((asVictim ? victim : admin).token);
          if (request.contentType) headers['content-type'] = request.contentType;
          const response = await send(operation.method, request.url, headers, request.payload);
          const endsSession = asVictim && response.statusCode < 300 && !/\/(login|register)$/.test(operation.path);
          if (endsSession) {
            // A password change that went through changed the password the victim signs in with.
            if (operation.path.endsWith('/password')) victim.password = JSON.parse(request.payload ?? '{}').new_password;
            await signInVictim(await login(t.app, victim.email, victim.password));
          }
        });
        const examples = sweep(operation);
        const details = await fc.check(property, {
          examples,
          numRuns: examples.length + RANDOM_RUNS,
          seed: FUZZ_SEED,
          includeErrorInReport: true,
        });
        if (details.failed) failures.push(`${operation.method} ${operation.path}: ${await fc.asyncDefaultReportMessage(details)}`);
      }
      expect(failures).toEqual([]);
    },
    Math.max(240_000, RANDOM_RUNS * 2_000),
  );

  it('answers hostile multipart uploads (no or bad boundary, truncated, malformed parts, over the limits) with a 2xx or a 4xx', async () => {
    const boundary = 'fuzzB';
    const file = (name: string) => `Content-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: text/plain`;
    const hostileHeaders = fc.constantFrom(
      file('a\u0000.ts'),
      file('../../x.ts'),
      file('．．／x.ts'),
      file('x'.repeat(2000)),
      'Content-Disposition: form-data; name="path"\r\nContent-Type: application/json',
      'Content-Disposition: form-data; name="__proto__"',
      `Content-Disposition: form-data; name="file"; filename*=UTF-8''%ED%A0%80.ts`,
      'Content-Disposition form-data name file',
      'Content-Type: text/plain',
      `X-Pad: ${'a'.repeat(100_000)}`,
    );
    const part = fc.record({
      headers: fc.oneof(
        { weight: 4, arbitrary: fc.nat(1000).map((n) => file(`fuzz/multi-${n}.ts`)) },
        { weight: 1, arbitrary: fc.constant('Content-Disposition: form-data; name="path"') },
        { weight: 2, arbitrary: hostileHeaders },
      ),
      content: fc.oneof(
        fc.constantFrom('', 'export const m = 1;\n', '{"not json'),
        hostile.map((value) => JSON.parse(value.json.startsWith('"') ? value.json : '""')),
      ),
    });
    const request = fc.record({
      contentType: fc.oneof(
        { weight: 6, arbitrary: fc.constant(`multipart/form-data; boundary=${boundary}`) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            'multipart/form-data',
            'multipart/form-data; boundary=',
            'multipart/form-data; boundary="unterminated',
            `multipart/form-data; boundary=${'b'.repeat(300)}`,
            'multipart/mixed; boundary=fuzzB',
            'multipart/form-data; boundary=fuzzB; boundary=other',
          ),
        },
      ),
      // Mostly within MAX_UPLOAD_FILES (3), so some uploads go through; sometimes over every limit.
      parts: fc.oneof(
        { weight: 4, arbitrary: fc.array(part, { minLength: 1, maxLength: 3 }) },
        { weight: 1, arbitrary: fc.array(part, { minLength: 4, maxLength: 12 }) },
      ),
      unclosed: sometimes(fc.constant(true), 4),
      cutAt: sometimes(fc.nat(), 3),
    });
    const property = fc.asyncProperty(request, async ({ contentType, parts, unclosed, cutAt }) => {
      const whole =
        parts.map((p) => `--${boundary}\r\n${p.headers}\r\n\r\n${p.content}\r\n`).join('') + (unclosed ? '' : `--${boundary}--\r\n`);
      const payload = cutAt === undefined ? whole : whole.slice(0, cutAt % (whole.length + 1));
      const headers = { ...bearer(admin.token), 'content-type': contentType };
      await send('POST', `/api/v1/projects/${ids.projects}/documents`, headers, payload);
    });
    await fc.assert(property, { numRuns: 150, seed: FUZZ_SEED, includeErrorInReport: true });
  }, 120_000);

  it('answers hostile archive imports (random, truncated, mislabelled) with a 202 or a 4xx', async () => {
    const zip = new yazl.ZipFile();
    zip.addBuffer(Buffer.from('export const z = 1;\n'), 'fuzz/z.ts');
    zip.end();
    const pack = tar.pack();
    pack.entry({ name: 'fuzz/t.ts' }, 'export const t = 1;\n');
    pack.finalize();
    const tarBytes = await buffer(pack as unknown as Readable);
    const valid = [await buffer(zip.outputStream), tarBytes, gzipSync(tarBytes)];
    const archive = fc.oneof(
      fc.uint8Array({ maxLength: 2048 }).map((bytes) => Buffer.from(bytes)),
      fc.tuple(fc.constantFrom(...valid), fc.nat()).map(([bytes, cut]) => bytes.subarray(0, cut % (bytes.length + 1))),
      fc.constantFrom(...valid),
    );
    const contentType = fc.constantFrom(
      'application/zip',
      'application/x-tar',
      'application/gzip',
      'APPLICATION/ZIP; x=1',
      'application/x-zip',
    );
    const property = fc.asyncProperty(archive, contentType, async (bytes, type) => {
      const headers = { ...bearer(admin.token), 'content-type': type };
      await send('POST', `/api/v1/projects/${ids.projects}/import`, headers, bytes);
    });
    await fc.assert(property, { numRuns: 60, seed: FUZZ_SEED, includeErrorInReport: true });
  }, 120_000);
});
