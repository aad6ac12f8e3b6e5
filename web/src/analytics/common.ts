// Pieces shared by the analytics and segment pages: the sub-navigation, a page frame, labels for
// RFM segment and lifecycle stage names, and small formatting helpers.
import { h, type Child } from '../dom';
import { formatNumber } from '../format';
import { t, tMaybe } from '../i18n';
import type { MessageKey } from '../i18n/en';

const kTabs: [string, MessageKey, string][] = [
  ['#/analytics/rfm', 'nav.rfm', 'tab-rfm'],
  ['#/analytics/lifecycle', 'nav.lifecycle', 'tab-lifecycle'],
  ['#/analytics/cohorts', 'nav.cohorts', 'tab-cohorts'],
  ['#/analytics/funnels', 'nav.funnels', 'tab-funnels'],
  ['#/segments', 'nav.segments', 'tab-segments'],
];

export function analyticsTabs(active: string): HTMLElement {
  return h(
    'nav',
    { class: 'tabs', 'aria-label': t('nav.analytics'), testid: 'analytics-tabs' },
    kTabs.map(([href, key, testid]) =>
      h('a', { href, class: href === active ? 'tab active' : 'tab', 'aria-current': href === active ? 'page' : null, testid }, t(key)),
    ),
  );
}

export function pageFrame(testid: string, title: string, active: string, ...children: Child[]): HTMLElement {
  return h(
    'section',
    { class: 'page', testid },
    analyticsTabs(active),
    h('div', { class: 'page-head' }, h('h1', null, title)),
    ...children,
  );
}

// RFM segment names come from the score map (English by default); known ones are translated.
export function segmentLabel(name: string | null | undefined): string {
  if (!name) {
    return t('common.none');
  }
  return tMaybe(`rfm.segment.${name}`) ?? name;
}

export function stageLabel(stage: string | null | undefined): string {
  if (!stage) {
    return t('common.none');
  }
  return tMaybe(`stage.${stage}`) ?? stage;
}

export function formatPercent(share: number | null | undefined, digits = 1): string {
  if (share === null || share === undefined || !Number.isFinite(share)) {
    return t('common.none');
  }
  return `${formatNumber(share * 100, digits)}%`;
}

export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return t('common.none');
  }
  if (seconds < 60) {
    return t('unit.seconds', { n: formatNumber(seconds) });
  }
  if (seconds < 3600) {
    return t('unit.minutes', { n: formatNumber(seconds / 60, 1) });
  }
  if (seconds < 86400) {
    return t('unit.hours', { n: formatNumber(seconds / 3600, 1) });
  }
  return t('unit.days', { n: formatNumber(seconds / 86400, 1) });
}

// "YYYY-MM" of a date, in UTC, shifted by `delta` months.
export function monthOf(date: Date, delta = 0): string {
  const d = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + delta, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}

export function isMonth(value: string): boolean {
  return /^\d{4}-(0[1-9]|1[0-2])$/.test(value);
}

export function loadingBox(): HTMLElement {
  return h('div', { class: 'empty' }, t('common.loading'));
}

export function stat(testid: string, label: string, value: string, compact = false): HTMLElement {
  return h('div', { class: compact ? 'stat stat-compact' : 'stat', testid },
    h('div', { class: 'stat-label' }, label),
    h('div', { class: 'stat-value', testid: `${testid}-value` }, value));
}
