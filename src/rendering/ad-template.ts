import { createHash } from 'node:crypto';

/**
 * The SVG templates of generated ads: one layout for the square feed format (1080×1080) and one for
 * the vertical story/reel format (1080×1920), drawn in the bundled Inter font (assets/fonts, SIL OFL
 * 1.1). The palette is chosen from the brief's hash, so the same brief always looks the same and
 * different products get different colours. Text is wrapped here (SVG has no line breaking) by a
 * width estimate of Inter's glyphs, and shrinks to fit its box.
 */
export type AdCopy = { headline: string; body: string; call_to_action: string };
export type AdFormat = { width: number; height: number };
export type Palette = {
  from: string;
  to: string;
  accent: string;
  ink: string;
  button: string;
  buttonInk: string;
};

export const FONT_FAMILY = 'Inter';

const PALETTES: readonly Palette[] = [
  {
    from: '#0f172a',
    to: '#1e3a8a',
    accent: '#38bdf8',
    ink: '#f8fafc',
    button: '#38bdf8',
    buttonInk: '#0f172a',
  },
  {
    from: '#3b0764',
    to: '#be185d',
    accent: '#f9a8d4',
    ink: '#fff7fb',
    button: '#fde047',
    buttonInk: '#3b0764',
  },
  {
    from: '#052e16',
    to: '#0f766e',
    accent: '#86efac',
    ink: '#f0fdf4',
    button: '#fef08a',
    buttonInk: '#052e16',
  },
  {
    from: '#7c2d12',
    to: '#ea580c',
    accent: '#fed7aa',
    ink: '#fff7ed',
    button: '#fff7ed',
    buttonInk: '#7c2d12',
  },
  {
    from: '#111827',
    to: '#4b5563',
    accent: '#facc15',
    ink: '#f9fafb',
    button: '#facc15',
    buttonInk: '#111827',
  },
  {
    from: '#1e1b4b',
    to: '#7c3aed',
    accent: '#c4b5fd',
    ink: '#faf5ff',
    button: '#34d399',
    buttonInk: '#1e1b4b',
  },
];

export function paletteFor(seed: string): Palette {
  const n = createHash('sha256').update(seed).digest().readUInt32BE(0);
  return PALETTES[n % PALETTES.length] as Palette;
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Average advance of Inter's glyphs in em (bold is wider); good enough to wrap without overflow. */
const EM = { regular: 0.54, bold: 0.6 } as const;

/** Greedy word wrap into at most `maxLines` lines of `maxChars`; the last line ends in … if cut. */
export function wrap(text: string, maxChars: number, maxLines: number): string[] {
  const words = text.replace(/\s+/g, ' ').trim().split(' ').filter(Boolean);
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    const w = word.length > maxChars ? `${word.slice(0, maxChars - 1)}…` : word;
    if (line === '') line = w;
    else if (line.length + 1 + w.length <= maxChars) line = `${line} ${w}`;
    else {
      lines.push(line);
      line = w;
    }
  }
  if (line) lines.push(line);
  if (lines.length <= maxLines) return lines;
  const kept = lines.slice(0, maxLines);
  const last = kept[maxLines - 1] as string;
  kept[maxLines - 1] = `${last.slice(0, Math.max(1, maxChars - 1)).replace(/\s+\S*$/, '')}…`;
  return kept;
}

/** The largest font size (≤ `max`) at which `text` fits `width` × `maxLines`, and its lines. */
export function fitText(text: string, width: number, max: number, min: number, maxLines: number, em: number) {
  for (let size = max; size >= min; size -= 4) {
    const maxChars = Math.max(4, Math.floor(width / (size * em)));
    const lines = wrap(text, maxChars, maxLines);
    if (!lines.some((l) => l.endsWith('…')) || size - 4 < min) return { size, lines };
  }
  return { size: min, lines: wrap(text, Math.floor(width / (min * em)), maxLines) };
}

function textBlock(
  lines: string[],
  opts: {
    x: number;
    y: number;
    size: number;
    weight: number;
    fill: string;
    lineHeight: number;
    anchor?: string;
  },
): string {
  const tspans = lines
    .map(
      (l, i) =>
        `<tspan x="${opts.x}" dy="${i === 0 ? 0 : Math.round(opts.size * opts.lineHeight)}">${escapeXml(l)}</tspan>`,
    )
    .join('');
  return `<text x="${opts.x}" y="${opts.y}" font-family="${FONT_FAMILY}" font-size="${opts.size}" font-weight="${opts.weight}" fill="${opts.fill}"${opts.anchor ? ` text-anchor="${opts.anchor}"` : ''}>${tspans}</text>`;
}

