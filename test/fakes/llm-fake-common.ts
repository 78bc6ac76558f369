import type { FakeAnswer, LocalHttpServer, RecordedRequest } from './local-http-server.ts';

/**
 * What the LLM vendor fakes share: a failure mode a test sets (the way the vendor fails), the
 * violations of the vendor's documented request format a fake found (a test asserts none), and every
 * byte received (`requests`, from the local server) for canary checks.
 */
export type FailureMode = 'none' | 'rate_limit' | 'server_error' | 'auth' | 'slow' | 'bad_output';

export const COPY_JSON = JSON.stringify({
  variants: [
    {
      headline: 'Cold brew, ready when you are',
      body: 'Smooth coffee for busy mornings.',
      call_to_action: 'Shop now',
    },
    {
      headline: 'Mornings, upgraded',
      body: 'Bold taste in seconds, no barista needed.',
      call_to_action: 'Try it',
    },
    {
      headline: 'Your commute deserves better',
      body: 'Cold brew that keeps up with you.',
      call_to_action: 'Order today',
    },
  ],
});

export type LlmFake = {
  server: LocalHttpServer;
  url: string;
  requests: RecordedRequest[];
  violations: string[];
  fail(mode: FailureMode): void;
  /** Everything received, headers and bodies, as one string (canary checks). */
  allBytes(): string;
  close(): Promise<void>;
};

export function wireFake(
  server: LocalHttpServer,
  handle: (req: RecordedRequest, violations: string[], mode: FailureMode) => FakeAnswer,
): LlmFake {
  const violations: string[] = [];
  let mode: FailureMode = 'none';
  server.answer((req) => {
    try {
      return handle(req, violations, mode);
    } catch (error) {
      violations.push(`fake could not read the request: ${(error as Error).message}`);
      return { status: 400, body: { error: { message: 'bad request' } } };
    }
  });
  return {
    server,
    url: server.url,
    requests: server.requests,
    violations,
    fail(m) {
      mode = m;
    },
    allBytes: () =>
      server.requests
        .map((r) => `${r.method} ${r.url}\n${JSON.stringify(r.headers)}\n${r.body.toString('utf8')}`)
        .join('\n'),
    close: () => server.close(),
  };
}

export function check(violations: string[], ok: boolean, message: string): void {
  if (!ok) violations.push(message);
}
