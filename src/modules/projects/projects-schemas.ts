import { Type } from 'typebox';
import { Name, PageQuery, PathId, Timestamp } from '../../http/schemas.ts';

export const Project = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('project'),
    name: Type.String(),
    status: Type.Union([Type.Literal('active'), Type.Literal('pending_deletion')]),
    created_at: Timestamp,
    updated_at: Timestamp,
    purge_after: Type.Union([Timestamp, Type.Null()]),
  },
  { $id: 'Project' },
);

export const CreateProjectBody = Type.Object({ name: Name }, { additionalProperties: false });
export const UpdateProjectBody = Type.Object(
  { name: Type.Optional(Name) },
  { additionalProperties: false, minProperties: 1 },
);
export const ProjectParams = Type.Object({ projectId: PathId });
export const ListProjectsQuery = Type.Object(PageQuery, { additionalProperties: false });
