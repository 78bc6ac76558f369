import { type Config, ConfigError } from '../config.ts';

/**
 * Data residency: "Partner state, customer event records, and generated media are stored in
 * US-region infrastructure." Every store the process writes to or reads personal data from declares
 * its region; the process refuses to start when one is outside the deployment's region (LAYERS_REGION),
 * and says which store and which setting.
 *
 * A region is a code like `us` or a more specific one like `us-east-1`; a store is inside region `us`
 * when its code is `us` or starts with `us-`. Stores on this machine (the embedded database in the data
 * dir, the media dir, the bundled GeoIP file) are where the deployment is unless declared otherwise;
 * an external database must be declared in production, because nothing here can see where it runs.
 */
export type StoreName = 'database' | 'media' | 'geoip';

export type StoreDeclaration = {
  store: StoreName;
  description: string;
  /** Declared (or, for local stores, implied) region; undefined when undeclared and not implied. */
  region: string | undefined;
  /** The setting that declares it, or how it was implied. */
  declaredBy: string;
};

export const REGION_NAMES: Readonly<Record<string, string>> = {
  us: 'the United States',
  eu: 'the European Union',
  uk: 'the United Kingdom',
  ca: 'Canada',
  au: 'Australia',
  jp: 'Japan',
  sg: 'Singapore',
};

export function regionName(region: string): string {
  return REGION_NAMES[region] ?? `region ${region}`;
}

export function isInRegion(storeRegion: string, region: string): boolean {
  return storeRegion === region || storeRegion.startsWith(`${region}-`);
}

export function storeDeclarations(config: Config): StoreDeclaration[] {
  const local = (declared: string | undefined, variable: string) =>
    declared === undefined
      ? { region: config.region, declaredBy: 'on this machine (LAYERS_REGION)' }
      : { region: declared, declaredBy: variable };
  const database = config.databaseUrl
    ? config.storeRegions.database !== undefined
      ? { region: config.storeRegions.database, declaredBy: 'LAYERS_DATABASE_REGION' }
      : config.env === 'production'
        ? { region: undefined, declaredBy: 'LAYERS_DATABASE_REGION (not set)' }
        : { region: config.region, declaredBy: 'assumed in development (set LAYERS_DATABASE_REGION)' }
    : local(config.storeRegions.database, 'LAYERS_DATABASE_REGION');
  return [
    {
      store: 'database',
      description: config.databaseUrl
        ? 'PostgreSQL at DATABASE_URL: partner state, customer event records, logs'
        : 'embedded PostgreSQL in the data dir: partner state, customer event records, logs',
      ...database,
    },
    {
      store: 'media',
      description: 'media directory: generated media',
      ...local(config.storeRegions.media, 'LAYERS_MEDIA_REGION'),
    },
    {
      store: 'geoip',
      description: config.geoipDb ? 'GeoIP database at GEOIP_DB' : 'bundled GeoIP database (DB-IP Lite)',
      ...local(config.storeRegions.geoip, 'LAYERS_GEOIP_REGION'),
    },
  ];
}

export class ResidencyError extends ConfigError {}

/** Throws (naming every offending store and its setting) unless every store is in the region. */
export function assertResidency(config: Config): StoreDeclaration[] {
  const stores = storeDeclarations(config);
  const problems = stores.flatMap((s) => {
    if (s.region === undefined)
      return [
        `the ${s.store} store (${s.description}) has no declared region: set ${s.declaredBy.split(' ')[0]} to where it runs`,
      ];
    if (!isInRegion(s.region, config.region))
      return [
        `the ${s.store} store is declared in '${s.region}' (${s.declaredBy}), outside '${config.region}'`,
      ];
    return [];
  });
  if (problems.length > 0) {
    throw new ResidencyError(
      `data residency: this deployment keeps data in '${config.region}' (LAYERS_REGION), but ${problems.join('; ')}. ` +
        'Refusing to start: move the store into the region or correct its declaration.',
    );
  }
  return stores;
}
