/**
 * When a row's retention ends, for each kind of clock. One definition, used by the purges, by
 * `layers verify` and by the tests, so "kept" and "purged" meet at exactly one instant.
 *
 * A row is kept through the instant its retention ends and purged after it (strictly later).
 */

export function monthStartUtc(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
}

export function nextMonthStartUtc(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
}

/** record_age: rows whose time is before this instant are past retention. */
export function ageCutoff(now: Date, retentionMs: number): Date {
  return new Date(now.getTime() - retentionMs);
}

/**
 * month_of_receipt / month_of_record: retention counts from the end of the month a row belongs to.
 * A month M is past retention when nextMonth(M) + retention < now, i.e. when M is before the month
 * returned here; rows whose month (or time) is before it are purged.
 */
export function monthCutoff(now: Date, retentionMs: number): Date {
  return monthStartUtc(new Date(now.getTime() - retentionMs - 1));
}

/** The instant a row received at `at` stops being kept under a month-of-receipt clock. */
export function monthRetentionEnd(at: Date, retentionMs: number): Date {
  return new Date(nextMonthStartUtc(at).getTime() + retentionMs);
}
