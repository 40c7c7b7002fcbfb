// The render service's worker pool under hostile load: pathological inputs finish or time
// out within the limit, a render past it has its worker replaced, and the pool keeps serving;
// a render whose caller left is dropped if it has not started and finished if it has.
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { RenderPool } from '../../../src/modules/render/pool.ts';
import { RenderService } from '../../../src/modules/render/service.ts';
import { AppError } from '../../../src/platform/errors.ts';
import { ClientGoneError } from '../../../src/platform/http/client-gone.ts';
import { eventually } from '../../helpers/wait.ts';
import { HUGE_TABLE } from './slow-input.ts';

const TIMEOUT_MS = 1_500;
const config = loadConfig({ MAX_RENDER_SIZE: '1mb', RENDER_TIMEOUT_MS: String(TIMEOUT_MS), RENDER_THREADS: '2', RENDER_CACHE_SIZE: '1mb' });
const service = new RenderService(config.render);
afterAll(() => service.close());

const PATHOLOGICAL: Record<string, string> = {
  'deeply nested lists': Array.from({ length: 500 }, (_, depth) => `${' '.repeat(depth * 2)}- item`).join('\n'),
  'nested block quotes': `${'>'.repeat(10_000)} x`,
  'nested emphasis': '*a **b _c __d '.repeat(10_000),
  '10,000 backticks': '`'.repeat(10_000),
  'unclosed brackets': `${'['.repeat(50_000)}${']('.repeat(20_000)}`,
  'a huge table': HUGE_TABLE,
  'many links': '[a](https://example.com/b) '.repeat(20_000),
  'a long code fence': `\`\`\`python\n${'def f(x):\n    return "s" + str(x)  # c\n'.repeat(20_000)}\`\`\``,
};

