import { Type } from 'typebox';
import { PathId } from '../../http/schemas.ts';

const NullableMs = Type.Union([Type.Integer(), Type.Null()]);

export const RetentionClass = Type.Object({
  data_class: Type.String({ description: 'Registry name, e.g. request_log' }),
  title: Type.String(),
  holds: Type.String(),
  clock: Type.String({
    description: 'What the retention counts from (record_age, month_of_receipt, partnership…)',
  }),
  retention_ms: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Effective retention for this org; null when no clock applies (until revoked, kept)',
  }),
  retention: Type.String({ description: 'The enforced rule in words' }),
  source: Type.Union([Type.Literal('default'), Type.Literal('contract')]),
  follows: Type.Union([Type.String(), Type.Null()]),
  default_ms: NullableMs,
  min_ms: NullableMs,
  max_ms: NullableMs,
  adjustable: Type.Boolean({ description: 'Whether a partner-tier contract may set it (within min/max)' }),
  at_partnership_end: Type.Union([
    Type.Literal('immediately'),
    Type.Literal('after_grace'),
    Type.Literal('kept'),
  ]),
});

export const RetentionPolicy = Type.Object(
  {
    object: Type.Literal('retention_policy'),
    org_id: Type.String(),
    tier: Type.Union([Type.Literal('standard'), Type.Literal('partner')]),
    data_classes: Type.Array(RetentionClass),
  },
  { $id: 'RetentionPolicy' },
);

export const SetRetentionBody = Type.Object(
  {
    overrides: Type.Record(
      Type.String({ pattern: '^[a-z_]{1,64}$' }),
      Type.Union([Type.String({ maxLength: 16, description: 'e.g. "90d" or "36h"' }), Type.Null()]),
      {
        maxProperties: 32,
        description:
          'Contract retention per data class, replacing the previous set; null or absent: the default',
      },
    ),
  },
  { additionalProperties: false },
);

export const OrgParams = Type.Object({ orgId: PathId });
