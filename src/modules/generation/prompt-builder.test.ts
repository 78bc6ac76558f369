import { describe, expect, it } from 'vitest';
import { defaultCopy } from './default-provider.ts';
import { type Brief, buildPrompt } from './prompt-builder.ts';

describe('prompt builder (narrowest prompt)', () => {
  const brief = {
    product: 'Acme Cold Brew',
    audience: 'commuters',
    tone: 'bold',
    call_to_action: 'Shop now',
  };

  it('uses only the declared brief fields, whatever else the object carries', () => {
    const smuggled = { ...brief, user_id: 'u_secret_1', email: 'a@b.example', events: [{ x: 1 }] } as Brief;
    const p = buildPrompt(smuggled);
    expect(p).toEqual(buildPrompt(brief));
    expect(`${p.system}\n${p.user}`).not.toMatch(/u_secret_1|a@b\.example|events/);
    expect(p.user).toContain('Product: Acme Cold Brew');
  });

  it('records the SHA-256 and byte count of exactly what is sent', () => {
    const p = buildPrompt(brief);
    const text = `${p.system}\n\n${p.user}`;
    expect(p.bytes).toBe(Buffer.byteLength(text));
    expect(p.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(buildPrompt({ ...brief, tone: 'playful' }).sha256).not.toBe(p.sha256);
  });

  it('the default provider is deterministic and uses the brief', () => {
    expect(defaultCopy(brief, 3)).toEqual(defaultCopy(brief, 3));
    expect(defaultCopy(brief, 3)).toHaveLength(3);
    expect(defaultCopy({ product: 'Café Olé', language: 'fr' }, 1)[0]?.headline).toMatch(/Café Olé/);
  });
});
