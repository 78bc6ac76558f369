import { createServer, type IncomingHttpHeaders, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as it passed through the proxy (what a hold's matcher looks at). */
export type ProxiedRequest = {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
};

/**
 * Where a crash test stops a worker: `before` holds the request (it never reaches the vendor's fake),
 * `after` forwards it and holds the answer (the call took effect at the fake, the worker never learns
 * it). The first request a lane's matcher accepts is held; the lane then holds nothing more.
 */
export type Hold = { label: string; when: 'before' | 'after'; match: (req: ProxiedRequest) => boolean };

/**
 * An HTTP proxy on 127.0.0.1 in front of one or more vendor fakes (one listening front per fake, so the
 * egress redirect can point each vendor host at its own front), holding chosen requests or their
 * answers for crash tests. Holds are armed per lane (one publication's sequence of crash points), so
 * several publications can each be stopped at their own point in the same worker run.
 */
export function startHoldingProxy() {
  const lanes = new Map<string, { hold: Hold | null; held: boolean; claimed: boolean }>();
  const pending: ServerResponse[] = [];
  const servers: Server[] = [];

  /** The lane whose armed hold takes this request (claimed at once, so no second request matches it). */
  function laneFor(req: ProxiedRequest) {
    for (const lane of lanes.values())
      if (lane.hold && !lane.claimed && lane.hold.match(req)) {
        lane.claimed = true;
        return lane;
      }
    return null;
  }

  function front(target: string): Server {
    return createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const u = new URL(req.url ?? '/', target);
        const body = Buffer.concat(chunks);
        const lane = laneFor({
          method: req.method ?? 'GET',
          path: u.pathname,
          query: u.searchParams,
          headers: req.headers,
          body,
        });
        if (lane?.hold?.when === 'before') {
          lane.held = true;
          pending.push(res);
          return;
        }
        const out = request(
          u,
          { method: req.method, headers: { ...req.headers, host: u.host } },
          (answer) => {
            const parts: Buffer[] = [];
            answer.on('data', (c: Buffer) => parts.push(c));
            answer.on('end', () => {
              if (lane) {
                // The call took effect at the fake; its answer never reaches the worker.
                lane.held = true;
                pending.push(res);
                return;
              }
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              res.end(Buffer.concat(parts));
            });
          },
        );
        out.on('error', () => res.destroy());
        out.end(body);
      });
      res.on('error', () => undefined);
    });
  }

  return {
    /** Listens in front of `target`; answers the URL to redirect the vendor's hosts to. */
    async front(target: string): Promise<string> {
      const server = front(target);
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    arm(lane: string, hold: Hold | null) {
      lanes.set(lane, { hold, held: false, claimed: false });
    },
    held: (lane: string) => lanes.get(lane)?.held === true,
    /** Drops every held request and answer (the worker that sent them is dead). */
    release() {
      for (const r of pending.splice(0)) r.destroy();
    },
    async close() {
      this.release();
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((r) => {
              s.closeAllConnections();
              s.close(() => r());
            }),
        ),
      );
    },
  };
}

export type HoldingProxy = ReturnType<typeof startHoldingProxy>;
