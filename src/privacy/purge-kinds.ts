/**
 * How a class's rows are purged once its clock says so. The registry names the kind; the retention
 * module registers one purger per kind (src/modules/retention/class-purgers.ts), so this policy layer
 * depends on no module.
 */
export const PURGE_KINDS = [
  /** Rows whose clock column is older than the retention (record_age clocks). */
  'delete_by_age',
  /** Rows whose clock column (their own end of retention) has passed (expiry clocks). */
  'delete_expired',
  /** A table partitioned by month: whole months dropped, rows of shorter contracts deleted (month_of_receipt). */
  'drop_monthly_partitions',
  /** Rows whose month (month_of_record) has ended more than the retention ago. */
  'delete_by_month',
  /**
   * As delete_by_month for the profile row; in addition each hashed identifier of a profile goes on
   * the clock of the latest event that carried it ("same as the event it rides on").
   */
  'profiles_by_month',
  /** Nothing on a clock: purged only with its project or at the end of the partnership. */
  'none',
] as const;

export type PurgeKind = (typeof PURGE_KINDS)[number];
