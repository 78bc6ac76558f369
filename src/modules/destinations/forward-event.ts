/**
 * What the forward queue holds for one (event, destination), inside its envelope ciphertext: the
 * platform's event name, the SDK's event id (the platforms deduplicate on it against the app's own
 * SDK), the event time, the destination's own identifier hashes (made at ingest while the raw values
 * were in memory: each platform normalizes phones differently), the device ids (only when the end
 * customer allowed ad tracking) and the device fields the platforms' app events need.
 */
export type DestinationType = 'meta_capi' | 'tiktok_events';

export type ForwardEvent = {
  /** The platform's event name, from the destination's event map. */
  name: string;
  event_id: string;
  /** Unix seconds. */
  time: number;
  /** SHA-256 hex, lower case, each in the destination's own normalization. */
  hashes: { email?: string; phone?: string; external_id?: string; country?: string };
  device: {
    idfa?: string;
    gaid?: string;
    /** `context.device.ad_tracking_enabled` (ATT on iOS) as the app reported it; undefined when absent. */
    tracking?: boolean;
    platform?: 'ios' | 'android';
    os_version?: string;
    model?: string;
    locale?: string;
    timezone?: string;
    app_id?: string;
    app_version?: string;
    app_build?: string;
  };
  /** The event carried device ids the app said may not be used for ad tracking: not queued, counted. */
  withheld?: true;
  /** Conversion values from the event's properties (a fixed list of fields, after the PII guard). */
  custom: {
    value?: number;
    currency?: string;
    content_ids?: string[];
    content_type?: string;
    num_items?: number;
    order_id?: string;
  };
};

/** One event's verdict before batching: sendable, or why not (counted in the stats). */
export type EventCheck = { ok: true } | { ok: false; drop: 'too_old' } | { ok: false; reject: string };

/** How the platform answered one request. */
export type PlatformVerdict =
  | { kind: 'ok' }
  /** Timeouts, 5xx, throttling: the same batch later, with backoff. */
  | { kind: 'retry'; code: string; retryAfterMs?: number }
  /** The token is invalid or expired: pause the destination. */
  | { kind: 'bad_token'; code: string }
  /** The platform refused the request's content: isolate the event(s) responsible. */
  | { kind: 'rejected'; code: string };
