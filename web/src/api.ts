// The server's JSON API (/api/v1), same origin as the console. Errors arrive as RFC 9457
// problem+json and become ApiError; a 401 on any authenticated call ends the session.
import { clearSession, freshToken, setRefresher, type Tokens } from './session';

export interface FieldError {
  field: string;
  reason: string;
}

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: FieldError[];
}

export class ApiError extends Error {
  readonly status: number; // 0 when the server could not be reached
  readonly problem: Problem;

  constructor(status: number, problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }

  get fieldErrors(): FieldError[] {
    return Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

export interface User {
  id: number | string;
  username: string;
  role: string;
}

// Sign-in step 1 answers a session ("ok") or an MFA challenge to complete with mfa_token.
export interface LoginResponse {
  status: 'ok' | 'mfa_required' | 'mfa_enrolment_required';
  token: string;
  expires_at: string;
  refresh_token?: string;
  refresh_expires_at?: string;
  session_expires_at?: string;
  mfa_token?: string;
  user: User;
}

export interface MfaEnrolment {
  secret: string;
  otpauth_uri: string;
  qr_code: string;
}

export interface EnrolledLogin extends LoginResponse {
  recovery_codes: string[];
}

export interface SessionInfo {
  id: number;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  ip: string;
  user_agent: string;
  current: boolean;
}

export interface Aggregates {
  order_count: number;
  total_spend_minor: number;
  base_currency: string;
  first_order_at: string | null;
  last_order_at: string | null;
  avg_days_between_orders: number | null;
  last_event_at: string | null;
  event_count: number;
  event_count_30d: number;
}

export interface Customer {
  id: number;
  name: string | null;
  email: string | null;
  phone: string | null;
  gender: string | null;
  birthday: string | null;
  city: string | null;
  country: string | null;
  tags: string[];
  traits: Record<string, unknown>;
  masked?: string[]; // fields masked or hidden for the caller's role
  created_at: string;
  updated_at: string;
  aggregates?: Partial<Aggregates>;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export interface Identity {
  type: string;
  value: string;
  first_seen: string | null;
}

export interface Merge {
  from: number | string;
  into: number | string;
  reason: string;
  at: string;
}

interface TimelineBase {
  id: number | string;
  at: string;
}

export interface EventItem extends TimelineBase {
  kind: 'event';
  type: string;
  name: string | null;
  properties: Record<string, unknown>;
  context: Record<string, unknown>;
}

export interface OrderLine {
  sku: string | null;
  name: string | null;
  quantity: number;
  unit_price_minor: number;
}

export interface OrderItem extends TimelineBase {
  kind: 'order';
  external_id: string | null;
  total_minor: number;
  currency: string;
  status: string | null;
  items: OrderLine[];
}

export interface InteractionItem extends TimelineBase {
  kind: 'interaction';
  interaction_kind: string;
  subject: string | null;
  body: string | null;
  direction: string | null;
}

export type TimelineItem = EventItem | OrderItem | InteractionItem;

export interface Consent {
  purpose: string;
  channel: string | null;
  granted: boolean;
  source: string;
  policy_version: string;
  at: string;
}

export interface Customer360 {
  customer: Customer;
  identities: Identity[];
  merges: Merge[];
  consents?: Consent[];
  aggregates: Partial<Aggregates>;
  timeline: Page<TimelineItem>;
}

let unauthorizedHandler: () => void = () => {};

// Called when an authenticated call gets 401: the token is gone or expired.
export function onUnauthorized(handler: () => void): void {
  unauthorizedHandler = handler;
}

async function request<T>(method: string, path: string, body?: unknown, auth = true): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json, application/problem+json' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  const bearer = auth ? await freshToken() : null;
  if (auth && bearer) {
    headers.Authorization = `Bearer ${bearer}`;
  }
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, {});
  }
  const text = await response.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (!response.ok) {
    const problem: Problem = parsed && typeof parsed === 'object' ? (parsed as Problem) : {};
    const error = new ApiError(response.status, problem);
    if (response.status === 401 && auth) {
      clearSession();
      unauthorizedHandler();
    }
    throw error;
  }
  if (response.status === 204) {
    return undefined as T;
  }
  if (parsed === null) {
    throw new ApiError(response.status, { title: 'bad response' });
  }
  return parsed as T;
}

function query(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== null && v !== undefined && v !== '') {
      search.set(k, String(v));
    }
  }
  const s = search.toString();
  return s ? `?${s}` : '';
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  object_type: string;
  object_id: string;
  fields: string[];
  ids: string[];
  request_id: string;
  ip: string;
  outcome: string;
  entry_hash: string;
}

export type AuditFilters = Partial<Record<'actor' | 'action' | 'object_type' | 'object_id' | 'from' | 'to', string>>;

export interface Role {
  name: string;
  description: string;
  built_in: boolean;
  permissions: string[];
}

export interface PermissionCatalogue {
  permissions: string[];
  customer_fields: { field: string; data_class: string }[];
}

export const api = {
  audit(filters: AuditFilters, limit: number, cursor: string | null): Promise<Page<AuditEntry>> {
    return request('GET', `/api/v1/audit${query({ ...filters, limit, cursor })}`);
  },
  roles(): Promise<{ data: Role[] }> {
    return request('GET', '/api/v1/roles');
  },
  permissions(): Promise<PermissionCatalogue> {
    return request('GET', '/api/v1/permissions');
  },
  createRole(name: string, permissions: string[]): Promise<Role> {
    return request('POST', '/api/v1/roles', { name, permissions });
  },
  login(username: string, password: string): Promise<LoginResponse> {
    return request('POST', '/api/v1/auth/login', { username, password }, false);
  },
  verifyMfa(mfaToken: string, code: string): Promise<LoginResponse> {
    return request('POST', '/api/v1/auth/mfa/verify', { mfa_token: mfaToken, code }, false);
  },
  enrollMfa(mfaToken: string): Promise<MfaEnrolment> {
    return request('POST', '/api/v1/auth/mfa/enroll', { mfa_token: mfaToken }, false);
  },
  confirmMfa(mfaToken: string, code: string): Promise<EnrolledLogin> {
    return request('POST', '/api/v1/auth/mfa/confirm', { mfa_token: mfaToken, code }, false);
  },
  refresh(refreshToken: string): Promise<Tokens> {
    return request('POST', '/api/v1/auth/refresh', { refresh_token: refreshToken }, false);
  },
  logout(): Promise<void> {
    return request('POST', '/api/v1/auth/logout');
  },
  logoutEverywhere(): Promise<void> {
    return request('POST', '/api/v1/auth/logout-all');
  },
  sessions(): Promise<Page<SessionInfo>> {
    return request('GET', '/api/v1/auth/sessions');
  },
  customers(q: string, limit: number, cursor: string | null): Promise<Page<Customer>> {
    return request('GET', `/api/v1/customers${query({ q, limit, cursor })}`);
  },
  putConsents(
    id: string,
    body: { source: string; consents: { purpose: string; channel?: string; granted: boolean }[] },
  ): Promise<unknown> {
    return request('PUT', `/api/v1/customers/${id}/consents`, body);
  },
  customer360(id: string, timelineLimit: number, timelineCursor: string | null): Promise<Customer360> {
    const qs = query({ timeline_limit: timelineLimit, timeline_cursor: timelineCursor });
    return request('GET', `/api/v1/customers/${encodeURIComponent(id)}/360${qs}`);
  },
};

setRefresher((refreshToken) => api.refresh(refreshToken));
