import { describe, expect, it } from 'vitest';
import { paletteFor } from './ad-template.ts';
import { findFfmpeg, RenderError, renderAdVideo } from './video-renderer.ts';

describe('ffmpeg discovery', () => {
  it('finds Debian’s ffmpeg', async () => {
    expect(await findFfmpeg()).toMatch(/\/ffmpeg$/);
  });

  it('without ffmpeg, fails with ffmpeg_missing and names the install command', async () => {
    const error = await findFfmpeg(['/nonexistent-dir']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RenderError);
    expect((error as RenderError).code).toBe('ffmpeg_missing');
    expect((error as RenderError).message).toContain('apt-get install -y ffmpeg');
  });

  it('a failing ffmpeg is render_failed', async () => {
    const copy = { headline: 'h', body: 'b', call_to_action: 'c' };
    const error = await renderAdVideo(
      { copy, brand: 'x', palette: paletteFor('x'), durationMs: 6000 },
      { ffmpeg: '/bin/false' },
    ).catch((e: unknown) => e);
    expect((error as RenderError).code).toBe('render_failed');
  });
});
