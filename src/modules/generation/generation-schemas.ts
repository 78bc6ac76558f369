import { Type } from 'typebox';
import { PathId, Timestamp } from '../../http/schemas.ts';

const Field = (max: number, description: string) =>
  Type.String({ minLength: 1, maxLength: max, description });

/** The brief: partner-authored fields only (no other field is accepted, so none can reach a prompt). */
export const Brief = Type.Object(
  {
    product: Field(200, 'What is advertised (a product, service or offer)'),
    audience: Type.Optional(Field(200, 'Who the ad speaks to, in a few words')),
    tone: Type.Optional(Field(60, 'e.g. friendly, bold, playful, professional')),
    call_to_action: Type.Optional(Field(40, 'The button text, e.g. "Shop now"')),
    language: Type.Optional(
      Type.String({ pattern: '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$', description: 'BCP 47, default en' }),
    ),
  },
  { additionalProperties: false },
);

export const ProviderName = Type.Union(
  [Type.Literal('default'), Type.Literal('openai'), Type.Literal('anthropic'), Type.Literal('vertex')],
  { description: '"default" runs offline (no vendor, no key)' },
);

export const Output = Type.Union([Type.Literal('copy'), Type.Literal('image'), Type.Literal('video')]);

export const CreateGenerationBody = Type.Object(
  {
    brief: Brief,
    outputs: Type.Optional(Type.Array(Output, { minItems: 1, maxItems: 3, uniqueItems: true })),
    provider: Type.Optional(ProviderName),
  },
  { additionalProperties: false },
);

const Copy = Type.Object({ headline: Type.String(), body: Type.String(), call_to_action: Type.String() });

export const Generation = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('generation'),
    project_id: Type.String(),
    status: Type.Union([
      Type.Literal('queued'),
      Type.Literal('running'),
      Type.Literal('succeeded'),
      Type.Literal('failed'),
    ]),
    provider: ProviderName,
    model: Type.String(),
    retention_mode: Type.Union(
      [Type.Literal('zero_retention'), Type.Literal('no_training'), Type.Literal('narrowest_prompt')],
      { description: "The vendor's retention mode in force for this generation" },
    ),
    outputs: Type.Array(Type.String()),
    brief: Brief,
    copy: Type.Array(Copy),
    media_ids: Type.Array(Type.String()),
    prompt: Type.Union([
      Type.Object(
        { sha256: Type.String(), bytes: Type.Integer() },
        { description: "The prompt's SHA-256 and size (its text is never stored)" },
      ),
      Type.Null(),
    ]),
    attempts: Type.Integer(),
    error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
    created_at: Timestamp,
    updated_at: Timestamp,
    completed_at: Type.Union([Timestamp, Type.Null()]),
  },
  { $id: 'Generation' },
);

export const GenerationParams = Type.Object({ generationId: PathId });
export const ProjectParams = Type.Object({ projectId: PathId });
