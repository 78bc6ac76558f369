import { Type } from 'typebox';
import { PathId, Timestamp } from '../../http/schemas.ts';

export const UserProfile = Type.Object(
  {
    object: Type.Literal('user_profile'),
    user_id: Type.String(),
    properties: Type.Record(Type.String(), Type.Unknown()),
    hashed_identifiers: Type.Object({
      email_sha256: Type.Array(Type.String()),
      phone_sha256: Type.Array(Type.String()),
    }),
    geo: Type.Union([
      Type.Object({ country: Type.String(), region: Type.Union([Type.String(), Type.Null()]) }),
      Type.Null(),
    ]),
    first_seen_at: Timestamp,
    last_seen_at: Timestamp,
  },
  { $id: 'UserProfile' },
);

export const UserParams = Type.Object({
  projectId: PathId,
  userId: Type.String({ minLength: 1, maxLength: 256 }),
});
