// What the signed-in user may do, from the built-in role (docs/security.md, "Roles, ownership and
// masking"). The API enforces every permission; the console only hides what would answer 403.
import { currentUser } from './session';

const kAnalyticsRoles = new Set(['admin', 'marketing', 'analyst']); // analytics.read
const kSegmentManagerRoles = new Set(['admin', 'marketing', 'analyst']); // segments.manage
const kExportRoles = new Set(['admin', 'marketing', 'analyst']); // export

function role(): string {
  return currentUser()?.role ?? '';
}

export function mayAnalyze(): boolean {
  return kAnalyticsRoles.has(role());
}

export function mayManageSegments(): boolean {
  return kSegmentManagerRoles.has(role());
}

export function mayExport(): boolean {
  return kExportRoles.has(role());
}
