import { sha256Hex } from '../lib/hashing.ts';

/**
 * Which data subjects a stored replay envelope names, so that an erasure deletes exactly those.
 *
 * A user is named by a request or response in two ways only, both read exactly, never by searching
 * the body's text (a substring search made the user id `active` match every `"status":"active"`):
 * - the route's path parameter `userId` (the erasure's own 202, a lifted suppression), and
 * - the response's top-level `user_id` (a string) or `user_ids` (an array of strings): the lookup.
 * Every route that names a user is under `/v1/projects/:projectId`, and a user id means a subject
 * only within its project, so the reference is SHA-256 of (project id, user id): a user `u_1` erased
 * in one project leaves the envelopes of `u_1` in another project alone. A response naming users
 * outside a project-scoped route names no subject we could erase, and none is recorded.
 */
export function subjectRef(projectId: string, userId: string): string {
  return sha256Hex(`${projectId}\u0000${userId}`);
}

export function subjectsNamed(params: unknown, result: unknown): string[] {
  const path = isRecord(params) ? params : {};
  const projectId = typeof path.projectId === 'string' ? path.projectId : undefined;
  if (projectId === undefined) return [];
  const users = new Set<string>();
  if (typeof path.userId === 'string') users.add(path.userId);
  if (isRecord(result)) {
    if (typeof result.user_id === 'string') users.add(result.user_id);
    if (Array.isArray(result.user_ids))
      for (const id of result.user_ids) if (typeof id === 'string') users.add(id);
  }
  return [...users].map((userId) => subjectRef(projectId, userId));
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
