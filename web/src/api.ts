// The server's JSON API (/api/v1), same origin as the console. Errors arrive as RFC 9457
// problem+json and become ApiError; a 401 on any authenticated call ends the session.
import { clearSession, token } from './session';

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

export interface LoginResponse {
  token: string;
  expires_at: string;
  user: User;
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
  const bearer = token();
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

export const api = {
  login(username: string, password: string): Promise<LoginResponse> {
    return request('POST', '/api/v1/auth/login', { username, password }, false);
  },
  customers(q: string, limit: number, cursor: string | null): Promise<Page<Customer>> {
    return request('GET', `/api/v1/customers${query({ q, limit, cursor })}`);
  },
  customer360(id: string, timelineLimit: number, timelineCursor: string | null): Promise<Customer360> {
    const qs = query({ timeline_limit: timelineLimit, timeline_cursor: timelineCursor });
    return request('GET', `/api/v1/customers/${encodeURIComponent(id)}/360${qs}`);
  },
};
