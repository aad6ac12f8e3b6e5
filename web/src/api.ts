// The server's JSON API (/api/v1), same origin as the console. Errors arrive as RFC 9457
// problem+json and become ApiError; a 401 on any authenticated call ends the session (after one
// refresh attempt). The session travels in HttpOnly cookies (session.ts); every call carries
// X-Requested-With, which the server requires of cookie-authenticated changes (CSRF defence).
import { clearSession, freshToken, refreshNow, setRefresher, type Tokens } from './session';
import { askStepUp, kReauthRequired } from './stepup';

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
  session?: 'cookie'; // the tokens were set as HttpOnly cookies and are not in the body
  token?: string;
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

export interface DeviceInfo {
  id: number;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  user_agent: string;
  current: boolean;
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
  // Issue 4 additions; absent on servers without the analytics parts.
  rfm?: CustomerRfm | null;
  lifecycle?: { stage: string; since: string | null } | null;
  segments?: SegmentMembership[] | null;
}

// ---- Analytics and segments (issue 4, docs/segments.md) ----

export interface RfmCell {
  r: number;
  f: number;
  customers: number;
  revenue_minor: number;
}

export interface RfmSegmentRow {
  name: string;
  customers: number;
  revenue_minor: number;
  share: number;
}

export interface RfmReport {
  as_of: string;
  currency: string;
  customers: number;
  scored: number;
  cuts: { recency_days: number[]; frequency: number[]; monetary_minor: number[] };
  grid: RfmCell[];
  segments: RfmSegmentRow[];
}

export interface CustomerRfm {
  customer_id?: number;
  recency_days: number | null;
  frequency: number | null;
  monetary_minor: number | null;
  currency?: string;
  r: number | null;
  f: number | null;
  m: number | null;
  score: string | null;
  segment: string | null;
}

export interface ScoreRule {
  segment: string;
  r: [number, number];
  f: [number, number];
  m: [number, number];
}

export interface ScoreMap {
  rules: ScoreRule[];
  default_segment: string;
}

export const kStages = ['prospect', 'new', 'active', 'loyal', 'at_risk', 'churned'] as const;

export interface LifecycleReport {
  as_of: string;
  stages: { stage: string; customers: number }[];
  thresholds: Record<string, number>;
}

export interface LifecycleHistory {
  points: { month: string; at: string; counts: Record<string, number> }[];
}

export interface Segment {
  id: number;
  name: string;
  description: string | null;
  rule: string;
  size: number;
  created_at: string;
  updated_at: string;
  evaluated_at: string | null;
  created_by: string | number | null;
}

export interface SegmentMembership {
  id: number;
  name: string;
  entered_at: string | null;
}

export interface Preview {
  valid: boolean;
  size: number;
  elapsed_ms: number;
  sample: number[];
}

export interface SegmentField {
  name: string;
  type: string;
  description?: string;
  values?: string[];
}

export interface SegmentFields {
  fields: SegmentField[];
  events: string[];
}

export interface SegmentMember {
  id: number;
  name: string | null;
  email: string | null;
  country: string | null;
  city: string | null;
}

export interface SegmentEvent {
  customer_id: number;
  kind: 'entered' | 'exited';
  at: string;
}

export interface Overlap {
  segments: { id: number; name: string; size: number }[];
  matrix: number[][];
}

export interface Cohorts {
  cohorts: { cohort: string; size: number; active: number[]; retention: number[] }[];
  through: string; // last complete month counted (YYYY-MM); the running month is left out
  months: number;
}

export interface FunnelStepIn {
  event: string;
  where?: Record<string, string>;
}

export interface FunnelRequest {
  steps: FunnelStepIn[];
  window: string;
  from?: string;
  to?: string;
  breakdown?: string;
  // Breakdown values with fewer step-1 customers are merged into "(other)" (API default 5, 1..1000).
  // The console sends what was typed (a number, or the raw text) and shows the API's verdict.
  min_group_size?: number | string;
}

export interface FunnelStep {
  event: string;
  customers: number;
  conversion_from_start: number;
  conversion_from_previous: number;
  median_seconds_from_previous: number | null;
}

