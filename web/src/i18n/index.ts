// The console's locale: chosen by the user (remembered in localStorage), else taken from the
// browser's language. Every visible string goes through t()/tn(); numbers and dates through the
// Intl helpers in format.ts, which read the same locale.
import { en, type MessageKey, type Messages } from './en';
import { zhCN } from './zh-CN';

export type Locale = 'zh-CN' | 'en';
export const kLocales: readonly Locale[] = ['zh-CN', 'en'];
export const kLocaleNames: Record<Locale, string> = { 'zh-CN': '中文', en: 'English' };

const kStorageKey = 'panorama.locale';
const kCatalogs: Record<Locale, Messages> = { 'zh-CN': zhCN, en };

let current: Locale = detectLocale();
const listeners = new Set<() => void>();

function detectLocale(): Locale {
  try {
    const stored = localStorage.getItem(kStorageKey);
    if (stored === 'zh-CN' || stored === 'en') {
      return stored;
    }
  } catch {
    // Storage may be disabled; fall back to the browser's language.
  }
  const preferred = navigator.languages?.length ? navigator.languages : [navigator.language];
  for (const lang of preferred) {
    const lower = (lang ?? '').toLowerCase();
    if (lower.startsWith('zh')) {
      return 'zh-CN';
    }
    if (lower.startsWith('en')) {
      return 'en';
    }
  }
  return 'en';
}

export function locale(): Locale {
  return current;
}

export function setLocale(next: Locale): void {
  if (next === current) {
    return;
  }
  current = next;
  try {
    localStorage.setItem(kStorageKey, next);
  } catch {
    // Not remembered across visits, but the switch still applies now.
  }
  document.documentElement.lang = next;
  for (const listener of listeners) {
    listener();
  }
}

export function onLocaleChange(listener: () => void): void {
  listeners.add(listener);
}

export type Params = Record<string, string | number>;

function interpolate(template: string, params?: Params): string {
  if (!params) {
    return template;
  }
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

export function t(key: MessageKey, params?: Params): string {
  return interpolate(kCatalogs[current][key] ?? en[key], params);
}

// Looks up a key built at run time (a status or identity type from the server); returns null when
// the catalogue has no such key so the caller can show the raw value instead.
export function tMaybe(key: string, params?: Params): string | null {
  const catalog = kCatalogs[current] as Record<string, string>;
  const value = catalog[key];
  return value === undefined ? null : interpolate(value, params);
}

// Plural-aware lookup: `base` + "_one" / "_other" chosen by Intl.PluralRules for the locale.
export function tn(base: string, n: number, params?: Params): string {
  const rule = new Intl.PluralRules(current).select(n);
  const all = { n: formatCount(n), ...params };
  return tMaybe(`${base}_${rule}`, all) ?? tMaybe(`${base}_other`, all) ?? String(n);
}

function formatCount(n: number): string {
  return new Intl.NumberFormat(current, { maximumFractionDigits: 1 }).format(n);
}

document.documentElement.lang = current;
