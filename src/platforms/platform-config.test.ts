import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.ts';

describe('social platform configuration', () => {
  const key = Buffer.alloc(32, 7).toString('base64');
  it('configures a platform only with both of its credentials, and builds the public URL without a trailing slash', () => {
    const c = loadConfig({
      TIKTOK_CLIENT_KEY: 'k',
      META_APP_ID: 'id',
      LAYERS_PUBLIC_URL: 'https://layers.example.com/',
    });
    expect(c.social.tiktok).toBeUndefined();
    expect(c.social.meta).toBeUndefined();
    expect(c.publicUrl).toBe('https://layers.example.com');
    const d = loadConfig({ TIKTOK_CLIENT_KEY: 'k', TIKTOK_CLIENT_SECRET: 's' });
    expect(d.social.tiktok).toEqual({ clientKey: 'k', clientSecret: 's' });
    expect(d.publicUrl).toBe('http://localhost:8080');
  });

  it('refuses a configured platform in production without an https LAYERS_PUBLIC_URL', () => {
    const prod = {
      LAYERS_ENV: 'production',
      LAYERS_ENCRYPTION_KEY: key,
      GOOGLE_CLIENT_ID: 'g',
      GOOGLE_CLIENT_SECRET: 's',
    };
    expect(() => loadConfig(prod)).toThrow(ConfigError);
    expect(() => loadConfig({ ...prod, LAYERS_PUBLIC_URL: 'http://layers.example.com' })).toThrow(
      ConfigError,
    );
    expect(loadConfig({ ...prod, LAYERS_PUBLIC_URL: 'https://layers.example.com' }).publicUrl).toBe(
      'https://layers.example.com',
    );
  });
});
