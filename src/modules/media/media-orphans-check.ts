import type { Check, Violation } from '../verify/verify-types.ts';
import type { MediaService } from './media-service.ts';

/**
 * `layers verify`: the media store and the media rows agree, both ways. An object without a row is
 * media the platform no longer accounts for (no purge would find it through a row: the project
 * purge also sweeps the project's prefix); a row without its object answers 404 where a URL was
 * promised. Counts per org only, never a key's content.
 */
export function mediaOrphansCheck(media: Pick<MediaService, 'orphans'>): Check {
  return {
    name: 'media',
    description: 'every stored media object has its row, and every media row its object',
    async run({ db }) {
      const orgs = await db.selectFrom('orgs').select('id').execute();
      const violations: Violation[] = [];
      for (const { id } of orgs) {
        const o = await media.orphans([id]);
        if (o.objectsWithoutRows > 0)
          violations.push({
            message: `${o.objectsWithoutRows} media object(s) without a row`,
            org_id: id,
            objects: o.objectsWithoutRows,
          });
        if (o.rowsWithoutObjects > 0)
          violations.push({
            message: `${o.rowsWithoutObjects} media row(s) without their object`,
            org_id: id,
            rows: o.rowsWithoutObjects,
          });
      }
      return violations;
    },
  };
}
