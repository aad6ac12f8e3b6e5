// The signed-in session lives in sessionStorage: it ends with the tab, and is not shared with
// other tabs or sent anywhere but our own API.
import type { User } from './api';

const kKey = 'panorama.session';

interface Session {
  token: string;
  expires_at: string;
  user: User;
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
    const expires = Date.parse(s.expires_at);
    if (Number.isFinite(expires) && expires <= Date.now()) {
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

export function saveSession(session: Session): void {
  sessionStorage.setItem(kKey, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(kKey);
}
