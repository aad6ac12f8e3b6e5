// Locale-aware formatting of the API's values: integer minor-unit money with an ISO currency, ISO
// 8601 UTC instants shown in the browser's time zone, plain dates, country codes.
import { locale, t } from './i18n';

const kNone = (): string => t('common.none');

// Minor-unit exponent of a currency (CNY 2, JPY 0, KWD 3), as Intl knows it.
export function currencyDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
      .maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

export function formatMoney(minor: number | null | undefined, currency: string | null | undefined): string {
  if (minor === null || minor === undefined || !Number.isFinite(minor)) {
    return kNone();
  }
  if (!currency) {
    return formatNumber(minor);
  }
  const digits = currencyDigits(currency);
  const major = minor / 10 ** digits;
  try {
    return new Intl.NumberFormat(locale(), {
      style: 'currency',
      currency,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }).format(major);
  } catch {
    return `${major.toFixed(digits)} ${currency}`;
  }
}

export function formatNumber(n: number | null | undefined, maxFractionDigits = 0): string {
  if (n === null || n === undefined || !Number.isFinite(n)) {
    return kNone();
  }
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: maxFractionDigits }).format(n);
}

function parseInstant(iso: string | null | undefined): Date | null {
  if (!iso) {
    return null;
  }
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function formatDateTime(iso: string | null | undefined): string {
  const d = parseInstant(iso);
  if (!d) {
    return iso ? iso : kNone();
  }
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

export function formatDate(iso: string | null | undefined): string {
  const d = parseInstant(iso);
  if (!d) {
    return iso ? iso : kNone();
  }
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium' }).format(d);
}

// A calendar date such as a birthday ("1990-05-17") has no time zone: format it as UTC so it never
// shifts by a day.
export function formatCalendarDate(value: string | null | undefined): string {
  if (!value) {
    return kNone();
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) {
    return value;
  }
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'long', timeZone: 'UTC' }).format(d);
}

export function formatCountry(code: string | null | undefined): string {
  if (!code) {
    return kNone();
  }
  if (/^[A-Za-z]{2}$/.test(code)) {
    try {
      return new Intl.DisplayNames([locale()], { type: 'region' }).of(code.toUpperCase()) ?? code;
    } catch {
      return code;
    }
  }
  return code;
}

// The latest of several optional instants, or null.
export function latest(...values: (string | null | undefined)[]): string | null {
  let best: string | null = null;
  let bestTime = -Infinity;
  for (const v of values) {
    const d = parseInstant(v);
    if (d && d.getTime() > bestTime) {
      best = v ?? null;
      bestTime = d.getTime();
    }
  }
  return best;
}

export function orNone(value: string | null | undefined): string {
  return value === null || value === undefined || value === '' ? kNone() : value;
}
