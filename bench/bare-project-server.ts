import Fastify from 'fastify';

/** The api bench's baseline: a bare Fastify route answering the same project JSON, doing nothing else. */
const project = JSON.parse(process.env.BENCH_PROJECT_JSON ?? '{}');
const app = Fastify();
app.get('/v1/projects/:projectId', async () => project);
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
