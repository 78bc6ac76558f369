import type { DeviceIds } from './event-preparer.ts';

/**
 * The one seam where device advertising ids (IDFA/GAID) leave the ingest path. They are never part of
 * a stored event or profile. Until a Conversions API integration is enabled for a project, the sink
 * drops them after counting (the page: "forwarded to platform CAPI when enabled"); a forwarding sink
 * replaces this one without touching ingest.
 */
export type DeviceIdHandoff = {
  orgId: string;
  projectId: string;
  eventId: string;
  /** As sent; null for an anonymous event (then `anonymousId` is set). */
  userId: string | null;
  anonymousId: string | null;
  device: DeviceIds;
};

export type DeviceIdSink = { accept(items: DeviceIdHandoff[]): void };

export function createDroppingDeviceIdSink(onDrop: (count: number) => void): DeviceIdSink {
  return {
    accept(items) {
      if (items.length > 0) onDrop(items.length);
    },
  };
}
