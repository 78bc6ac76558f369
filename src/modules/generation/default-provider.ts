import { createHash } from 'node:crypto';
import type { AdCopy } from '../../rendering/ad-template.ts';
import { type Brief, declaredBrief } from './prompt-builder.ts';
import type { CopyProvider } from './provider-port.ts';

/**
 * The `default` provider: offline, no vendor, no key. Copy comes from templates per tone, filled from
 * the brief's own words and chosen by the brief's hash, so the same brief always yields the same copy
 * and a fresh install generates real assets with nothing configured. English templates, plus Spanish,
 * French and German ones for those languages; other languages get the English templates.
 */
type Template = { headline: string; body: string; cta: string };
type Tone = 'playful' | 'bold' | 'professional' | 'friendly';

const EN: Record<Tone, Template[]> = {
  bold: [
    {
      headline: '{Product}. No compromises.',
      body: 'Made for {audience} who want more. See what {product} can do for you today.',
      cta: 'Get started',
    },
    {
      headline: 'Meet the new {Product}',
      body: 'Built for {audience}. Faster, simpler and ready when you are.',
      cta: 'Try it now',
    },
    {
      headline: 'Do more with {Product}',
      body: '{Audience} are switching to {product}. Here is why you will too.',
      cta: 'See why',
    },
  ],
  playful: [
    {
      headline: 'Say hello to {Product}',
      body: 'Your new favourite thing, made for {audience}. Go on, you deserve it.',
      cta: 'Treat yourself',
    },
    {
      headline: '{Product}, but make it fun',
      body: '{Audience}, this one is for you: less hassle, more good days.',
      cta: 'Join the fun',
    },
    {
      headline: 'Psst… {Product} is here',
      body: 'The little upgrade {audience} did not know they needed.',
      cta: 'Take a peek',
    },
  ],
  professional: [
    {
      headline: '{Product} for {audience}',
      body: 'Reliable, proven and designed around the way {audience} work.',
      cta: 'Learn more',
    },
    {
      headline: 'The smarter choice: {Product}',
      body: 'Trusted by {audience} who value quality and results.',
      cta: 'Request a demo',
    },
    {
      headline: 'Results you can measure',
      body: '{Product} helps {audience} get there faster, with less effort.',
      cta: 'Find out how',
    },
  ],
  friendly: [
    {
      headline: 'You will love {Product}',
      body: 'Made with care for {audience}. Simple to start, easy to enjoy.',
      cta: 'Discover more',
    },
    {
      headline: 'Meet {Product}',
      body: 'A better everyday for {audience}, starting today.',
      cta: 'Say hello',
    },
    {
      headline: 'Made for you: {Product}',
      body: 'We built {product} for {audience} like you. Come and see.',
      cta: 'Have a look',
    },
  ],
};

const LOCALISED: Record<string, { templates: Template[]; audience: string }> = {
  es: {
    audience: 'ti',
    templates: [
      {
        headline: 'Descubre {Product}',
        body: 'Pensado para {audience}. Más simple, más rápido y listo cuando tú lo estés.',
        cta: 'Empieza ya',
      },
      {
        headline: '{Product}: hecho para {audience}',
        body: 'La mejora que estabas esperando, hoy mismo.',
        cta: 'Pruébalo',
      },
      {
        headline: 'Haz más con {Product}',
        body: 'Cada vez más personas eligen {product}. Descubre por qué.',
        cta: 'Ver más',
      },
    ],
  },
  fr: {
    audience: 'vous',
    templates: [
      {
        headline: 'Découvrez {Product}',
        body: 'Pensé pour {audience}. Plus simple, plus rapide, prêt quand vous l’êtes.',
        cta: 'Commencer',
      },
      {
        headline: '{Product}, fait pour {audience}',
        body: 'Le petit plus que vous attendiez, dès aujourd’hui.',
        cta: 'Essayer',
      },
      {
        headline: 'Faites plus avec {Product}',
        body: 'De plus en plus de gens choisissent {product}. Voici pourquoi.',
        cta: 'En savoir plus',
      },
    ],
  },
  de: {
    audience: 'Sie',
    templates: [
      {
        headline: 'Entdecken Sie {Product}',
        body: 'Gemacht für {audience}. Einfacher, schneller und bereit, wenn Sie es sind.',
        cta: 'Jetzt starten',
      },
      {
        headline: '{Product} für {audience}',
        body: 'Das Upgrade, auf das Sie gewartet haben, ab heute.',
        cta: 'Ausprobieren',
      },
      {
        headline: 'Mehr erreichen mit {Product}',
        body: 'Immer mehr Menschen wählen {product}. Erfahren Sie warum.',
        cta: 'Mehr erfahren',
      },
    ],
  },
};

function toneOf(tone: string | undefined): Tone {
  const t = (tone ?? '').toLowerCase();
  if (/play|fun|witty|cheeky|humor|humour/.test(t)) return 'playful';
  if (/bold|energetic|urgent|confident|punchy/.test(t)) return 'bold';
  if (/profession|formal|expert|b2b|serious|trust/.test(t)) return 'professional';
  return 'friendly';
}

const cap = (s: string) => (s ? s.charAt(0).toUpperCase() + s.slice(1) : s);

function fill(template: string, product: string, audience: string): string {
  return template
    .replaceAll('{Product}', cap(product))
    .replaceAll('{product}', product)
    .replaceAll('{Audience}', cap(audience))
    .replaceAll('{audience}', audience);
}

export function defaultCopy(brief: Brief, variants: number): AdCopy[] {
  const b = declaredBrief(brief);
  const lang = (b.language ?? 'en').toLowerCase().slice(0, 2);
  const localised = LOCALISED[lang];
  const templates = localised?.templates ?? EN[toneOf(b.tone)];
  const audience = b.audience ?? localised?.audience ?? 'people like you';
  const seed = createHash('sha256').update(JSON.stringify(b)).digest().readUInt32BE(0);
  const out: AdCopy[] = [];
  for (let i = 0; i < variants; i++) {
    const t = templates[(seed + i) % templates.length] as Template;
    out.push({
      headline: fill(t.headline, b.product, audience).slice(0, 90),
      body: fill(t.body, b.product, audience).slice(0, 220),
      call_to_action: (b.call_to_action ?? t.cta).slice(0, 40),
    });
  }
  return out;
}

export function createDefaultProvider(): CopyProvider {
  return {
    name: 'default',
    model: 'layers-templates-1',
    // Nothing leaves this machine.
    retentionMode: 'zero_retention',
    async generateCopy(req) {
      return defaultCopy(req.brief, req.variants);
    },
  };
}
