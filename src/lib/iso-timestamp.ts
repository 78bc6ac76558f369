/** An ISO 8601 date-time with seconds and a time zone (Z or ±hh:mm), as the SDK sends it. */
export const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
/** The same with ECMAScript's expanded years too (±YYYYYY), which a client clock far off can send. */
const ANY_YEAR_TIMESTAMP =
  /^(?:\d{4}|[+-]\d{6})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const isLeapYear = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);

/**
 * The instant (epoch ms) of a date-time already of one of the shapes above, whose year is its first
 * `yearLength` characters, if its date is a real calendar day. Date.parse alone rolls impossible
 * dates over (Feb 30 → Mar 2), which would read another time than the client sent.
 */
function calendarInstantMs(text: string, yearLength: number): number | undefined {
  const month = Number(text.slice(yearLength + 1, yearLength + 3));
  const day = Number(text.slice(yearLength + 4, yearLength + 6));
  if (month < 1 || month > 12 || day < 1 || day > (DAYS_IN_MONTH[month - 1] as number)) return undefined;
  if (month === 2 && day === 29 && !isLeapYear(Number(text.slice(0, yearLength)))) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * The instant (epoch ms) of an ISO 8601 date-time with a time zone on a real calendar day, any year
 * a Date holds, or undefined (Date.parse alone also takes many formats that are not ISO 8601).
 */
export function isoInstantMs(text: string): number | undefined {
  if (!ANY_YEAR_TIMESTAMP.test(text)) return undefined;
  return calendarInstantMs(text, text.indexOf('-', 1));
}

/**
 * An SDK timestamp, text the caller found to match ISO_TIMESTAMP (its refusal has its own message),
 * as an instant PostgreSQL and ISO 8601 agree on, or undefined: not a real calendar day, or year 0000
 * or an offset that pushes the instant outside years 1–9999, which PostgreSQL would refuse and so
 * fail a whole group commit.
 */
export function parseIsoTimestamp(shaped: string): Date | undefined {
  const ms = calendarInstantMs(shaped, 4);
  if (ms === undefined) return undefined;
  const date = new Date(ms);
  const utcYear = date.getUTCFullYear();
  return utcYear >= 1 && utcYear <= 9999 ? date : undefined;
}
