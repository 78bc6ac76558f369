/** An ISO 8601 date-time with seconds and a time zone (Z or ±hh:mm), as the SDK sends it. */
export const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
/** The same with ECMAScript's expanded years too (±YYYYYY), which a client clock far off can send. */
const ANY_YEAR_TIMESTAMP =
  /^(?:\d{4}|[+-]\d{6})-(\d{2})-(\d{2})T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const isLeapYear = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);

/**
 * The instant (epoch ms) of an ISO 8601 date-time on a real calendar day, or undefined. Date.parse
 * alone rolls impossible dates over (Feb 30 → Mar 2), which would read another time than the client
 * sent, and takes many formats that are not ISO 8601.
 */
export function isoInstantMs(text: string): number | undefined {
  const m = ANY_YEAR_TIMESTAMP.exec(text);
  if (!m) return undefined;
  const year = Number(text.slice(0, text.indexOf('-', 1)));
  const month = Number(m[1]);
  const day = Number(m[2]);
  if (month < 1 || month > 12 || day < 1 || day > (DAYS_IN_MONTH[month - 1] as number)) return undefined;
  if (month === 2 && day === 29 && !isLeapYear(year)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * An SDK timestamp (ISO_TIMESTAMP) as an instant PostgreSQL and ISO 8601 agree on, or undefined:
 * also refused, year 0000 or an offset that pushes the instant outside years 1–9999, which
 * PostgreSQL would refuse and so fail a whole group commit.
 */
export function parseIsoTimestamp(text: string): Date | undefined {
  if (!ISO_TIMESTAMP.test(text)) return undefined;
  const ms = isoInstantMs(text);
  if (ms === undefined) return undefined;
  const date = new Date(ms);
  const utcYear = date.getUTCFullYear();
  return utcYear >= 1 && utcYear <= 9999 ? date : undefined;
}