describe('render pool: hostile load', () => {
  it.each(Object.entries(PATHOLOGICAL))('%s: renders or answers TIMEOUT, never hangs', async (_name, text) => {
    const started = Date.now();
    const outcome = await service.markdown(text).then(
      (html) => ({ html }),
      (error: unknown) => ({ error }),
    );
    if ('error' in outcome) {
      expect(outcome.error).toBeInstanceOf(AppError);
      expect((outcome.error as AppError).code).toBe('TIMEOUT');
      expect((outcome.error as AppError).status).toBe(504);
      // The limit, plus slack for a busy machine to deliver the abort; never the render's own seconds.
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 20_000);
    } else {
      expect(typeof outcome.html).toBe('string');
    }
  });

  it('terminates and replaces the worker of a render past its limit', async () => {
    await service.markdown('warm up'); // both threads started, so the task runs at once
    await eventually(async () => service.pool.threadIds().length === 2);
    const before = service.pool.threadIds();
    await expect(service.pool.run({ kind: 'markdown', text: HUGE_TABLE }, { timeoutMs: 300 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    const after = await eventually(async () => {
      const ids = service.pool.threadIds();
      return ids.length === 2 && ids.some((id) => !before.includes(id)) ? ids : undefined;
    });
    expect(after.filter((id) => before.includes(id))).toHaveLength(1);
    expect(await service.markdown('still *serving*')).toBe('<p>still <em>serving</em></p>\n');
  });

  it('keeps serving other renders while one works on a pathological input', async () => {
    let slowDone = false;
    const slow = service.pool.run({ kind: 'markdown', text: HUGE_TABLE }, { timeoutMs: 120_000 }).finally(() => {
      slowDone = true;
    });
    for (let index = 0; index < 10; index += 1) {
      expect(await service.markdown(`quick **${index}**`)).toBe(`<p>quick <strong>${index}</strong></p>\n`);
    }
    expect(slowDone).toBe(false);
    await slow;
  });

  it('refuses input past the size limit with 413 before rendering', async () => {
    await expect(service.markdown('x'.repeat(1024 * 1024 + 1))).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE', status: 413 });
    await expect(service.code('é'.repeat(600 * 1024), 'python')).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('caches by content and renderer version, bounded by bytes', async () => {
    const before = service.cacheStats.entries;
    const first = await service.code('SELECT 1;', 'sql');
    expect(await service.code('SELECT 1;', 'sql')).toBe(first);
    expect(service.cacheStats.entries).toBe(before + 1);
    // The same text in another language is another rendering.
    expect(await service.code('SELECT 1;', null)).not.toBe(first);
    expect(service.cacheStats.bytes).toBeLessThanOrEqual(1024 * 1024);
  });
});

describe('render pool: callers that leave', () => {
  const pools: RenderPool[] = [];
  afterAll(() => Promise.all(pools.map((pool) => pool.close())));
  /** One thread, so the first render takes it and the others wait in the pool's queue. */
  const onePool = async () => {
    const pool = new RenderPool({ threads: 1, timeoutMs: 120_000 });
    pools.push(pool);
    expect(await pool.run({ kind: 'markdown', text: 'warm up' })).toBe('<p>warm up</p>\n');
    return pool;
  };
  const settled = (promise: Promise<string>) =>
    promise.then(
      (html) => ({ html }),
      (error: unknown) => ({ error }),
    );

  it('drops a waiting render whose caller left, without touching the worker, and runs the rest in order', async () => {
    const pool = await onePool();
    const [thread] = pool.threadIds();
    const first = settled(pool.run({ kind: 'markdown', text: '*first*' }));
    const leaving = new AbortController();
    const abandoned = settled(pool.run({ kind: 'markdown', text: '*abandoned*' }, { abandoned: leaving.signal }));
    const last = settled(pool.run({ kind: 'markdown', text: '*last*' }, { abandoned: new AbortController().signal }));
    expect(pool.stats).toEqual({ running: 1, waiting: 2, dropped: 0 });
    leaving.abort();
    expect(pool.stats).toEqual({ running: 1, waiting: 1, dropped: 1 });
    expect(await abandoned).toEqual({ error: expect.any(ClientGoneError) });
    expect(await first).toEqual({ html: '<p><em>first</em></p>\n' });
    expect(await last).toEqual({ html: '<p><em>last</em></p>\n' });
    expect(pool.stats).toEqual({ running: 0, waiting: 0, dropped: 1 });
    expect(pool.threadIds()).toEqual([thread]);
    // A caller already gone when it asks gets the same answer, and nothing is rendered.
    const gone = new AbortController();
    gone.abort();
    await expect(pool.run({ kind: 'markdown', text: 'x' }, { abandoned: gone.signal })).rejects.toBeInstanceOf(ClientGoneError);
    expect(pool.stats.dropped).toBe(2);
  });

  it('finishes a running render whose caller left (its worker is not terminated), and times out a waiting one', async () => {
    const pool = await onePool();
    const [thread] = pool.threadIds();
    const leaving = new AbortController();
    // Seconds of work (about 6 s here), so it is still running when the next one's limit passes.
    const running = settled(pool.run({ kind: 'markdown', text: HUGE_TABLE }, { abandoned: leaving.signal }));
    const waiting = pool.run({ kind: 'markdown', text: 'late' }, { timeoutMs: 50 });
    leaving.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'TIMEOUT' });
    const outcome = await running;
    expect(outcome).toHaveProperty('html');
    expect((outcome as { html: string }).html).toContain('<table>');
    expect(pool.threadIds()).toEqual([thread]);
    expect(pool.stats).toEqual({ running: 0, waiting: 0, dropped: 0 });
  });

  it('on close, refuses the renders waiting and any new one, and starts no thread again', async () => {
    const pool = await onePool();
    const running = settled(pool.run({ kind: 'markdown', text: '*running*' }));
    const waiting = settled(pool.run({ kind: 'markdown', text: '*waiting*' }));
    const closed = pool.close();
    expect(await waiting).toMatchObject({ error: { code: 'UNAVAILABLE' } });
    await running; // rendered or refused by the closing pool: either way it settles
    await closed;
    await expect(pool.run({ kind: 'markdown', text: 'after' })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(pool.threadIds()).toEqual([]);
    expect(pool.stats).toEqual({ running: 0, waiting: 0, dropped: 0 });
  });
});
