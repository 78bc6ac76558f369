import { HOUR_MS } from '../../lib/clock.ts';
import type { RetentionSweeper } from '../retention/retention-sweeper.ts';
import type { Check } from './verify-types.ts';

/**
 * Rows past retention: what the sweeper would purge, counted with the sweeper's own predicates. The
 * sweeper runs hourly, so a row is a violation only once it is past retention by more than the slack.
 */
export const DEFAULT_SLACK_MS = 2 * HOUR_MS;

export function retentionCheck(sweeper: RetentionSweeper, slackMs: number = DEFAULT_SLACK_MS): Check {
  return {
    name: 'retention',
    description: `no rows past retention (more than ${Math.round(slackMs / HOUR_MS)} h after their purge time)`,
    async run({ now }) {
      const overdue = await sweeper.overdue(new Date(now.getTime() - slackMs));
      return overdue
        .filter((o) => o.rows > 0)
        .map((o) => ({
          message: `${o.data_class}: ${o.rows} row(s) in ${o.table} past retention`,
          data_class: o.data_class,
          table: o.table,
          rows: o.rows,
        }));
    },
  };
}
