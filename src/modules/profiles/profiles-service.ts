import { notFound } from '../../lib/errors.ts';
import type { TenantScope } from '../../lib/scope.ts';
import type { ProjectsService } from '../projects/projects-service.ts';
import type { ProfileRow, ProfilesDal } from './profiles-dal.ts';

/**
 * Current-state user profiles: what identify events made of a user (merged traits, hashed
 * identifiers, latest geo, first/last seen). A `user_id` is scoped to its project: two orgs' `u_1`
 * are two people, and so are two projects'.
 */
export function createProfilesService(deps: { profilesDal: ProfilesDal; projects: ProjectsService }) {
  return {
    async get(scope: TenantScope, projectId: string, userId: string): Promise<ProfileRow> {
      await deps.projects.get(scope, projectId);
      const row = await deps.profilesDal.find(scope.tx, scope.orgId, projectId, userId);
      if (!row) throw notFound('user in this project', 'userId');
      return row;
    },
  };
}

export type ProfilesService = ReturnType<typeof createProfilesService>;

export function toProfileResponse(row: ProfileRow) {
  return {
    object: 'user_profile' as const,
    user_id: row.user_id,
    properties: row.properties,
    hashed_identifiers: { email_sha256: row.email_sha256, phone_sha256: row.phone_sha256 },
    geo: row.geo_country ? { country: row.geo_country, region: row.geo_region } : null,
    first_seen_at: row.first_seen_at.toISOString(),
    last_seen_at: row.last_seen_at.toISOString(),
  };
}
