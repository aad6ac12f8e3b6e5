// The signed-in session lives in sessionStorage: it ends with the tab, and is not shared with
// other tabs or sent anywhere but our own API. The access token lasts 15 minutes; the refresh
// token (single use, rotated on every refresh) keeps the session going while the tab is used,
// so the console refreshes shortly before the access token expires.
import type { User } from './api';

const kKey = 'panorama.session';
// Refresh this long before the access token expires, so no request races its expiry.
const kRefreshMarginMs = 60_000;

export interface Session {
  token: string;
  expires_at: string;
  refresh_token?: string;
  refresh_expires_at?: string;
  session_expires_at?: string;
  user: User;
}

export interface Tokens {
  token: string;
  expires_at: string;
  refresh_token: string;
  refresh_expires_at: string;
  session_expires_at: string;
}

function read(): Session | null {
  try {
    const raw = sessionStorage.getItem(kKey);
    if (!raw) {
      return null;
    }
    const s = JSON.parse(raw) as Session;
    if (typeof s.token !== 'string' || !s.token) {
      return null;
    }
    // Alive while either the access token or the refresh token is still valid.
    const until = Math.max(Date.parse(s.expires_at), Date.parse(s.refresh_expires_at ?? ''));
    if (Number.isFinite(until) && until <= Date.now()) {
      sessionStorage.removeItem(kKey);
      return null;
    }
    return s;
  } catch {
    return null;
  }
}

export function token(): string | null {
  return read()?.token ?? null;
}

export function currentUser(): User | null {
  return read()?.user ?? null;
}

let refreshTimer: ReturnType<typeof setTimeout> | null = null;
let refresher: ((refreshToken: string) => Promise<Tokens>) | null = null;
let inFlight: Promise<string | null> | null = null;

// api.ts registers the call that exchanges a refresh token (kept here to avoid an import cycle).
export function setRefresher(fn: (refreshToken: string) => Promise<Tokens>): void {
  refresher = fn;
  schedule();
}

function schedule(): void {
  if (refreshTimer !== null) {
    clearTimeout(refreshTimer);
    refreshTimer = null;
  }
  const s = read();
  if (!s?.refresh_token) {
    return;
  }
  const delay = Math.max(0, Date.parse(s.expires_at) - Date.now() - kRefreshMarginMs);
  refreshTimer = setTimeout(() => void refreshNow(), delay);
}

// Exchanges the refresh token now; one exchange at a time (a refresh token works once).
export function refreshNow(): Promise<string | null> {
  if (inFlight) {
    return inFlight;
  }
  const s = read();
  if (!s?.refresh_token || !refresher) {
    return Promise.resolve(s?.token ?? null);
  }
  const run = refresher(s.refresh_token)
    .then((tokens) => {
      saveSession({ ...s, ...tokens });
      return tokens.token;
    })
    .catch(() => null)
    .finally(() => {
      inFlight = null;
    });
  inFlight = run;
  return run;
}

// A token good for the next request: refreshed first when it is about to expire.
export async function freshToken(): Promise<string | null> {
  const s = read();
  if (!s) {
    return null;
  }
  if (s.refresh_token && Date.parse(s.expires_at) - Date.now() < kRefreshMarginMs) {
    return refreshNow();
  }
  return s.token;
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(kKey, JSON.stringify(session));
  schedule();
}

export function clearSession(): void {
  sessionStorage.removeItem(kKey);
  if (refreshTimer !== null) {
    clearTimeout(refreshTimer);
    refreshTimer = null;
  }
}