/** Background only: gradient and shapes (the video animates the text layers over it). */
export function backgroundSvg(format: AdFormat, palette: Palette, inner = ''): string {
  const { width: w, height: h } = format;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">
<defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="${palette.from}"/><stop offset="1" stop-color="${palette.to}"/></linearGradient>
<radialGradient id="glow" cx="0.5" cy="0.5" r="0.5"><stop offset="0" stop-color="${palette.accent}" stop-opacity="0.55"/><stop offset="1" stop-color="${palette.accent}" stop-opacity="0"/></radialGradient></defs>
<rect width="${w}" height="${h}" fill="url(#bg)"/>
<circle cx="${Math.round(w * 0.88)}" cy="${Math.round(h * 0.12)}" r="${Math.round(w * 0.42)}" fill="url(#glow)"/>
<circle cx="${Math.round(w * 0.05)}" cy="${Math.round(h * 0.95)}" r="${Math.round(w * 0.35)}" fill="url(#glow)"/>
<rect x="${Math.round(w * 0.074)}" y="${Math.round(h * 0.07)}" width="${Math.round(w * 0.12)}" height="10" rx="5" fill="${palette.accent}"/>
${inner}</svg>`;
}

export type TextLayers = { brand: string; headline: string; body: string; cta: string };

/** The text of the ad as separate SVG fragments (same coordinates as the full image). */
export function textLayers(format: AdFormat, copy: AdCopy, brand: string, palette: Palette): TextLayers {
  const { width: w, height: h } = format;
  const vertical = h > w;
  const margin = Math.round(w * 0.074);
  const textWidth = w - 2 * margin;
  const brandY = Math.round(h * 0.07) + 70;
  const head = fitText(copy.headline, textWidth, vertical ? 112 : 96, 56, vertical ? 4 : 3, EM.bold);
  const headY = vertical ? Math.round(h * 0.3) : Math.round(h * 0.3);
  const headBottom = headY + Math.round(head.size * 1.1 * (head.lines.length - 1));
  const body = fitText(copy.body, textWidth, vertical ? 52 : 44, 30, vertical ? 6 : 4, EM.regular);
  const bodyY = headBottom + Math.round(body.size * 2.2);
  const ctaText = copy.call_to_action.slice(0, 28);
  const ctaSize = vertical ? 48 : 42;
  const ctaWidth = Math.min(textWidth, Math.round(ctaText.length * ctaSize * EM.bold + ctaSize * 2.4));
  const ctaHeight = Math.round(ctaSize * 2.3);
  const ctaY = vertical ? Math.round(h * 0.8) : Math.round(h * 0.8);
  return {
    brand: textBlock(wrap(brand.toUpperCase(), Math.floor(textWidth / (34 * EM.bold)), 1), {
      x: margin,
      y: brandY,
      size: 34,
      weight: 800,
      fill: palette.accent,
      lineHeight: 1.2,
    }),
    headline: textBlock(head.lines, {
      x: margin,
      y: headY,
      size: head.size,
      weight: 800,
      fill: palette.ink,
      lineHeight: 1.1,
    }),
    body: textBlock(body.lines, {
      x: margin,
      y: bodyY,
      size: body.size,
      weight: 400,
      fill: palette.ink,
      lineHeight: 1.35,
    }),
    cta: `<rect x="${margin}" y="${ctaY}" width="${ctaWidth}" height="${ctaHeight}" rx="${Math.round(ctaHeight / 2)}" fill="${palette.button}"/>${textBlock(
      [ctaText],
      {
        x: margin + Math.round(ctaWidth / 2),
        y: ctaY + Math.round(ctaHeight / 2 + ctaSize * 0.36),
        size: ctaSize,
        weight: 800,
        fill: palette.buttonInk,
        lineHeight: 1,
        anchor: 'middle',
      },
    )}`,
  };
}

/** A transparent layer holding only `inner` (for the video's animated overlays). */
export function layerSvg(format: AdFormat, inner: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${format.width}" height="${format.height}" viewBox="0 0 ${format.width} ${format.height}">${inner}</svg>`;
}

/** The complete still ad. */
export function adSvg(format: AdFormat, copy: AdCopy, brand: string, palette: Palette): string {
  const t = textLayers(format, copy, brand, palette);
  return backgroundSvg(format, palette, `${t.brand}${t.headline}${t.body}${t.cta}`);
}
