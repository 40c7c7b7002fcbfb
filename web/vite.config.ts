// Builds the web UI (web/) into web/dist, which `serve` serves at `/`. No asset is inlined as a
// data: URL and nothing is injected inline, so the pages run under the API's strict CSP.
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [preact({ prerender: { enabled: false } })],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
