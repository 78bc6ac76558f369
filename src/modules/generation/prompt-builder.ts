import { createHash } from 'node:crypto';

/**
 * The narrowest prompt: built from the brief's declared fields only (the schema refuses any other
 * field), never from project data, SDK events, profiles, user ids or hashes, which this module has no
 * way to reach. The egress content guard then refuses a prompt that still looks like it carries an
 * end-customer identifier. A generation records the prompt's SHA-256 and byte count, never its text.
 */
export type Brief = {
  product: string;
  audience?: string | undefined;
  tone?: string | undefined;
  call_to_action?: string | undefined;
  language?: string | undefined;
};

export const BRIEF_FIELDS = ['product', 'audience', 'tone', 'call_to_action', 'language'] as const;

export type BuiltPrompt = { system: string; user: string; sha256: string; bytes: number };

export const COPY_VARIANTS = 3;

/** Only the declared fields, in a fixed order (so equal briefs hash equally). */
export function declaredBrief(brief: Brief): Required<Pick<Brief, 'product'>> & Brief {
  const out: Record<string, string> = {};
  for (const f of BRIEF_FIELDS) {
    const v = brief[f];
    if (typeof v === 'string' && v.trim() !== '') out[f] = v.replace(/\s+/g, ' ').trim();
  }
  return out as Required<Pick<Brief, 'product'>> & Brief;
}

export function buildPrompt(brief: Brief): BuiltPrompt {
  const b = declaredBrief(brief);
  const system =
    'You write short advertising copy. Answer only with JSON matching the schema: ' +
    `${COPY_VARIANTS} variants, each with a headline (at most 60 characters), a body (at most 160 characters) ` +
    'and a call to action (at most 24 characters). No hashtags, no emoji, no claims about prices.';
  const lines = [
    `Product: ${b.product}`,
    b.audience ? `Audience: ${b.audience}` : undefined,
    b.tone ? `Tone: ${b.tone}` : undefined,
    b.call_to_action ? `Call to action: ${b.call_to_action}` : undefined,
    `Language: ${b.language ?? 'en'}`,
  ].filter((l): l is string => l !== undefined);
  const user = lines.join('\n');
  const text = `${system}\n\n${user}`;
  return {
    system,
    user,
    sha256: createHash('sha256').update(text).digest('hex'),
    bytes: Buffer.byteLength(text),
  };
}
