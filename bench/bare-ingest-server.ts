import Fastify from 'fastify';

/** The ingest bench's baseline B_http: a bare Fastify route that takes the same body and does nothing. */
const app = Fastify({ bodyLimit: 500 * 1024 });
app.get('/', async () => 'ok');
app.post('/v1/sdk/events', async (req) => ({
  accepted: (req.body as { batch: unknown[] }).batch.length,
  duplicates: 0,
  rejected: [],
}));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
