import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { assertResidency, isInRegion, ResidencyError, storeDeclarations } from './residency.ts';

const config = (env: Record<string, string>) =>
  loadConfig({ LAYERS_DATA_DIR: '/tmp/layers-residency', ...env });

describe('data residency', () => {
  it('counts a store as in the region when its code is the region or a sub-region of it', () => {
    expect(isInRegion('us', 'us')).toBe(true);
    expect(isInRegion('us-east-1', 'us')).toBe(true);
    expect(isInRegion('eu-west-1', 'us')).toBe(false);
    expect(isInRegion('usa', 'us')).toBe(false);
  });

  it('starts by default: local stores are where the deployment is', () => {
    const stores = assertResidency(config({}));
    expect(stores.map((s) => [s.store, s.region])).toEqual([
      ['database', 'us'],
      ['media', 'us'],
      ['geoip', 'us'],
    ]);
  });

  it('refuses a store declared outside the region, naming the store and the setting', () => {
    const run = () =>
      assertResidency(config({ LAYERS_DATABASE_REGION: 'eu-west-1', LAYERS_MEDIA_REGION: 'us-east-2' }));
    expect(run).toThrow(ResidencyError);
    expect(run).toThrow(/database store is declared in 'eu-west-1' \(LAYERS_DATABASE_REGION\), outside 'us'/);
    expect(run).not.toThrow(/media/);
    expect(() => assertResidency(config({ LAYERS_MEDIA_REGION: 'ap-south-1' }))).toThrow(
      /media store is declared in 'ap-south-1' \(LAYERS_MEDIA_REGION\)/,
    );
    expect(() => assertResidency(config({ LAYERS_REGION: 'eu', LAYERS_GEOIP_REGION: 'us' }))).toThrow(
      /geoip store .*outside 'eu'/,
    );
  });

  it('requires an external database to declare its region in production', () => {
    const prod = {
      LAYERS_ENV: 'production',
      DATABASE_URL: 'postgres://u:p@db.internal/layers',
      LAYERS_ENCRYPTION_KEY: 'x',
    };
    expect(() => assertResidency(config(prod))).toThrow(
      /database store .*has no declared region: set LAYERS_DATABASE_REGION/,
    );
    expect(() => assertResidency(config({ ...prod, LAYERS_DATABASE_REGION: 'us-west-2' }))).not.toThrow();
    const dev = storeDeclarations(config({ DATABASE_URL: 'postgres://u:p@db.internal/layers' }));
    expect(dev[0]).toMatchObject({ store: 'database', region: 'us' });
    // The declaration never repeats the connection string (it may hold a password).
    expect(JSON.stringify(dev)).not.toContain('u:p@');
  });
});
