import { randomUUID } from 'node:crypto';
import type { PlatformApp } from '../../src/app.ts';

/** Builders of SDK events in the API.md shape, and a sender that uses a publishable key. */
export type SdkEvent = Record<string, unknown>;

export function trackEvent(
  userId: string,
  event: string,
  properties: Record<string, unknown> = {},
  extra: SdkEvent = {},
): SdkEvent {
  return {
    event_id: randomUUID(),
    type: 'track',
    event,
    user_id: userId,
    timestamp: new Date().toISOString(),
    app_id: 'com.example.app',
    properties,
    ...extra,
  };
}

export function identifyEvent(
  userId: string,
  traits: Record<string, unknown>,
  extra: SdkEvent = {},
): SdkEvent {
  return {
    event_id: randomUUID(),
    type: 'identify',
    user_id: userId,
    timestamp: new Date().toISOString(),
    app_id: 'com.example.app',
    traits,
    ...extra,
  };
}

export async function sendEvents(
  app: PlatformApp,
  publishableKey: string,
  batch: unknown[],
  headers: Record<string, string> = {},
) {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/sdk/events',
    headers: { authorization: `Bearer ${publishableKey}`, ...headers },
    payload: { batch },
  });
  if (res.statusCode !== 200) throw new Error(`ingest failed: ${res.statusCode} ${res.body}`);
  return res.json() as {
    accepted: number;
    duplicates: number;
    rejected: { index: number; code: string; message: string }[];
  };
}
