import type { Migration } from 'kysely/migration';
import * as foundation from './0001-foundation.ts';
import * as sdkEvents from './0002-sdk-events.ts';
import * as webhookDelivery from './0003-webhook-delivery.ts';
import * as dataProtection from './0004-data-protection.ts';
import * as dataSubjectRequests from './0005-data-subject-requests.ts';
import * as ingestGenericPlans from './0006-ingest-generic-plans.ts';
import * as ingestBoundedDedup from './0007-ingest-bounded-dedup.ts';
import * as idempotencySecretsSubjects from './0009-idempotency-secrets-subjects.ts';
import * as ingestRefusesSuppressed from './0010-ingest-refuses-suppressed.ts';
import * as auditWebhookUrls from './0012-audit-webhook-urls.ts';
import * as profileIdentifierMonths from './0013-profile-identifier-months.ts';
import * as egressLedger from './0014-egress-ledger.ts';
import * as anonymousIds from './0015-anonymous-ids.ts';
import * as consoleAccounts from './0016-console-accounts.ts';
import * as socialAccounts from './0017-social-accounts.ts';
import * as generationsMedia from './0018-generations-media.ts';
import * as capiForwarding from './0019-capi-forwarding.ts';
import * as egressLedgerNarrower from './0020-egress-ledger-narrower.ts';
import * as publications from './0021-publications.ts';
import * as adDeployments from './0022-ad-deployments.ts';
import * as egressLedgerCheaperRows from './0023-egress-ledger-cheaper-rows.ts';
import * as adDeploymentAdvertiserToken from './0024-ad-deployment-advertiser-token.ts';
import * as capiForwardBatches from './0025-capi-forward-batches.ts';
import * as socialAccountUserToken from './0026-social-account-user-token.ts';
import * as egressLedgerOneIndex from './0027-egress-ledger-one-index.ts';
import * as socialAccountUserTokenExpiry from './0028-social-account-user-token-expiry.ts';
import * as capiForwardOneStatement from './0029-capi-forward-one-statement.ts';
import * as sdkEventHashChecks from './0030-sdk-event-hash-checks.ts';

/** Forward-only once landed: add a new file, never edit one that has shipped. */
export const migrations: Record<string, Migration> = {
  '0001-foundation': foundation,
  '0002-sdk-events': sdkEvents,
  '0003-webhook-delivery': webhookDelivery,
  '0004-data-protection': dataProtection,
  '0005-data-subject-requests': dataSubjectRequests,
  '0006-ingest-generic-plans': ingestGenericPlans,
  '0007-ingest-bounded-dedup': ingestBoundedDedup,
  '0009-idempotency-secrets-subjects': idempotencySecretsSubjects,
  '0010-ingest-refuses-suppressed': ingestRefusesSuppressed,
  '0012-audit-webhook-urls': auditWebhookUrls,
  '0013-profile-identifier-months': profileIdentifierMonths,
  '0014-egress-ledger': egressLedger,
  '0016-console-accounts': consoleAccounts,
  '0019-capi-forwarding': capiForwarding,
  '0015-anonymous-ids': anonymousIds,
  '0017-social-accounts': socialAccounts,
  '0018-generations-media': generationsMedia,
  '0020-egress-ledger-narrower': egressLedgerNarrower,
  '0021-publications': publications,
  '0022-ad-deployments': adDeployments,
  '0023-egress-ledger-cheaper-rows': egressLedgerCheaperRows,
  '0024-ad-deployment-advertiser-token': adDeploymentAdvertiserToken,
  '0025-capi-forward-batches': capiForwardBatches,
  '0026-social-account-user-token': socialAccountUserToken,
  '0027-egress-ledger-one-index': egressLedgerOneIndex,
  '0028-social-account-user-token-expiry': socialAccountUserTokenExpiry,
  '0029-capi-forward-one-statement': capiForwardOneStatement,
  '0030-sdk-event-hash-checks': sdkEventHashChecks,
};
