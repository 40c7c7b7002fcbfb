// Web UI bench (issue 19): what the first load of the sign-in page costs a browser. Debian's
// Chromium loads http://<server>/sign-in from a fresh profile (nothing cached) against a real
// `serve`; every script and stylesheet it fetched is counted as sent and gzipped (zlib level 6,
// what a compressing proxy or CDN in front would send). Target: JavaScript < 150 KB gzipped.
import { existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { CHROMIUM, launchChromium } from '../test/helpers/chromium.ts';
import { type BenchSection, startRampart } from './lib.ts';

const TARGET_JS_GZIP_KB = 150;
const RUNS = 5;

interface Loaded {
  url: string;
  kind: 'script' | 'stylesheet' | 'document' | 'other';
  bytes: number;
  gzipBytes: number;
}

const kb = (bytes: number) => Math.round((bytes / 1024) * 10) / 10;

export async function benchWeb(): Promise<BenchSection[]> {
  if (!existsSync(CHROMIUM)) throw new Error(`bench web needs Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
  const server = await startRampart();
  const browser = await launchChromium();
  try {
    let loaded: Loaded[] = [];
    const formVisibleMs: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      // A new context is a new, empty cache: every run is a first load.
      const context = await browser.newContext();
      const page = await context.newPage();
      const responses: Promise<Loaded>[] = [];
      page.on('response', (response) => {
        const type = response.request().resourceType();
        const kind = type === 'script' || type === 'stylesheet' || type === 'document' ? type : 'other';
        responses.push(
          response.body().then((body) => ({
            url: new URL(response.url()).pathname,
            kind,
            bytes: body.length,
            gzipBytes: gzipSync(body, { level: 6 }).length,
          })),
        );
      });
      const started = performance.now();
      await page.goto(`${server.url}/sign-in`);
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      formVisibleMs.push(performance.now() - started);
      await page.waitForLoadState('networkidle');
      loaded = await Promise.all(responses);
      await context.close();
    }
    const sum = (kind: Loaded['kind'], field: 'bytes' | 'gzipBytes') =>
      loaded.filter((each) => each.kind === kind).reduce((total, each) => total + each[field], 0);
    const jsGzipKb = kb(sum('script', 'gzipBytes'));
    const sorted = [...formVisibleMs].sort((a, b) => a - b);
    const median = Math.round(sorted[Math.floor(sorted.length / 2)] as number);
    return [
      {
        name: 'Web UI: first load of the sign-in page',
        table: {
          columns: ['resource', 'files', 'sent KB', 'gzipped KB'],
          rows: [
            ['JavaScript', loaded.filter((each) => each.kind === 'script').length, kb(sum('script', 'bytes')), jsGzipKb],
            [
              'CSS',
              loaded.filter((each) => each.kind === 'stylesheet').length,
              kb(sum('stylesheet', 'bytes')),
              kb(sum('stylesheet', 'gzipBytes')),
            ],
            [
              'HTML',
              loaded.filter((each) => each.kind === 'document').length,
              kb(sum('document', 'bytes')),
              kb(sum('document', 'gzipBytes')),
            ],
            [
              'other (API, icon)',
              loaded.filter((each) => each.kind === 'other').length,
              kb(sum('other', 'bytes')),
              kb(sum('other', 'gzipBytes')),
            ],
          ],
        },
        notes: [
          `JavaScript gzipped ${jsGzipKb} KB (target < ${TARGET_JS_GZIP_KB} KB): ${jsGzipKb < TARGET_JS_GZIP_KB ? 'PASS' : 'FAIL'}`,
          `sent as stored (serve does not compress; a proxy in front may): ${kb(sum('script', 'bytes'))} KB of JavaScript`,
          `sign-in form visible after a median ${median} ms over ${RUNS} cold loads (loopback, shared 2-core machine; not a target)`,
        ],
        data: { runs: RUNS, files: loaded, form_visible_ms: formVisibleMs, js_gzip_kb: jsGzipKb, target_kb: TARGET_JS_GZIP_KB },
      },
    ];
  } finally {
    await browser.close();
    await server.close();
  }
}
