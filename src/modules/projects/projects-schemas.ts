import { Type } from 'typebox';
import { Name, PageQuery, PathId, Timestamp } from '../../http/schemas.ts';

/**
 * What SDK ingest does with a raw email address or phone number found outside `traits.email` /
 * `traits.phone` (in other traits, properties, or as the `user_id`): `hash` stores its SHA-256 in
 * its place (the default), `reject` refuses the event with a per-event `pii_rejected`.
 */
export const PiiPolicy = Type.Union([Type.Literal('hash'), Type.Literal('reject')], {
  description:
    'Raw email/phone outside traits.email/phone (and as user_id): "hash" stores its SHA-256, "reject" refuses the event (pii_rejected)',
});

export const Project = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('project'),
    name: Type.String(),
    status: Type.Union([Type.Literal('active'), Type.Literal('pending_deletion')]),
    created_at: Timestamp,
    updated_at: Timestamp,
    purge_after: Type.Union([Timestamp, Type.Null()]),
    pii_policy: PiiPolicy,
  },
  { $id: 'Project' },
);

export const CreateProjectBody = Type.Object(
  { name: Name, pii_policy: Type.Optional(PiiPolicy) },
  { additionalProperties: false },
);
export const UpdateProjectBody = Type.Object(
  { name: Type.Optional(Name), pii_policy: Type.Optional(PiiPolicy) },
  { additionalProperties: false, minProperties: 1 },
);
export const ProjectParams = Type.Object({ projectId: PathId });
export const ListProjectsQuery = Type.Object(PageQuery, { additionalProperties: false });
