// The piscina worker: renders one task per call, on a worker thread (pool.ts).
import { type RenderTask, render } from './renderer.ts';

export default function renderInWorker(task: RenderTask): string {
  return render(task);
}
