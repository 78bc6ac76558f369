import { newId } from '../lib/ids.ts';
import type { AppInstance } from './app-types.ts';

/** Every response carries `Request-Id`; the same id is in log lines, audit entries and the request log. */
export const generateRequestId = () => newId('request');

export function registerRequestId(app: AppInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('Request-Id', request.id);
  });
}
