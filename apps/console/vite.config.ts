import { defineConfig } from 'vite';

// Preact's JSX through esbuild's automatic runtime: no Babel preset needed. Pages are split by dynamic import, so the
// first load carries only the shell; the charting library is its own chunk, loaded by the pages that draw charts.
export default defineConfig({
  base: '/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  resolve: { alias: { react: 'preact/compat', 'react-dom': 'preact/compat' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 400,
    rollupOptions: { output: { manualChunks: { plot: ['@observablehq/plot'] } } },
  },
  server: {
    proxy: { '/api': `http://127.0.0.1:${process.env.STRATA_SERVER_PORT ?? 6570}` },
  },
});
