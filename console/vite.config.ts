import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Built into console/build (committed), served by the platform at /console/ (src/modules/console-auth/console-static.ts).
export default defineConfig({
  base: '/console/',
  plugins: [react()],
  build: { outDir: 'build', emptyOutDir: true, sourcemap: false },
});
