import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// @vitejs/plugin-react is not installable here; Vite's own esbuild compiles JSX (no fast refresh).
// MOTE_ENGINE=host:port proxies the dev server's /ws to a running `mote serve`.
const engine = process.env.MOTE_ENGINE;

export default defineConfig({
  root: resolve(import.meta.dirname, 'renderer'),
  base: './',
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: resolve(import.meta.dirname, 'dist/renderer'),
    emptyOutDir: true,
    rollupOptions: {
      input: {
        main: resolve(import.meta.dirname, 'renderer/index.html'),
        bench: resolve(import.meta.dirname, 'renderer/bench/heatmap-bench.html'),
      },
    },
  },
  server: engine ? { proxy: { '/ws': { target: `ws://${engine}`, ws: true } } } : {},
});
