// Serves the web UI's built files (web/dist, built by the install step) at `/`: hashed
// assets cached for a year as immutable, index.html revalidated every time, and a browser's
// navigation to any other page path (not /api, /health, /metrics or /assets) answered with
// index.html so the UI's own router shows it. The API's security headers (CSP included) cover all of it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where `vite build` writes the UI (scripts/prepare.ts runs it at install). */
export const WEB_DIST = join(import.meta.dirname, '..', '..', '..', 'web', 'dist');

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';
/** Paths the UI never owns: an unknown one stays the API's 404 (or its legacy redirect). */
const NOT_PAGES = /^\/(api|health|assets)(\/|\?|$)|^\/metrics(\?|$)/;

/**
 * A browser navigating to one of the UI's pages: a GET or HEAD that accepts HTML, of a path
 * outside the API's and whose last segment names no file (as connect-history-api-fallback
 * decides). Scanners (`/wp-admin.php`) and API clients keep getting the 404 envelope.
 */
function isPageRequest(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  if (!request.headers.accept?.includes('text/html')) return false;
  const path = request.url.split('?')[0] ?? '';
  return !NOT_PAGES.test(path) && !path.slice(path.lastIndexOf('/') + 1).includes('.');
}

/** Answers a page path with the app shell; undefined when the request is not one. */
export type AppShell = (request: FastifyRequest, reply: FastifyReply) => FastifyReply | undefined;

/**
 * Registers the UI's files when a build exists. Returns the app-shell fallback for the
 * not-found handler, or undefined (no build: the service runs as an API alone).
 */
export async function registerWebUi(app: FastifyInstance, dist: string = WEB_DIST): Promise<AppShell | undefined> {
  const indexFile = join(dist, 'index.html');
  if (!existsSync(indexFile)) {
    app.log.warn({ dist }, 'web UI not built (run `node scripts/prepare.ts web`); serving the API only');
    return undefined;
  }
  const indexHtml = readFileSync(indexFile);
  await app.register(fastifyStatic, {
    root: dist,
    // One route per built file, found at start-up: an unknown path falls through to the not-found handler.
    wildcard: false,
    decorateReply: false,
    index: 'index.html',
    cacheControl: false,
    setHeaders: (reply, path) => {
      reply.header('cache-control', path.startsWith(join(dist, 'assets')) ? IMMUTABLE : REVALIDATE);
    },
  });
  return (request, reply) => {
    if (!isPageRequest(request)) return undefined;
    return reply.code(200).header('cache-control', REVALIDATE).type('text/html; charset=utf-8').send(indexHtml);
  };
}
