// The key of a rendered page in the render caches (in-process and Redis) and in its ETag: the
// SHA-256 of the renderer version and the task.
import { createHash } from 'node:crypto';
import { RENDERER_VERSION, type RenderTask } from './renderer.ts';

/** The cache key (and the hash in ETags) of a task under this renderer version. */
export function renderKey(task: RenderTask): string {
  const hash = createHash('sha256').update(RENDERER_VERSION).update('\0').update(task.kind).update('\0');
  if (task.kind === 'code') hash.update(task.language ?? '').update('\0');
  return hash.update(task.text).digest('base64url');
}
