import path from 'node:path';
import { renderAsync } from '@resvg/resvg-js';
import { type AdCopy, type AdFormat, adSvg, FONT_FAMILY, type Palette } from './ad-template.ts';

/**
 * SVG → PNG with resvg (Rust, prebuilt in its npm package), the bundled fonts only (system fonts are
 * never loaded, so output is the same on every machine). `renderAsync` runs on libuv's thread pool,
 * so a render does not block the event loop that serves the API.
 */
export const FONT_FILES = [
  path.join(import.meta.dirname, '..', '..', 'assets', 'fonts', 'Inter_400Regular.ttf'),
  path.join(import.meta.dirname, '..', '..', 'assets', 'fonts', 'Inter_800ExtraBold.ttf'),
];

export async function svgToPng(svg: string): Promise<Buffer> {
  const image = await renderAsync(svg, {
    font: { fontFiles: FONT_FILES, loadSystemFonts: false, defaultFontFamily: FONT_FAMILY },
    background: 'rgba(0,0,0,0)',
  });
  return image.asPng();
}

export const SQUARE: AdFormat = { width: 1080, height: 1080 };
export const VERTICAL: AdFormat = { width: 1080, height: 1920 };

export async function renderAdImage(format: AdFormat, copy: AdCopy, brand: string, palette: Palette) {
  return svgToPng(adSvg(format, copy, brand, palette));
}
