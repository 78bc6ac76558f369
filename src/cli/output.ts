/**
 * The CLI speaks to people on a TTY (colour, plain sentences) and to programs when piped or given
 * `--json` (one JSON document on stdout, meaningful exit codes).
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, verificationFailed: 3 } as const;

export type Output = {
  json: boolean;
  result(human: string, data: unknown): void;
  info(message: string): void;
  error(message: string, hint?: string): void;
};

export function createOutput(opts: { json: boolean }): Output {
  const tty = process.stdout.isTTY === true && !opts.json;
  const paint = (code: number, s: string) => (tty ? `\u001b[${code}m${s}\u001b[0m` : s);
  return {
    json: opts.json,
    result(human, data) {
      process.stdout.write(opts.json ? `${JSON.stringify(data)}\n` : `${human}\n`);
    },
    info(message) {
      if (!opts.json) process.stderr.write(`${paint(2, message)}\n`);
    },
    error(message, hint) {
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ error: { message, ...(hint ? { hint } : {}) } })}\n`);
        return;
      }
      process.stderr.write(
        `${paint(31, `error: ${message}`)}\n${hint ? `${paint(33, `hint: ${hint}`)}\n` : ''}`,
      );
    },
  };
}

export const bold = (s: string) => (process.stdout.isTTY ? `\u001b[1m${s}\u001b[0m` : s);
