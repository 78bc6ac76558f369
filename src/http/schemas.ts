import { type TSchema, Type } from 'typebox';

/** Schema pieces shared by every route module, so the OpenAPI document describes one error and list shape. */
export const ErrorResponse = Type.Object(
  {
    error: Type.Object({
      type: Type.String(),
      code: Type.String(),
      message: Type.String(),
      param: Type.Optional(Type.String()),
      request_id: Type.String(),
    }),
  },
  { $id: 'ErrorResponse' },
);

export const ListOf = <T extends TSchema>(item: T) =>
  Type.Object({ object: Type.Literal('list'), data: Type.Array(item), has_more: Type.Boolean() });

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
  starting_after: Type.Optional(Type.String({ maxLength: 64 })),
  ending_before: Type.Optional(Type.String({ maxLength: 64 })),
};

/** Names and labels: printable, trimmed length 1–200, no control characters. */
export const Name = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: '^[^\\u0000-\\u001f\\u007f]*\\S[^\\u0000-\\u001f\\u007f]*$',
});

export const Timestamp = Type.String({ format: 'date-time' });

/** Path ids: bounded strings; a well-formed id of another org and a malformed one both answer 404. */
export const PathId = Type.String({ minLength: 1, maxLength: 64 });

/** The error responses every authenticated route can give, for the OpenAPI document. */
export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, { $ref: 'ErrorResponse#' }])) as Record<number, unknown>;

export const AUTHENTICATED_ERRORS = [400, 401, 403, 404, 429] as const;
export const MUTATION_ERRORS = [...AUTHENTICATED_ERRORS, 409, 413, 422] as const;