export interface Funnel {
  steps: FunnelStep[];
  breakdown?: { value: string; steps: FunnelStep[] }[];
}

export interface Paths {
  paths: { steps: string[]; customers: number; share: number }[];
  total: number;
}

// A rule syntax error's position, when the server sent one (1-based).
export interface RulePosition {
  line: number;
  column: number;
  message: string;
}

export function rulePosition(error: unknown): RulePosition | null {
  if (!(error instanceof ApiError)) {
    return null;
  }
  for (const e of error.problem.errors ?? []) {
    const raw = e as unknown as Record<string, unknown>;
    const line = Number(raw.line);
    const column = Number(raw.column);
    const message = String(raw.message ?? raw.reason ?? '');
    if (Number.isInteger(line) && Number.isInteger(column) && line > 0 && column > 0) {
      return { line, column, message };
    }
    const m = /^(\d+):(\d+):\s*/.exec(message);
    if (m) {
      return { line: Number(m[1]), column: Number(m[2]), message };
    }
  }
  return null;
}

// Sent on every call: the server refuses cookie-authenticated changes without it (cross-site requests).
const kConsoleMarker = 'panorama-console';

let unauthorizedHandler: () => void = () => {};

// Called when an authenticated call gets 401: the token is gone or expired.
export function onUnauthorized(handler: () => void): void {
  unauthorizedHandler = handler;
}

// A sensitive call refused for a stale sign-in: ask for the password (stepup.ts), then the caller retries once.
// Cancelling leaves the original error to the caller.
async function renewedAfter(error: ApiError, auth: boolean, retried: boolean): Promise<boolean> {
  if (!auth || retried || error.status !== 403 || error.problem.type !== kReauthRequired) {
    return false;
  }
  return askStepUp(async (password, code) => {
    await request('POST', '/api/v1/auth/step-up', code ? { password, code } : { password }, true, true);
  });
}

