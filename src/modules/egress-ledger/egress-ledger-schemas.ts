import { Type } from 'typebox';
import { EGRESS_DATA_CLASSES, EgressPurposeSchema } from '../../egress/egress-types.ts';
import { Timestamp } from '../../http/schemas.ts';

export const EgressRollupEntry = Type.Object(
  {
    date: Type.String({ description: 'UTC day, YYYY-MM-DD' }),
    vendor: Type.String({ description: 'The vendor id of the sub-processor list' }),
    purpose: EgressPurposeSchema,
    data_classes: Type.Array(Type.String(), {
      description: `What the calls carried (${Object.keys(EGRESS_DATA_CLASSES).join(', ')})`,
    }),
    requests: Type.Integer({ description: 'HTTP requests sent (retries included)' }),
    records: Type.Integer({ description: 'Records the calls carried or asked for' }),
    bytes: Type.Integer({ description: 'Bytes sent' }),
    bytes_in: Type.Integer({ description: 'Bytes received' }),
    errors: Type.Integer({ description: 'Calls that did not end in a 2xx/3xx answer' }),
  },
  { $id: 'EgressRollupEntry' },
);

export const EgressRollupQuery = Type.Object(
  {
    since: Type.Optional(Timestamp),
    until: Type.Optional(Timestamp),
    vendor: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9_]{1,39}$' })),
    purpose: Type.Optional(EgressPurposeSchema),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 1000 })),
  },
  { additionalProperties: false },
);
