import { Type } from 'typebox';
import { PathId, Timestamp } from '../../http/schemas.ts';

export const UserPathParams = Type.Object({
  projectId: PathId,
  userId: Type.String({ minLength: 1, maxLength: 256 }),
});
export const RequestParams = Type.Object({ requestId: PathId });
export const ProjectParams = Type.Object({ projectId: PathId });

export const EraseQuery = Type.Object(
  {
    suppress: Type.Optional(
      Type.Boolean({ description: 'Also refuse future events for this user in this project' }),
    ),
  },
  { additionalProperties: false },
);

export const DataSubjectRequest = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('data_subject_request'),
    type: Type.Literal('erasure'),
    status: Type.Union([Type.Literal('pending'), Type.Literal('completed')]),
    project_id: Type.String(),
    suppress: Type.Boolean(),
    created_at: Timestamp,
    completed_at: Type.Union([Timestamp, Type.Null()]),
    receipt: Type.Union([
      Type.Object({
        subject_sha256: Type.String({
          description: 'SHA-256 of "<request id>:<user_id>": which user, without naming them',
        }),
        erased: Type.Record(Type.String(), Type.Integer(), { description: 'Rows erased per data class' }),
        completed_at: Timestamp,
      }),
      Type.Null(),
    ]),
  },
  { $id: 'DataSubjectRequest' },
);

const Hex64 = Type.String({ minLength: 64, maxLength: 64, pattern: '^[0-9a-fA-F]{64}$' });
export const LookupBody = Type.Object(
  {
    email: Type.Optional(Type.String({ minLength: 1, maxLength: 320 })),
    phone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    email_sha256: Type.Optional(Hex64),
    phone_sha256: Type.Optional(Hex64),
  },
  { additionalProperties: false, minProperties: 1, maxProperties: 1 },
);
export const LookupResponse = Type.Object({ user_ids: Type.Array(Type.String()) });

export const Suppression = Type.Object({
  object: Type.Literal('suppression'),
  subject_sha256: Type.String({ description: 'SHA-256 of "<project_id>:<user_id>"' }),
  data_subject_request_id: Type.Union([Type.String(), Type.Null()]),
  created_at: Timestamp,
});
export const SuppressionListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
    starting_after: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);
