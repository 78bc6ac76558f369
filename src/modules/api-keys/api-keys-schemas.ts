import { Type } from 'typebox';
import { Name, PageQuery, PathId, Timestamp } from '../../http/schemas.ts';

const ApiKeyFields = {
  id: Type.String(),
  object: Type.Literal('api_key'),
  name: Type.String(),
  type: Type.Union([Type.Literal('secret'), Type.Literal('publishable')]),
  project_id: Type.Union([Type.String(), Type.Null()]),
  last4: Type.String({ description: 'The last four characters of the key, to tell keys apart' }),
  created_at: Timestamp,
  revoked_at: Type.Union([Timestamp, Type.Null()]),
  last_used_at: Type.Union([Timestamp, Type.Null()], { description: 'Updated at most every 30 seconds' }),
};

export const ApiKey = Type.Object(ApiKeyFields, { $id: 'ApiKey' });
export const CreatedApiKey = Type.Object(
  { ...ApiKeyFields, secret: Type.String({ description: 'Shown once, at creation; store it now' }) },
  { $id: 'CreatedApiKey' },
);

export const CreateApiKeyBody = Type.Object(
  {
    name: Name,
    type: Type.Union([Type.Literal('secret'), Type.Literal('publishable')]),
    project_id: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);
export const ApiKeyParams = Type.Object({ keyId: PathId });
export const ListApiKeysQuery = Type.Object(PageQuery, { additionalProperties: false });
