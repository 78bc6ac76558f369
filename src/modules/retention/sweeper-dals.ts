import { createOrgsDal } from '../orgs/orgs-dal.ts';
import { createProfilesDal } from '../profiles/profiles-dal.ts';
import { createProjectsDal } from '../projects/projects-dal.ts';
import { createClassPurgers } from './class-purgers.ts';
import { createPurgeDal } from './purge-dal.ts';

/**
 * The data access the retention sweeper needs besides its own schedule and overrides: the purge SQL,
 * the purger of each purge kind, and the owning modules' DALs for the orgs and projects it reads and
 * removes. One function, so the container, a second worker in a test and the bench wire it alike.
 */
export function createSweeperDals(deps: { profilesDal?: ReturnType<typeof createProfilesDal> } = {}) {
  const purgeDal = createPurgeDal();
  return {
    purgeDal,
    orgsDal: createOrgsDal(),
    projectsDal: createProjectsDal(),
    purgers: createClassPurgers({ purgeDal, profilesDal: deps.profilesDal ?? createProfilesDal() }),
  };
}