async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  auth = true,
  retried = false,
): Promise<T> {
  const headers: Record<string, string> = {
    Accept: 'application/json, application/problem+json',
    'X-Requested-With': kConsoleMarker,
  };
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
      // The access token may have lapsed while the tab slept: one refresh, then the call once more.
      if (!retried && (await refreshNow()) !== null) {
        return request<T>(method, path, body, auth, true);
      }
      clearSession();
      unauthorizedHandler();
    }
    if (await renewedAfter(error, auth, retried)) {
      return request<T>(method, path, body, auth, true);
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

// A data-subject request (/api/v1/privacy/requests; docs/api.md "Privacy").
export interface PrivacyRequest {
  id: number;
  customer_id: number;
  kind: string;
  jurisdiction: string;
  status: string; // open | scheduled | completed | rejected | cancelled
  received_at: string;
  due_at: string;
  overdue: boolean;
  completed_at: string | null;
  verification: string;
  verification_method: string;
  verified_by: string;
  verified_at: string | null;
  scheduled_for: string | null;
  note: string;
  result: Record<string, unknown>;
}

export interface Role {
  name: string;
  description: string;
  built_in: boolean;
  permissions: string[];
}

// A staff account as GET /api/v1/users lists it (admin only).
export interface StaffUser {
  id: number;
  username: string;
  role: string;
  display_name: string;
  created_at: string;
  disabled: boolean;
  team_id?: number | null; // absent from servers older than the users page
}

export interface Team {
  id: number;
  name: string;
  created_at: string;
}

// Whether a built-in role must sign in with TOTP; changed_by/changed_at are null until first changed.
export interface RoleMfaSetting {
  role: string;
  mfa_required: boolean;
  changed_by: string | null;
  changed_at: string | null;
}

export interface PermissionCatalogue {
  permissions: string[];
  customer_fields: { field: string; data_class: string }[];
}

const seg = (id: number | string): string => `/api/v1/segments/${encodeURIComponent(String(id))}`;

export const analyticsApi = {
  rfm(): Promise<RfmReport> {
    return request('GET', '/api/v1/rfm');
  },
  recomputeRfm(): Promise<RfmReport> {
    return request('POST', '/api/v1/rfm/recompute');
  },
  scoreMap(): Promise<ScoreMap> {
    return request('GET', '/api/v1/rfm/score-map');
  },
  putScoreMap(map: ScoreMap): Promise<ScoreMap> {
    return request('PUT', '/api/v1/rfm/score-map', map);
  },
  lifecycle(): Promise<LifecycleReport> {
    return request('GET', '/api/v1/lifecycle');
  },
  putThresholds(values: Record<string, number>): Promise<Record<string, number>> {
    return request('PUT', '/api/v1/lifecycle/thresholds', values);
  },
  lifecycleHistory(from: string, to: string): Promise<LifecycleHistory> {
    return request('GET', `/api/v1/lifecycle/history${query({ from, to })}`);
  },
  cohorts(from: string, to: string, months: number): Promise<Cohorts> {
    return request('GET', `/api/v1/analytics/cohorts${query({ from, to, months })}`);
  },
  funnel(body: FunnelRequest): Promise<Funnel> {
    return request('POST', '/api/v1/analytics/funnel', body);
  },
  paths(params: { from_event: string; to_event: string; max_steps: number; limit: number; window: string }): Promise<Paths> {
    return request('GET', `/api/v1/analytics/paths${query(params)}`);
  },
  segments(limit: number, cursor: string | null): Promise<Page<Segment>> {
    return request('GET', `/api/v1/segments${query({ limit, cursor })}`);
  },
  segment(id: number | string): Promise<Segment> {
    return request('GET', seg(id));
  },
  createSegment(body: { name: string; description?: string; rule: string }): Promise<Segment> {
    return request('POST', '/api/v1/segments', body);
  },
  updateSegment(id: number | string, body: { name?: string; description?: string; rule?: string }): Promise<Segment> {
    return request('PATCH', seg(id), body);
  },
  deleteSegment(id: number | string): Promise<void> {
    return request('DELETE', seg(id));
  },
  preview(rule: string): Promise<Preview> {
    return request('POST', '/api/v1/segments/preview', { rule });
  },
  fields(): Promise<SegmentFields> {
    return request('GET', '/api/v1/segments/fields');
  },
  members(id: number | string, limit: number, cursor: string | null): Promise<Page<SegmentMember>> {
    return request('GET', `${seg(id)}/members${query({ limit, cursor })}`);
  },
  segmentEvents(id: number | string, limit: number, cursor: string | null): Promise<Page<SegmentEvent>> {
    return request('GET', `${seg(id)}/events${query({ limit, cursor })}`);
  },
  combine(op: string, segments: number[], saveAs?: string): Promise<Preview | Segment> {
    return request('POST', '/api/v1/segments/combine', saveAs ? { op, segments, save_as: saveAs } : { op, segments });
  },
  overlap(ids: number[]): Promise<Overlap> {
    return request('GET', `/api/v1/segments/overlap?ids=${ids.join(',')}`);
  },
};

// Downloads a file from an authenticated GET (the export routes answer a file, not JSON).
export async function download(path: string, fallbackName: string, retried = false): Promise<void> {
  const bearer = await freshToken();
  const headers: Record<string, string> = { 'X-Requested-With': kConsoleMarker };
  if (bearer) {
    headers.Authorization = `Bearer ${bearer}`;
  }
  let response: Response;
  try {
    response = await fetch(path, { headers, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, {});
  }
  if (!response.ok) {
    let problem: Problem = {};
    try {
      problem = (await response.json()) as Problem;
    } catch {
      problem = {};
    }
    const error = new ApiError(response.status, problem);
    if (await renewedAfter(error, true, retried)) {
      return download(path, fallbackName, true);
    }
    throw error;
  }
  const disposition = response.headers.get('Content-Disposition') ?? '';
  const name = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export interface MyAccess {
  name: string;
  role: string;
  permissions: string[];
}

export const api = {
  myAccess(): Promise<MyAccess> {
    return request('GET', '/api/v1/me/access');
  },
  audit(filters: AuditFilters, limit: number, cursor: string | null): Promise<Page<AuditEntry>> {
    return request('GET', `/api/v1/audit${query({ ...filters, limit, cursor })}`);
  },
  roles(): Promise<{ data: Role[] }> {
    return request('GET', '/api/v1/roles');
  },
  privacyRequests(overdue: boolean, limit: number, cursor: string | null): Promise<Page<PrivacyRequest>> {
    return request('GET', `/api/v1/privacy/requests${query({ overdue: overdue ? 'true' : null, limit, cursor })}`);
  },
  privacyRequest(id: string): Promise<PrivacyRequest> {
    return request('GET', `/api/v1/privacy/requests/${encodeURIComponent(id)}`);
  },
  verifyPrivacyRequest(id: string, method: string): Promise<PrivacyRequest> {
    return request('POST', `/api/v1/privacy/requests/${encodeURIComponent(id)}/verify`, { method });
  },
  // Needs a recent sign-in: a stale session gets the step-up dialog (stepup.ts) and the call is retried.
  fulfilPrivacyRequest(id: string): Promise<Record<string, unknown>> {
    return request('POST', `/api/v1/privacy/requests/${encodeURIComponent(id)}/fulfil`);
  },
  cancelPrivacyRequest(id: string): Promise<PrivacyRequest> {
    return request('POST', `/api/v1/privacy/requests/${encodeURIComponent(id)}/cancel`);
  },
  permissions(): Promise<PermissionCatalogue> {
    return request('GET', '/api/v1/permissions');
  },
  createRole(name: string, permissions: string[]): Promise<Role> {
    return request('POST', '/api/v1/roles', { name, permissions });
  },
  updateRole(name: string, permissions: string[]): Promise<Role> {
    return request('PATCH', `/api/v1/roles/${encodeURIComponent(name)}`, { permissions });
  },
  deleteRole(name: string): Promise<void> {
    return request('DELETE', `/api/v1/roles/${encodeURIComponent(name)}`);
  },
  mfaPolicy(): Promise<Page<RoleMfaSetting>> {
    return request('GET', '/api/v1/security/mfa-policy');
  },
  setMfaPolicy(role: string, required: boolean): Promise<RoleMfaSetting> {
    return request('PUT', `/api/v1/security/mfa-policy/${encodeURIComponent(role)}`, { mfa_required: required });
  },
  users(): Promise<Page<StaffUser>> {
    return request('GET', '/api/v1/users');
  },
  // POST /users takes the built-in roles only; a custom role and the team are set through setUserAccess.
  createUser(body: { username: string; password: string; role: string; display_name: string }): Promise<StaffUser> {
    return request('POST', '/api/v1/users', body);
  },
  // PUT …/access accepts built-in and custom roles; team_id null takes the user out of their team.
  setUserAccess(id: number, body: { role?: string; team_id?: number | null }): Promise<{ id: number; role: string; team_id: number | null }> {
    return request('PUT', `/api/v1/users/${id}/access`, body);
  },
  setUserDisabled(id: number, disabled: boolean): Promise<StaffUser> {
    return request('PATCH', `/api/v1/users/${id}`, { disabled });
  },
  endUserSessions(id: number): Promise<void> {
    return request('DELETE', `/api/v1/users/${id}/sessions`);
  },
  resetUserMfa(id: number): Promise<void> {
    return request('DELETE', `/api/v1/users/${id}/mfa`);
  },
  teams(): Promise<{ data: Team[] }> {
    return request('GET', '/api/v1/teams');
  },
  createTeam(name: string): Promise<Team> {
    return request('POST', '/api/v1/teams', { name });
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
  refresh(refreshToken: string | null): Promise<Tokens> {
    return request('POST', '/api/v1/auth/refresh', refreshToken ? { refresh_token: refreshToken } : {}, false);
  },
  devices(): Promise<Page<DeviceInfo>> {
    return request('GET', '/api/v1/auth/devices');
  },
  revokeDevice(id: number): Promise<void> {
    return request('DELETE', `/api/v1/auth/devices/${id}`);
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

