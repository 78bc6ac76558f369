import { notFound } from '../../lib/errors.ts';
import type { TenantScope } from '../../lib/scope.ts';
import { storedUserId } from '../../privacy/pii-envelope.ts';
import type { ProjectsService } from '../projects/projects-service.ts';
import type { ProfileRow, ProfilesDal, SeenFacts } from './profiles-dal.ts';

/**
 * A user's current state: what identify events established (merged traits, hashed identifiers) and
 * what the event log says (first/last seen, geo of the latest event that had one). A `user_id` is
 * scoped to its project: two orgs' `u_1` are two people, and so are two projects'.
 */
export type UserProfile = { user_id: string; stored: ProfileRow | undefined; seen: SeenFacts };

export function createProfilesService(deps: { profilesDal: ProfilesDal; projects: ProjectsService }) {
  return {
    async get(scope: TenantScope, projectId: string, sentUserId: string): Promise<UserProfile> {
      const userId = storedUserId(sentUserId);
      await deps.projects.get(scope, projectId);
      const [stored, seen] = [
        await deps.profilesDal.find(scope.tx, scope.orgId, projectId, userId),
        await deps.profilesDal.seen(scope.tx, scope.orgId, projectId, userId),
      ];
      if (!seen) throw notFound('user in this project', 'userId');
      return { user_id: userId, stored, seen };
    },
  };
}

export type ProfilesService = ReturnType<typeof createProfilesService>;

export function toProfileResponse({ user_id, stored, seen }: UserProfile) {
  return {
    object: 'user_profile' as const,
    user_id,
    properties: stored?.properties ?? {},
    hashed_identifiers: {
      email_sha256: stored?.email_sha256 ?? [],
      phone_sha256: stored?.phone_sha256 ?? [],
    },
    geo: seen.geo_country ? { country: seen.geo_country, region: seen.geo_region } : null,
    first_seen_at: seen.first_seen_at.toISOString(),
    last_seen_at: seen.last_seen_at.toISOString(),
  };
}
