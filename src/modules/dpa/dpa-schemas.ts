import { Type } from 'typebox';
import { Name, PageQuery, PathId, Timestamp } from '../../http/schemas.ts';

const Status = Type.Union([
  Type.Literal('received'),
  Type.Literal('in_review'),
  Type.Literal('sent_for_signature'),
  Type.Literal('countersigned'),
  Type.Literal('declined'),
]);

export const DpaRequest = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('dpa_request'),
    status: Status,
    signatory_entity: Type.String(),
    countries_of_processing: Type.Array(Type.String()),
    governing_law: Type.String(),
    special_requirements: Type.Array(Type.String()),
    transfer_required: Type.Boolean({ description: 'False when processing stays in the United States' }),
    transfer_mechanisms: Type.Array(
      Type.Object({
        mechanism: Type.Union([
          Type.Literal('eu_scc_module_2'),
          Type.Literal('uk_idta_addendum'),
          Type.Literal('swiss_fadp_scc'),
          Type.Literal('legal_review'),
        ]),
        name: Type.String(),
        countries: Type.Array(Type.String()),
      }),
    ),
    requirements_needing_review: Type.Array(
      Type.Object({ requirement: Type.String(), reason: Type.String() }),
    ),
    contact: Type.String(),
    next_step: Type.String(),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'DpaRequest' },
);

export const CreateDpaRequestBody = Type.Object(
  {
    signatory_entity: Name,
    countries_of_processing: Type.Array(Type.String({ minLength: 2, maxLength: 2 }), {
      minItems: 1,
      maxItems: 100,
      description: 'ISO 3166-1 alpha-2 codes of the countries where you process data',
    }),
    governing_law: Name,
    special_requirements: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
        maxItems: 20,
        description: 'Customer-specific requirements to flag early, e.g. HIPAA, COPPA, FERPA',
      }),
    ),
  },
  { additionalProperties: false },
);

export const DpaParams = Type.Object({ dpaRequestId: PathId });
export const ListDpaQuery = Type.Object(PageQuery, { additionalProperties: false });
export const ListAllDpaQuery = Type.Object(
  { ...PageQuery, status: Type.Optional(Status) },
  { additionalProperties: false },
);
export const UpdateDpaStatusBody = Type.Object({ status: Status }, { additionalProperties: false });
