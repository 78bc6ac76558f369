import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';
import { sourceDigest } from './source-digest.ts';

/**
 * Built into console/build (committed), served by the platform at /console/
 * (src/modules/console-auth/console-static.ts). build-info.json records the SHA-256 of the sources it
 * was built from; a test fails when console/src changed without a rebuild.
 */
const buildInfo = (): Plugin => ({
  name: 'layers-build-info',
  generateBundle() {
    this.emitFile({
      type: 'asset',
      fileName: 'build-info.json',
      source: `${JSON.stringify({ source_sha256: sourceDigest(import.meta.dirname) })}\n`,
    });
  },
});

export default defineConfig({
  base: '/console/',
  plugins: [react(), buildInfo()],
  build: { outDir: 'build', emptyOutDir: true, sourcemap: false },
});
