// The signed-in session. The server keeps the console's tokens in cookies (`__Host-pn_session`,
// `__Host-pn_refresh`: Secure, HttpOnly, SameSite=Strict), so no script on the page can read them;
// sessionStorage holds only who is signed in and when the access token expires (nothing secret).
// Where the server cannot set a Secure cookie (plain HTTP off loopback, `--insecure-dev`), it
// answers with the tokens instead and they are kept in this module's memory only: a reload signs out.
// The access token lasts 15 minutes; the console refreshes shortly before it expires.
import type { User } from './api';

const kKey = 'panorama.session';
// Refresh this long before the access token expires, so no request races its expiry.
const kRefreshMarginMs = 60_000;

export interface Session {
  token?: string; // only without cookies; never stored
  expires_at: string;
  refresh_token?: string; // only without cookies; never stored
  refresh_expires_at?: string;
  session_expires_at?: string;
  session?: 'cookie';
  user: User;
}

export interface Tokens {
  token?: string;
  expires_at: string;
  refresh_token?: string;
  refresh_expires_at: string;
  session_expires_at: string;
  session?: 'cookie';
}

// Bearer tokens for a session the server could not put in cookies; memory only.
let memory: { token: string; refresh_token?: string } | null = null;

function read(): Session | null {
  try {
    const raw = sessionStorage.getItem(kKey);
    if (!raw) {
      return null;
    }
    const s = JSON.parse(raw) as Session;
    if (!s.user || (s.session !== 'cookie' && !memory)) {
      return null;
    }
    // Alive while either the access token or the refresh token is still valid.
    const until = Math.max(Date.parse(s.expires_at), Date.parse(s.refresh_expires_at ?? ''));
    if (Number.isFinite(until) && until <= Date.now()) {
      sessionStorage.removeItem(kKey);
      return null;
    }
    return memory ? { ...s, ...memory } : s;
  } catch {
    return null;
  }
}

export function signedIn(): boolean {
  return read() !== null;
}

export function currentUser(): User | null {
  return read()?.user ?? null;
}

let refreshTimer: ReturnType<typeof setTimeout> | null = null;
let refresher: ((refreshToken: string | null) => Promise<Tokens>) | null = null;
let inFlight: Promise<string | null> | null = null;

// api.ts registers the call that exchanges a refresh token (kept here to avoid an import cycle);
// `null` means "the refresh token is in the cookie".
export function setRefresher(fn: (refreshToken: string | null) => Promise<Tokens>): void {
  refresher = fn;
  schedule();
}

function schedule(): void {
  if (refreshTimer !== null) {
    clearTimeout(refreshTimer);
    refreshTimer = null;
  }
  const s = read();
  if (!s || (s.session !== 'cookie' && !s.refresh_token)) {
    return;
  }
  const expires = Date.parse(s.expires_at);
  if (!Number.isFinite(expires)) {
    return;
  }
  const delay = Math.max(0, expires - Date.now() - kRefreshMarginMs);
  refreshTimer = setTimeout(() => void refreshNow(), delay);
}

// Exchanges the refresh token now; one exchange at a time (a refresh token works once).
// Resolves to the new bearer token ('' for a cookie session), or null when the session is over.
export function refreshNow(): Promise<string | null> {
  if (inFlight) {
    return inFlight;
  }
  const s = read();
  if (!s || !refresher || (s.session !== 'cookie' && !s.refresh_token)) {
    return Promise.resolve(s ? (s.token ?? '') : null);
  }
  const run = refresher(s.session === 'cookie' ? null : (s.refresh_token ?? null))
    .then((tokens) => {
      saveSession({ ...s, ...tokens });
      return tokens.token ?? '';
    })
    .catch(() => null)
    .finally(() => {
      inFlight = null;
    });
  inFlight = run;
  return run;
}

// The bearer token for the next request ('' with a cookie session, null when signed out), refreshed
// first when the access token is about to expire.
export async function freshToken(): Promise<string | null> {
  const s = read();
  if (!s) {
    return null;
  }
  const expires = Date.parse(s.expires_at);
  if (Number.isFinite(expires) && expires - Date.now() < kRefreshMarginMs) {
    return refreshNow();
  }
  return s.token ?? '';
}

export function saveSession(session: Session): void {
  const { token, refresh_token: refreshToken, ...rest } = session;
  memory = session.session === 'cookie' || !token ? null : { token, refresh_token: refreshToken };
  sessionStorage.setItem(kKey, JSON.stringify(rest));
  schedule();
}

export function clearSession(): void {
  memory = null;
  sessionStorage.removeItem(kKey);
  if (refreshTimer !== null) {
    clearTimeout(refreshTimer);
    refreshTimer = null;
  }
}
