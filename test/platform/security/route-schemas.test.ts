// Walks the OpenAPI document: every /api/v1 operation must declare its request
// and response schemas, so nothing reaches a handler unvalidated or leaves unserialised.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/test-app.ts';

interface Operation {
  parameters?: { in: string; name: string; schema?: object }[];
  requestBody?: { content?: Record<string, { schema?: object }> };
  responses?: Record<string, { content?: Record<string, { schema?: object }> }>;
}

describe('route schemas', () => {
  let t: TestApp;
  let paths: Record<string, Record<string, Operation>>;
  beforeAll(async () => {
    t = await startTestApp('embedded');
    paths = (await t.app.inject({ url: '/api/v1/openapi.json' })).json().paths;
  });
  afterAll(() => t.close());

  it('documents the API routes', () => {
    const operations = Object.entries(paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations).toEqual(
      expect.arrayContaining([
        'POST /api/v1/auth/register',
        'POST /api/v1/auth/login',
        'GET /api/v1/auth/me',
        'PATCH /api/v1/admin/users/{id}',
      ]),
    );
  });

  it('gives every operation a response schema, an error schema, and schemas for its body and path parameters', () => {
    const problems: string[] = [];
    for (const [path, methods] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const name = `${method.toUpperCase()} ${path}`;
        const responses = operation.responses ?? {};
        const success = Object.entries(responses).filter(([status]) => status.startsWith('2'));
        if (success.length === 0) problems.push(`${name}: no 2xx response`);
        for (const [status, response] of success) {
          if (status !== '204' && !response.content?.['application/json']?.schema) problems.push(`${name}: ${status} has no schema`);
        }
        if (!responses['4XX']?.content?.['application/json']?.schema) problems.push(`${name}: no 4xx envelope schema`);
        const bodies = Object.values(operation.requestBody?.content ?? {});
        if (['post', 'put', 'patch'].includes(method) && (bodies.length === 0 || bodies.some((body) => !body.schema))) {
          problems.push(`${name}: no request body schema`);
        }
        for (const param of path.match(/\{(\w+)\}/g) ?? []) {
          const declared = operation.parameters?.find((p) => p.in === 'path' && `{${p.name}}` === param);
          if (!declared?.schema) problems.push(`${name}: path parameter ${param} has no schema`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('refuses fields a body schema does not declare', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', payload: { anything: 1 } });
    expect(response.statusCode).toBe(400);
    expect(response.json().error_code).toBe('VALIDATION_FAILED');
  });
});
