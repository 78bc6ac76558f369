/**
 * A rendering failure with a code the generation records as its `error.code`: `ffmpeg_missing` (the
 * message names the install command) or `render_failed` (ffmpeg or resvg failed, or the render
 * process stopped during the render).
 */
export type RenderErrorCode = 'ffmpeg_missing' | 'render_failed';

export class RenderError extends Error {
  readonly code: RenderErrorCode;
  constructor(code: RenderErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
