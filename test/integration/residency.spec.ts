import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl, runCli } from '../helpers/cli.ts';
import { createTestApp, type TestApp } from '../helpers/test-app.ts';

/**
 * Data residency at start-up: a store declared outside the deployment's region (LAYERS_REGION) stops
 * the process before anything is opened, with an error that names the store and its setting.
 */
describe('data residency at start-up', () => {
  // Nothing listens here: a process that got past the residency check would fail differently (exit 1).
  const unreachable = 'postgresql://layers:x@127.0.0.1:1/none';
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('refuses to serve with the database declared outside the region, naming which', async () => {
    const res = await runCli(['serve'], { DATABASE_URL: unreachable, LAYERS_DATABASE_REGION: 'eu-west-1' });
    expect(res.code).toBe(2);
    const out = res.stdout + res.stderr;
    expect(out).toContain(
      "the database store is declared in 'eu-west-1' (LAYERS_DATABASE_REGION), outside 'us'",
    );
    expect(out).toContain('Refusing to start');
    expect(out).not.toContain('layers:x');
  });

  it('refuses the media and GeoIP stores likewise, and every command that opens a store', async () => {
    const media = await runCli(['migrate'], {
      DATABASE_URL: unreachable,
      LAYERS_MEDIA_REGION: 'eu-central-1',
    });
    expect(media.code).toBe(2);
    expect(media.stdout + media.stderr).toContain(
      "the media store is declared in 'eu-central-1' (LAYERS_MEDIA_REGION)",
    );
    const geo = await runCli(['verify'], { DATABASE_URL: unreachable, LAYERS_GEOIP_REGION: 'ap-south-1' });
    expect(geo.code).toBe(2);
    expect(geo.stdout + geo.stderr).toContain('geoip store');
  });

  it('refuses an undeclared external database in production', async () => {
    const res = await runCli(['migrate'], {
      DATABASE_URL: unreachable,
      LAYERS_ENV: 'production',
      LAYERS_ENCRYPTION_KEY: 'MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=',
    });
    expect(res.code).toBe(2);
    expect(res.stdout + res.stderr).toContain('has no declared region: set LAYERS_DATABASE_REGION');
  });

  it('starts with stores declared inside the region', async () => {
    const res = await runCli(['migrate', '--json'], {
      DATABASE_URL: databaseUrl(t.db.superuser),
      LAYERS_DATABASE_REGION: 'us-east-1',
      LAYERS_MEDIA_REGION: 'us',
    });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({ migrated: true });
  });
});
