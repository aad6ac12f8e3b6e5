// What the signed-in user may do. The permissions come from GET /api/v1/me/access (so custom roles
// work too); until that answer arrives, or if it fails, the built-in role decides (docs/security.md,
// "Roles, ownership and masking"). The API enforces every permission; the console only hides what
// would answer 403.
import { api } from './api';
import { currentUser } from './session';

const kAnalyticsRoles = new Set(['admin', 'marketing', 'analyst']); // analytics.read
const kSegmentManagerRoles = new Set(['admin', 'marketing', 'analyst']); // segments.manage
const kExportRoles = new Set(['admin', 'marketing', 'analyst']); // export

let granted: Set<string> | null = null;
let grantedFor: string | null = null; // the username the permissions belong to
let known: string | null = null; // the username whose access has been asked for (answered or failed)
let pending: Promise<void> | null = null;

function username(): string {
  return currentUser()?.username ?? '';
}

// True once the current user's permissions have been asked for (whatever the answer).
export function accessKnown(): boolean {
  return known !== null && known === username();
}

export function loadAccess(): Promise<void> {
  const user = username();
  pending ??= api
    .myAccess()
    .then((access) => {
      granted = new Set(access.permissions ?? []);
      grantedFor = user;
    })
    .catch(() => {
      granted = null; // fall back to the role
    })
    .finally(() => {
      known = user;
      pending = null;
    });
  return pending;
}

export function clearAccess(): void {
  granted = null;
  grantedFor = null;
  known = null;
}

function has(permission: string, roles: Set<string>): boolean {
  if (granted && grantedFor === username()) {
    return granted.has(permission);
  }
  return roles.has(currentUser()?.role ?? '');
}

export function mayAnalyze(): boolean {
  return has('analytics.read', kAnalyticsRoles);
}

export function mayManageSegments(): boolean {
  return has('segments.manage', kSegmentManagerRoles);
}

export function mayExport(): boolean {
  return has('export', kExportRoles);
}
