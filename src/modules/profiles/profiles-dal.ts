import type { Kysely, Selectable } from 'kysely';
import type { Database, UserProfilesTable } from '../../db/schema.ts';

export type ProfileRow = Selectable<UserProfilesTable>;

export function createProfilesDal() {
  return {
    async find(
      tx: Kysely<Database>,
      orgId: string,
      projectId: string,
      userId: string,
    ): Promise<ProfileRow | undefined> {
      return tx
        .selectFrom('user_profiles')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('project_id', '=', projectId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
    },
  };
}

export type ProfilesDal = ReturnType<typeof createProfilesDal>;
