// The HTTP edge in general: the error envelope, request ids, legacy paths, and the request rules every route shares.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCursor, isTimestampText, isUuid } from '../../src/platform/http/keyset.ts';
import { shapes } from '../helpers/shapes.ts';
import { startTestApp, type TestApp } from '../helpers/test-app.ts';

describe.each(shapes)('HTTP contract (%s shape)', (shape) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(shape, {
      extend(app) {
        app.get('/api/v1/test/boom', async () => {
          throw new Error('relation "secret_table" does not exist at SELECT * FROM secret_table');
        });
        app.post(
          '/api/v1/test/echo',
          {
            schema: {
              body: {
                type: 'object',
                required: ['name'],
                additionalProperties: false,
                properties: { name: { type: 'string', minLength: 1 } },
              },
            },
          },
          async (request) => request.body,
        );
        app.get(
          '/api/v1/test/page',
          {
            schema: {
              querystring: {
                type: 'object',
                additionalProperties: false,
                properties: { limit: { type: 'integer', minimum: 1, maximum: 10, default: 5 }, q: { type: 'string' } },
              },
            },
          },
          async (request) => request.query,
        );
      },
    });
  });
  afterAll(() => t.close());

  it('redirects an unversioned /api path to its /api/v1 twin, keeping the query', async () => {
    const response = await t.app.inject({ url: '/api/nothing?x=1' });
    expect(response.statusCode).toBe(301);
    expect(response.headers.location).toBe('/api/v1/nothing?x=1');
  });

  it('answers 404 in the envelope with the request id of the header', async () => {
    const response = await t.app.inject({ url: '/api/v1/nothing' });
    expect(response.statusCode).toBe(404);
    const body = response.json();
    expect(body.error_code).toBe('NOT_FOUND');
    expect(body.request_id).toBe(response.headers['x-request-id']);
  });

  it('hides the internals of a thrown error and logs the stack under the request id', async () => {
    const response = await t.app.inject({ url: '/api/v1/test/boom' });
    expect(response.statusCode).toBe(500);
    const body = response.json();
    expect(body).toEqual({ error_code: 'INTERNAL', message: 'Internal server error', request_id: response.headers['x-request-id'] });
    expect(response.body).not.toContain('secret_table');
    const line = t.logs.find((entry) => entry.request_id === body.request_id && entry.level === 50);
    expect(line).toBeDefined();
    expect((line?.err as { stack?: string } | undefined)?.stack).toContain('secret_table');
  });

  it('keeps a well-formed incoming X-Request-ID and replaces a hostile one', async () => {
    const kept = await t.app.inject({ url: '/health/live', headers: { 'x-request-id': 'edge-42.abc' } });
    expect(kept.headers['x-request-id']).toBe('edge-42.abc');
    for (const hostile of ['a'.repeat(129), 'bad id', 'x<script>', '']) {
      const replaced = await t.app.inject({ url: '/health/live', headers: { 'x-request-id': hostile } });
      expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('answers a schema failure with VALIDATION_FAILED and per-field details', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/api/v1/test/echo', payload: { name: '', extra: 1 } });
    expect(response.statusCode).toBe(400);
    const body = response.json();
    expect(body.error_code).toBe('VALIDATION_FAILED');
    expect(body.details.length).toBeGreaterThan(0);
    expect(body.details[0].path).toMatch(/^body\./);
  });

  it('refuses NUL and unpaired surrogates in any string of any request part, naming the field', async () => {
    for (const name of ['a\u0000b', 'a\ud800', '\udc00b']) {
      const response = await t.app.inject({ method: 'POST', url: '/api/v1/test/echo', payload: { name } });
      expect(response.statusCode, JSON.stringify(name)).toBe(400);
      expect(response.json()).toMatchObject({ error_code: 'VALIDATION_FAILED', details: [{ path: 'body.name' }] });
    }
    const query = await t.app.inject({ url: '/api/v1/test/page?q=a%00b' });
    expect(query.statusCode).toBe(400);
    expect(query.json()).toMatchObject({ error_code: 'VALIDATION_FAILED', details: [{ path: 'query.q' }] });
    // A well-formed pair (an emoji) is text like any other.
    const paired = await t.app.inject({ method: 'POST', url: '/api/v1/test/echo', payload: { name: 'ok \u{1F510}' } });
    expect(paired.statusCode).toBe(200);
    expect(paired.json()).toEqual({ name: 'ok \u{1F510}' });
  });

  it('never coerces a JSON body, but still reads numbers from the query string', async () => {
    for (const name of [['x'], 5, true, null]) {
      const response = await t.app.inject({ method: 'POST', url: '/api/v1/test/echo', payload: { name } });
      expect(response.statusCode, JSON.stringify(name)).toBe(400);
      expect(response.json().details).toEqual([{ path: 'body.name', message: 'must be string' }]);
    }
    expect((await t.app.inject({ url: '/api/v1/test/page?limit=7' })).json()).toEqual({ limit: 7 });
    expect((await t.app.inject({ url: '/api/v1/test/page' })).json()).toEqual({ limit: 5 });
  });

  it('refuses query numbers outside what an integer bound allows, including the non-finite ones', async () => {
    for (const limit of ['Infinity', '-Infinity', '1e309', 'NaN', '-1', '0', '1.5', '99999999999', '18446744073709551616']) {
      const response = await t.app.inject({ url: `/api/v1/test/page?limit=${limit}` });
      expect(response.statusCode, limit).toBe(400);
      expect(response.json()).toMatchObject({ error_code: 'VALIDATION_FAILED', details: [{ path: 'query.limit' }] });
    }
  });

  it('answers malformed JSON with a 400 envelope, not a 500', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/test/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"name":',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error_code).toBe('VALIDATION_FAILED');
  });

  it('publishes an OpenAPI document of the /api/v1 routes only', async () => {
    const response = await t.app.inject({ url: '/api/v1/openapi.json' });
    expect(response.statusCode).toBe(200);
    const paths = Object.keys(response.json().paths);
    expect(paths.every((path) => path.startsWith('/api/v1/'))).toBe(true);
    expect(paths).not.toContain('/health/live');
    // The request rules are part of the contract: stated once, and marked on the fields they spare.
    const { info, paths: operations } = response.json();
    expect(info.description).toContain('NUL');
    const upload = operations['/api/v1/projects/{id}/documents'].post.requestBody.content['application/json'].schema;
    expect(upload.properties.content['x-raw-text']).toBe(true);
    const docs = await t.app.inject({ url: '/api/v1/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toContain('text/html');
  });
});

describe('keyset cursors', () => {
  const cursorOf = (key: unknown) => Buffer.from(JSON.stringify(key)).toString('base64url');
  const id = '00000000-0000-4000-8000-000000000000';

  it('accepts the positions Postgres writes, offsets and microseconds included', () => {
    for (const at of [
      '2024-02-29 23:59:59.123456+00',
      '2026-07-01 08:30:00+05:30',
      '0001-01-01 00:00:00-15:59',
      '9999-12-31 23:59:59+14',
    ]) {
      expect(decodeCursor(cursorOf([at, id]), [isTimestampText, isUuid]), at).toEqual([at, id]);
    }
  });

  it('refuses instants that match the shape but not the calendar or clock, with query.cursor', () => {
    for (const at of [
      '2024-13-01 00:00:00+00',
      '2024-00-10 00:00:00+00',
      '0000-01-01 00:00:00+00',
      '2023-02-29 00:00:00+00',
      '2024-04-31 00:00:00+00',
      '2024-01-01 24:00:00+00',
      '2024-01-01 00:60:00+00',
      '2024-01-01 00:00:60+00',
      '2024-01-01 00:00:00+99',
      '2024-01-01 00:00:00+16',
      '2024-01-01 00:00:00+05:60',
    ]) {
      expect(() => decodeCursor(cursorOf([at, id]), [isTimestampText, isUuid]), at).toThrow(
        expect.objectContaining({
          code: 'VALIDATION_FAILED',
          details: [{ path: 'query.cursor', message: 'is not a cursor from this API' }],
        }),
      );
    }
  });

  it('refuses any part holding NUL or an unpaired surrogate, whatever the caller checks', () => {
    for (const part of ['a\u0000b', 'a\ud800', '\udfff']) {
      expect(() => decodeCursor(cursorOf([part]), [(path) => path.length > 0]), JSON.stringify(part)).toThrow(
        expect.objectContaining({ code: 'VALIDATION_FAILED' }),
      );
    }
  });
});

describe('request logging at LOG_LEVEL=warn', () => {
  it("writes a route's debug lines under its own logLevel and request id, and no other route's", async () => {
    const t = await startTestApp('embedded', {
      env: { LOG_LEVEL: 'warn' },
      extend(app) {
        app.get('/api/v1/test/chatty', { logLevel: 'debug' }, async (request) => {
          request.log.debug('chatty route detail');
          return {};
        });
        app.get('/api/v1/test/quiet', async (request) => {
          request.log.debug('quiet route detail');
          request.log.warn('quiet route warning');
          return {};
        });
      },
    });
    try {
      const chatty = await t.app.inject({ url: '/api/v1/test/chatty' });
      const quiet = await t.app.inject({ url: '/api/v1/test/quiet' });
      const line = t.logs.find((entry) => entry.msg === 'chatty route detail');
      expect(line).toMatchObject({ level: 20, request_id: chatty.headers['x-request-id'] });
      expect(t.logs.find((entry) => entry.msg === 'quiet route warning')).toMatchObject({ request_id: quiet.headers['x-request-id'] });
      expect(t.logs.some((entry) => entry.msg === 'quiet route detail')).toBe(false);
    } finally {
      await t.close();
    }
  });
});

describe('LEGACY_API=gone', () => {
  it('answers unversioned /api paths with 410 GONE', async () => {
    const t = await startTestApp('embedded', { env: { LEGACY_API: 'gone' } });
    try {
      const response = await t.app.inject({ url: '/api/users' });
      expect(response.statusCode).toBe(410);
      expect(response.json().error_code).toBe('GONE');
    } finally {
      await t.close();
    }
  });
});
