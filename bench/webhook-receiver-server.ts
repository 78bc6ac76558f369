import { createServer } from 'node:http';

/**
 * A webhook receiver for the webhooks bench, in its own process: answers every POST 200 at once and
 * counts them; `GET /stats` tells how many arrived and when the first and the last did, `POST /reset`
 * starts a new count. Both sides of the bench's ratio are timed here, by the same clock.
 */
let count = 0;
let firstAt = 0;
let lastAt = 0;

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ count, first_at: firstAt, last_at: lastAt }));
    return;
  }
  if (req.method === 'POST' && req.url === '/reset') {
    count = 0;
    firstAt = 0;
    lastAt = 0;
    res.end();
    return;
  }
  req.resume();
  req.on('end', () => {
    const now = performance.timeOrigin + performance.now();
    if (count === 0) firstAt = now;
    lastAt = now;
    count++;
    res.writeHead(200);
    res.end();
  });
});
server.keepAliveTimeout = 30_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
