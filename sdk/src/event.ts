/** The event as the ingest endpoint receives it (API.md, "SDK ingest"); fields are snake_case. */

export type JsonObject = Record<string, unknown>;

export interface DeviceIds {
  /** Apple advertising identifier (IDFA). */
  idfa?: string;
  /** Google advertising identifier (GAID). */
  gaid?: string;
  /**
   * Whether the end customer allows ad tracking (ATT authorized on iOS, ad personalisation on
   * Android). Sent with the ids; default true when `sendDeviceIds` is on. With false the server
   * forwards the event to Conversions APIs without the ids.
   */
  ad_tracking_enabled?: boolean;
}

export interface EventContext {
  /** Only for server-side relays: otherwise the server uses the connection's address. */
  ip?: string;
  /** Sent only when the client was created with `sendDeviceIds: true`. */
  device?: DeviceIds;
}

export interface SdkEvent {
  event_id: string;
  type: 'track' | 'identify';
  event?: string;
  user_id?: string;
  /** The device's anonymous id, sent until the user is identified (and with the identify that links it). */
  anonymous_id?: string;
  timestamp: string;
  app_id: string;
  properties?: JsonObject;
  traits?: JsonObject;
  context?: EventContext;
}

/** An event ready to send: its JSON text is measured once, when it is queued. */
export interface QueuedEvent {
  event: SdkEvent;
  bytes: number;
}
