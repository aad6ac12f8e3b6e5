import { defineConfig } from 'vite';

// In development the console runs on Vite's server and forwards API and ingestion calls to a
// running `panorama serve` (PANORAMA_URL, default http://127.0.0.1:8080), so the browser sees one
// origin exactly as in production, where the server itself serves web/dist.
const target = process.env.PANORAMA_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/',
  // The ECharts chunk (loaded only by the analytics pages) is ~600 kB before gzip; the entry chunk
  // stays near 100 kB.
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 700 },
  server: {
    proxy: {
      '/api': { target, changeOrigin: false },
      '/v1': { target, changeOrigin: false },
    },
  },
});
