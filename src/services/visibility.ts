// Which deliveries a caller may see: a tenant its own, the platform's ops deliveries only the
// platform (admin, platform clients). Used by every service that shows or re-drives one.
import type { DeliveryRecord } from '../domain/delivery-record.js';
import { OPS_TARGET } from '../pipeline/targets.js';

/**
 * Whether a delivery record is shown to a caller of `tenant` (undefined: every tenant, for the
 * admin). Deliveries to the platform's OPS_WEBHOOK_URL (the platform's URL and its answers) are
 * shown to platform callers (admin, platform clients) only.
 */
export const deliveryVisibleTo = (
  record: Pick<DeliveryRecord, 'tenantId' | 'target'>,
  tenant: string | undefined,
  platform: boolean,
) => (tenant === undefined || record.tenantId === tenant) && (platform || record.target !== OPS_TARGET);
