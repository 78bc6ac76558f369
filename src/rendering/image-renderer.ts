import path from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { type AdCopy, type AdFormat, adSvg, FONT_FAMILY, type Palette } from './ad-template.ts';
import { renderProcess } from './render-process.ts';

/**
 * SVG → PNG with resvg (Rust, prebuilt in its npm package), the bundled fonts only (system fonts are
 * never loaded, so output is the same on every machine). `svgToPng` runs in the render process
 * (render-child.ts), never in the API's: the rasterisation and, above all, the PNG encode
 * (`asPng()`, synchronous: ~25 ms for 1080×1920) would otherwise block the event loop that serves the
 * API. `renderAdImage` is what the API process calls: the render process writes the PNG to the file
 * it names.
 */
export const FONT_FILES = [
  path.join(import.meta.dirname, '..', '..', 'assets', 'fonts', 'Inter_400Regular.ttf'),
  path.join(import.meta.dirname, '..', '..', 'assets', 'fonts', 'Inter_800ExtraBold.ttf'),
];

function rasterise(svg: string) {
  return new Resvg(svg, {
    font: { fontFiles: FONT_FILES, loadSystemFonts: false, defaultFontFamily: FONT_FAMILY },
    background: 'rgba(0,0,0,0)',
  }).render();
}

/** In this process, synchronously: the render process does one render at a time anyway. */
export function svgToPng(svg: string): Buffer {
  return rasterise(svg).asPng();
}

/**
 * The raw pixels, RGBA 8 bits a channel, premultiplied by alpha (resvg's own buffer, no PNG encode):
 * what ffmpeg reads as a video layer. Skipping the encode saves ~24 ms of uninterrupted computation
 * per 1080×1920 layer here, and ffmpeg no longer inflates each looped PNG layer again for every frame.
 */
export function svgToRgba(svg: string): Buffer {
  return rasterise(svg).pixels;
}

export const SQUARE: AdFormat = { width: 1080, height: 1080 };
export const VERTICAL: AdFormat = { width: 1080, height: 1920 };

export function adImagePng(format: AdFormat, copy: AdCopy, brand: string, palette: Palette): Buffer {
  return svgToPng(adSvg(format, copy, brand, palette));
}

/** The ad as a PNG in `file`, rendered and written by the render process. */
export async function renderAdImage(
  format: AdFormat,
  copy: AdCopy,
  brand: string,
  palette: Palette,
  file: string,
): Promise<void> {
  await renderProcess().image({ format, copy, brand, palette, file });
}
