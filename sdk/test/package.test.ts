import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildSdk, listFiles, SDK_DIR } from './helpers/build-sdk.js';

/**
 * The package as customers get it: `npm run build` output in dist/, found through package.json's
 * `exports`, with types, and with no runtime dependency at all.
 */
const DIST = path.join(SDK_DIR, 'dist');
const pkg = JSON.parse(readFileSync(path.join(SDK_DIR, 'package.json'), 'utf8'));

beforeAll(() => {
  buildSdk(); // the real build, into sdk/dist; only this test file writes there
});

describe('built package', () => {
  it('is an ESM package named @layers/sdk without runtime dependencies', () => {
    expect(pkg.name).toBe('@layers/sdk');
    expect(pkg.type).toBe('module');
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(pkg.peerDependencies ?? {}).toEqual({});
    expect(pkg.scripts.build).toContain('tsconfig.build.json');
  });

  it('exports dist/index.js and dist/index.d.ts, and both exist after the build', () => {
    const entry = pkg.exports['.'];
    expect(entry.import).toBe('./dist/index.js');
    expect(entry.types).toBe('./dist/index.d.ts');
    expect(existsSync(path.join(SDK_DIR, entry.import))).toBe(true);
    expect(existsSync(path.join(SDK_DIR, entry.types))).toBe(true);
  });

  it('imports only its own files (relative .js specifiers), so browsers can load it as modules', () => {
    const files = listFiles(DIST).filter((f) => f.endsWith('.js'));
    expect(files).toContain('index.js');
    for (const file of files) {
      const source = readFileSync(path.join(DIST, file), 'utf8');
      // Module-level import/export statements (the doc comments quote an example import).
      const specifiers = [...source.matchAll(/^(?:import|export)\b[^;]*?from\s*'([^']+)'/gm)].map(
        (m) => m[1]!,
      );
      expect(source).not.toMatch(/\bimport\s*\(/); // no dynamic imports either
      for (const specifier of specifiers)
        expect(specifier, `${file} imports ${specifier}`).toMatch(/^\.\/[\w-]+\.js$/);
    }
  });

  it('declarations reference .js files too, so any TypeScript consumer resolves them', () => {
    const declaration = readFileSync(path.join(DIST, 'index.d.ts'), 'utf8');
    expect(declaration).toContain("from './client.js'");
    expect(declaration).not.toMatch(/from '\.\/[\w-]+\.ts'/);
  });

  it('runs in plain Node from dist: hashes with WebCrypto and builds a client', async () => {
    const sdk = await import(pathToFileURL(path.join(DIST, 'index.js')).href);
    expect(typeof sdk.init).toBe('function');
    expect(typeof sdk.createClient).toBe('function');
    expect(sdk.normalizeEmail(' A@B.C ')).toBe('a@b.c');
    const client = sdk.createClient({
      key: 'lyr_pk_TestKey0123456789abcdefghijk',
      endpoint: 'http://127.0.0.1:9',
      appId: 'a',
    });
    expect(client.isOptedOut()).toBe(false);
    await client.optOut();
    await client.shutdown();
  });

  it('resolves by package name through the workspace link', async () => {
    // A variable specifier: the type-check must not depend on a built dist/.
    const name = '@layers/sdk';
    const sdk = await import(name);
    expect(typeof sdk.createClient).toBe('function');
  });
});
