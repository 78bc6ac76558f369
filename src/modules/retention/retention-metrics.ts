import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * What the retention sweeper purged, for Prometheus. Labels are data-class names only: never an org,
 * project or row id.
 */
export function createRetentionMetrics(registry: Registry) {
  return {
    purgedRows: new Counter({
      name: 'layers_retention_purged_rows_total',
      help: 'Rows deleted by the retention sweeper, by data class (partition drops are counted separately)',
      labelNames: ['data_class'] as const,
      registers: [registry],
    }),
    partitionsDropped: new Counter({
      name: 'layers_retention_partitions_dropped_total',
      help: 'Whole partitions dropped because every org’s retention had passed them',
      labelNames: ['data_class'] as const,
      registers: [registry],
    }),
    partitionRowsDropped: new Counter({
      name: 'layers_retention_partition_rows_dropped_estimated_total',
      help: 'Rows in dropped partitions, estimated from table statistics (a drop does not count rows)',
      labelNames: ['data_class'] as const,
      registers: [registry],
    }),
    projectsPurged: new Counter({
      name: 'layers_retention_projects_purged_total',
      help: 'Projects removed with everything they owned after their deletion grace period',
      registers: [registry],
    }),
    partnershipEndPurges: new Counter({
      name: 'layers_retention_partnership_end_purges_total',
      help: 'Scheduled partnership-end purges completed, by data class',
      labelNames: ['data_class'] as const,
      registers: [registry],
    }),
    lastSweepSeconds: new Gauge({
      name: 'layers_retention_last_sweep_duration_seconds',
      help: 'Duration of the last retention sweep',
      registers: [registry],
    }),
    lastSweepTimestamp: new Gauge({
      name: 'layers_retention_last_sweep_timestamp_seconds',
      help: 'When the last retention sweep finished (Unix time)',
      registers: [registry],
    }),
  };
}

export type RetentionMetrics = ReturnType<typeof createRetentionMetrics>;
