import {
  api,
  type Customer,
  type Customer360,
  type EventItem,
  type Identity,
  type InteractionItem,
  type OrderItem,
  type TimelineItem,
} from '../api';
import { h, icon } from '../dom';
import { errorView } from '../errors';
import {
  formatCalendarDate,
  formatCountry,
  formatDate,
  formatDateTime,
  formatMoney,
  formatNumber,
  latest,
  orNone,
} from '../format';
import { t, tMaybe, tn } from '../i18n';
import { kIcons } from '../icons';
import { segmentLabel, stageLabel } from '../analytics/common';
import { setTitle, type View } from '../view';
import { customerHash } from './customers';

const kTimelinePage = 20;
const kMaxProperties = 4;

export function mount360(root: HTMLElement, id: string, backQuery: string): View {
  let data: Customer360 | null = null;
  let timeline: TimelineItem[] = [];
  let nextCursor: string | null = null;
  let error: unknown = null;
  let moreError: unknown = null;
  let loadingMore = false;
  let destroyed = false;

  async function loadFirst(): Promise<void> {
    error = null;
    render();
    try {
      const result = await api.customer360(id, kTimelinePage, null);
      if (destroyed) {
        return;
      }
      data = result;
      timeline = [...(result.timeline?.data ?? [])];
      nextCursor = result.timeline?.next_cursor ?? null;
    } catch (e) {
      if (destroyed) {
        return;
      }
      error = e;
    }
    render();
  }

  async function loadMore(): Promise<void> {
    if (!nextCursor || loadingMore) {
      return;
    }
    loadingMore = true;
    moreError = null;
    render();
    try {
      const result = await api.customer360(id, kTimelinePage, nextCursor);
      if (destroyed) {
        return;
      }
      const seen = new Set(timeline.map(itemKey));
      timeline.push(...(result.timeline?.data ?? []).filter((item) => !seen.has(itemKey(item))));
      nextCursor = result.timeline?.next_cursor ?? null;
    } catch (e) {
      if (destroyed) {
        return;
      }
      moreError = e;
    }
    loadingMore = false;
    render();
  }

  function render(): void {
    const back = h(
      'a',
      { class: 'back-link', href: customerHash(backQuery), testid: 'back-to-list' },
      icon(kIcons.back),
      t('common.back'),
    );
    if (error) {
      setTitle(t('c360.title'));
      root.replaceChildren(
        h(
          'section',
          { class: 'page', testid: 'customer-360' },
          back,
          errorView(error, { notFound: 'error.customerNotFound', onRetry: () => void loadFirst() }),
        ),
      );
      return;
    }
    if (!data) {
      setTitle(t('c360.title'));
      root.replaceChildren(
        h('section', { class: 'page', testid: 'customer-360' }, back, h('div', { class: 'empty' }, t('common.loading'))),
      );
      return;
    }
    const c = data.customer;
    const name = c.name || t('common.unnamed');
    setTitle(name);
    root.replaceChildren(
      h(
        'section',
        { class: 'page', testid: 'customer-360', 'data-customer-id': String(c.id) },
        back,
        h(
          'div',
          { class: 'c360-head' },
          h('div', { class: 'avatar', 'aria-hidden': 'true' }, initials(name)),
          h(
            'div',
            null,
            h('h1', { testid: 'customer-360-name' }, name),
            (c.masked?.length ?? 0) > 0 && h('p', { class: 'muted', testid: 'masked-notice' }, t('customers.masked')),
            h('div', { class: 'muted' }, t('c360.customerId', { id: String(c.id) })),
          ),
          c.tags?.length > 0 &&
            h('div', { class: 'tags', testid: 'customer-tags' }, c.tags.map((tag) => h('span', { class: 'tag' }, tag))),
        ),
        h(
          'div',
          { class: 'c360-grid' },
          h(
            'div',
            { class: 'c360-side' },
            profileCard(c),
            identitiesCard(data.identities ?? []),
            consentsCard(data),
            mergesCard(data),
          ),
          h('div', { class: 'c360-main' }, analyticsCard(data), aggregatesCard(data), timelineCard()),
        ),
      ),
    );
  }

  function profileCard(c: Customer): HTMLElement {
    const rows: [string, string, string][] = [
      ['email', t('field.email'), orNone(c.email)],
      ['phone', t('field.phone'), orNone(c.phone)],
      ['gender', t('field.gender'), genderLabel(c.gender)],
      ['birthday', t('field.birthday'), formatCalendarDate(c.birthday)],
      ['city', t('field.city'), orNone(c.city)],
      ['country', t('field.country'), formatCountry(c.country)],
      ['created_at', t('field.createdAt'), formatDateTime(c.created_at)],
      ['updated_at', t('field.updatedAt'), formatDateTime(c.updated_at)],
    ];
    const traits = Object.entries(c.traits ?? {});
    return card(
      t('c360.profile'),
      'profile-card',
      h(
        'dl',
        { class: 'kv' },
        rows.map(([key, label, value]) => [
          h('dt', null, label),
          h('dd', { testid: `profile-${key}` }, value),
        ]),
      ),
      traits.length > 0 &&
        h(
          'div',
          { class: 'traits' },
          h('h3', null, t('field.traits')),
          h(
            'dl',
            { class: 'kv', testid: 'profile-traits' },
            traits.map(([k, v]) => [h('dt', null, k), h('dd', null, valueText(v))]),
          ),
        ),
    );
  }

  function identitiesCard(identities: Identity[]): HTMLElement {
    return card(
      t('c360.identities'),
      'identities',
      identities.length === 0
        ? h('p', { class: 'muted' }, t('c360.identitiesEmpty'))
        : h(
            'ul',
            { class: 'identity-list' },
            identities.map((idn) =>
              h(
                'li',
                { testid: 'identity', 'data-type': idn.type },
                h('span', { class: 'identity-type', testid: 'identity-type' }, tMaybe(`identity.${idn.type}`) ?? idn.type),
                h('span', { class: 'identity-value', testid: 'identity-value' }, idn.value),
                idn.first_seen && h('span', { class: 'muted small' }, t('c360.firstSeen', { time: formatDate(idn.first_seen) })),
              ),
            ),
          ),
    );
  }

  // Records a consent change from the console (source "console"); the ledger keeps the history, then the
  // card shows the new current state.
  async function recordConsent(purpose: string, channel: string, granted: boolean): Promise<void> {
    const change: { purpose: string; channel?: string; granted: boolean } = { purpose, granted };
    if (purpose === 'marketing' && channel) change.channel = channel;
    try {
      await api.putConsents(id, { source: 'console', consents: [change] });
      await loadFirst();
    } catch (e) {
      window.alert(e instanceof Error ? e.message : String(e));
    }
  }

  function consentForm(): HTMLElement {
    const purposes = ['marketing', 'profiling', 'third_party_sharing', 'sensitive', 'cross_border'];
    const channels = ['email', 'sms', 'phone', 'wechat', 'push'];
    const purpose = h(
      'select',
      { testid: 'consent-purpose', 'aria-label': t('c360.consentPurpose') },
      purposes.map((p) => h('option', { value: p }, tMaybe(`consent.purpose.${p}`) ?? p)),
    ) as HTMLSelectElement;
    const channel = h(
      'select',
      { testid: 'consent-channel', 'aria-label': t('c360.consentChannel') },
      channels.map((c) => h('option', { value: c }, tMaybe(`consent.channel.${c}`) ?? c)),
    ) as HTMLSelectElement;
    purpose.onchange = () => {
      channel.disabled = purpose.value !== 'marketing';  // only marketing is asked per channel
    };
    return h(
      'div',
      { class: 'consent-form', testid: 'consent-form' },
      purpose,
      channel,
      h('button', { type: 'button', testid: 'consent-grant', onclick: () => void recordConsent(purpose.value, channel.value, true) },
        t('c360.consentGrant')),
      h('button', { type: 'button', testid: 'consent-withdraw', onclick: () => void recordConsent(purpose.value, channel.value, false) },
        t('c360.consentWithdraw')),
    );
  }

  // Current consent state (newest ledger row per purpose and channel); none recorded means no consent.
  function consentsCard(d: Customer360): HTMLElement {
    const consents = d.consents ?? [];
    const body = consentsList(consents);
    const wrapper = h('div', null, body, consentForm());
    return card(t('c360.consents'), 'consents', wrapper);
  }

  function consentsList(consents: NonNullable<Customer360['consents']>): HTMLElement {
    return (
      consents.length === 0
        ? h('p', { class: 'muted small', testid: 'consents-empty' }, t('c360.consentsNone'))
        : h(
            'ul',
            { class: 'merge-list' },
            consents.map((c) =>
              h(
                'li',
                { testid: 'consent' },
                h(
                  'div',
                  null,
                  tMaybe(`consent.purpose.${c.purpose}`) ?? c.purpose,
                  c.channel ? ` · ${tMaybe(`consent.channel.${c.channel}`) ?? c.channel}` : '',
                  ': ',
                  h('strong', null, c.granted ? t('c360.consentGranted') : t('c360.consentWithdrawn')),
                ),
                h('div', { class: 'muted small' }, t('c360.consentSource', { source: c.source }), ' · ', formatDateTime(c.at)),
              ),
            ),
          )
    );
  }

  function mergesCard(d: Customer360): HTMLElement | null {
    const merges = d.merges ?? [];
    if (merges.length === 0) {
      return null;
    }
    return card(
      t('c360.merges'),
      'merges',
      h(
        'ul',
        { class: 'merge-list' },
        merges.map((m) =>
          h(
            'li',
            { testid: 'merge' },
            h('div', null, t('c360.mergeLine', { from: String(m.from), into: String(m.into) })),
            h('div', { class: 'muted small' }, t('c360.mergeReason', { reason: m.reason }), ' · ', formatDateTime(m.at)),
          ),
        ),
      ),
    );
  }

  // RFM scores, lifecycle stage and segment memberships (issue 4); the card is left out when the
  // server sent none of them, and each part shows "—" when it is null.
  function analyticsCard(d: Customer360): HTMLElement | null {
    if (d.rfm === undefined && d.lifecycle === undefined && d.segments === undefined) {
      return null;
    }
    const rfm = d.rfm ?? null;
    const scores = rfm && rfm.r !== null ? `R${rfm.r} F${rfm.f ?? '?'} M${rfm.m ?? '?'}` : t('common.none');
    return card(
      t('c360.analytics'),
      'customer-analytics',
      h(
        'div',
        { class: 'stats' },
        h('div', { class: 'stat stat-compact', testid: 'c360-rfm' },
          h('div', { class: 'stat-label' }, t('c360.rfmScore')),
          h('div', { class: 'stat-value', testid: 'c360-rfm-score', 'data-score': rfm?.score ?? '' }, scores)),
        h('div', { class: 'stat stat-compact', testid: 'c360-rfm-segment' },
          h('div', { class: 'stat-label' }, t('c360.rfmSegment')),
          h('div', { class: 'stat-value', testid: 'c360-rfm-segment-value' }, segmentLabel(rfm?.segment))),
        h('div', { class: 'stat stat-compact', testid: 'c360-lifecycle' },
          h('div', { class: 'stat-label' }, t('c360.lifecycle')),
          h('div', { class: 'stat-value', testid: 'c360-lifecycle-stage', 'data-stage': d.lifecycle?.stage ?? '' }, stageLabel(d.lifecycle?.stage)),
          d.lifecycle?.since && h('div', { class: 'stat-sub muted' }, t('c360.since', { time: formatDate(d.lifecycle.since) }))),
      ),
      h('div', { class: 'muted small' }, t('c360.segments')),
      (d.segments ?? []).length === 0
        ? h('p', { class: 'muted', testid: 'c360-segments-empty' }, t('c360.noSegments'))
        : h('ul', { class: 'tags c360-segments', testid: 'c360-segments' },
            (d.segments ?? []).map((m) =>
              h('li', { class: 'tag', testid: 'c360-segment', title: m.entered_at ? t('c360.enteredAt', { time: formatDateTime(m.entered_at) }) : null },
                h('a', { href: `#/segments/${m.id}` }, m.name)))),
    );
  }

  function aggregatesCard(d: Customer360): HTMLElement {
    const a = { ...(d.customer.aggregates ?? {}), ...(d.aggregates ?? {}) };
    const avg = a.avg_days_between_orders;
    const stat = (key: string, label: string, value: string, sub?: string | false, compact = false) =>
      h(
        'div',
        { class: compact ? 'stat stat-compact' : 'stat', testid: `agg-${key}` },
        h('div', { class: 'stat-label' }, label),
        h('div', { class: 'stat-value', testid: `agg-${key}-value` }, value),
        sub && h('div', { class: 'stat-sub muted' }, sub),
      );
    return card(
      t('agg.title'),
      'aggregates',
      h(
        'div',
        { class: 'stats' },
        stat('order-count', t('agg.orderCount'), formatNumber(a.order_count ?? 0)),
        stat('total-spend', t('agg.totalSpend'), formatMoney(a.total_spend_minor ?? 0, a.base_currency)),
        stat('first-order', t('agg.firstOrder'), formatDate(a.first_order_at), false, true),
        stat('last-order', t('agg.lastOrder'), formatDate(a.last_order_at), false, true),
        stat(
          'avg-days',
          t('agg.avgDays'),
          avg === null || avg === undefined ? t('common.none') : tn('agg.days', Math.round(avg * 10) / 10),
        ),
        stat('last-activity', t('agg.lastActivity'), formatDateTime(latest(a.last_event_at, a.last_order_at)), false, true),
        stat(
          'events',
          t('agg.events'),
          formatNumber(a.event_count ?? 0),
          a.event_count_30d !== undefined && t('agg.events30d', { n: formatNumber(a.event_count_30d) }),
        ),
      ),
    );
  }

  function timelineCard(): HTMLElement {
    return card(
      t('timeline.title'),
      'timeline',
      timeline.length === 0
        ? h('p', { class: 'muted', testid: 'timeline-empty' }, t('timeline.empty'))
        : h('ol', { class: 'timeline' }, timeline.map(timelineEntry)),
      moreError !== null && errorView(moreError, { onRetry: () => void loadMore() }),
      nextCursor
        ? h(
            'button',
            { class: 'btn btn-block', type: 'button', testid: 'timeline-load-more', disabled: loadingMore, onclick: () => void loadMore() },
            loadingMore ? t('common.loading') : t('timeline.loadMore'),
          )
        : timeline.length > 0 && h('p', { class: 'muted small center', testid: 'timeline-end' }, t('timeline.end')),
    );
  }

  void loadFirst();
  return {
    render,
    destroy() {
      destroyed = true;
    },
  };
}

function itemKey(item: TimelineItem): string {
  return `${item.kind}:${String(item.id)}`;
}

function card(title: string, testid: string, ...children: (Node | null | false | undefined)[]): HTMLElement {
  return h('section', { class: 'card', testid }, h('h2', { class: 'card-title' }, title), ...children);
}

function initials(name: string): string {
  const trimmed = name.trim();
  if (!trimmed) {
    return '?';
  }
  // Chinese apps show the last two characters of a name (the given name, e.g. 晓明 for 黄晓明);
  // Latin names show initials.
  if (/[\u3400-\u9fff]/.test(trimmed)) {
    return Array.from(trimmed.replace(/\s+/g, '')).slice(-2).join('');
  }
  return trimmed
    .split(/\s+/)
    .slice(0, 2)
    .map((part) => Array.from(part)[0]?.toUpperCase() ?? '')
    .join('');
}

function genderLabel(gender: string | null): string {
  if (!gender) {
    return t('gender.unknown');
  }
  return tMaybe(`gender.${gender.toLowerCase()}`) ?? gender;
}

function valueText(v: unknown): string {
  if (v === null || v === undefined) {
    return t('common.none');
  }
  if (typeof v === 'string') {
    return v;
  }
  if (typeof v === 'number' || typeof v === 'boolean') {
    return String(v);
  }
  const json = JSON.stringify(v);
  return json.length > 80 ? `${json.slice(0, 77)}…` : json;
}

function timelineEntry(item: TimelineItem): HTMLElement {
  let iconSvg: string;
  let kindLabel: string;
  let title: string;
  let details: Node[];
  switch (item.kind) {
    case 'order':
      ({ iconSvg, kindLabel, title, details } = orderEntry(item));
      break;
    case 'interaction':
      ({ iconSvg, kindLabel, title, details } = interactionEntry(item));
      break;
    case 'event':
      ({ iconSvg, kindLabel, title, details } = eventEntry(item));
      break;
    default: {
      const unknown = item as { kind?: string };
      iconSvg = kIcons.event;
      kindLabel = String(unknown.kind ?? '');
      title = kindLabel;
      details = [];
    }
  }
  const at = (item as { at?: string }).at;
  return h(
    'li',
    { class: `tl-item tl-${item.kind}`, testid: 'timeline-item', 'data-kind': item.kind, 'data-id': String(item.id) },
    h('div', { class: 'tl-icon' }, icon(iconSvg)),
    h(
      'div',
      { class: 'tl-body' },
      h(
        'div',
        { class: 'tl-head' },
        h('span', { class: 'tl-kind' }, kindLabel),
        h('span', { class: 'tl-title', testid: 'timeline-title' }, title),
        h('time', { class: 'tl-time muted', datetime: at ?? '', testid: 'timeline-time' }, formatDateTime(at)),
      ),
      details,
    ),
  );
}

interface EntryParts {
  iconSvg: string;
  kindLabel: string;
  title: string;
  details: Node[];
}

function orderEntry(o: OrderItem): EntryParts {
  const items = o.items ?? [];
  const quantity = items.reduce((sum, line) => sum + (Number(line.quantity) || 0), 0);
  const status = o.status ? tMaybe(`order.status.${o.status.toLowerCase()}`) ?? o.status : null;
  const details: Node[] = [
    h(
      'div',
      { class: 'tl-meta' },
      h('strong', { testid: 'order-total' }, formatMoney(o.total_minor, o.currency)),
      items.length > 0 && h('span', null, tn('order.items', quantity)),
      status && h('span', { class: 'badge' }, status),
    ),
  ];
  if (items.length > 0) {
    details.push(
      h(
        'ul',
        { class: 'tl-lines', testid: 'order-items' },
        items.map((line) =>
          h(
            'li',
            { testid: 'order-item', 'data-sku': line.sku ?? '' },
            h('span', { class: 'line-name' }, line.name || line.sku || t('common.none')),
            line.sku && line.name && h('span', { class: 'muted small' }, ` ${line.sku}`),
            h('span', { class: 'line-qty' }, ` × ${formatNumber(line.quantity)}`),
            h('span', { class: 'line-price muted' }, formatMoney(line.unit_price_minor, o.currency)),
          ),
        ),
      ),
    );
  }
  return {
    iconSvg: kIcons.order,
    kindLabel: t('kind.order'),
    title: t('order.title', { id: o.external_id || String(o.id) }),
    details,
  };
}

function eventEntry(e: EventItem): EntryParts {
  const type = (e.type || 'track').toLowerCase();
  const typeLabel = tMaybe(`event.type.${type}`) ?? e.type;
  let title = e.name || typeLabel;
  if ((type === 'page' || type === 'screen') && e.name) {
    title = t('event.pageView', { name: e.name });
  }
  const props = Object.entries(e.properties ?? {}).filter(([, v]) => v !== null && v !== undefined && v !== '');
  const shown = props.slice(0, kMaxProperties);
  const details: Node[] = [];
  if (shown.length > 0) {
    details.push(
      h(
        'dl',
        { class: 'tl-props', testid: 'event-properties' },
        shown.map(([k, v]) => h('div', null, h('dt', null, k), h('dd', null, valueText(v)))),
        props.length > kMaxProperties && h('div', { class: 'muted' }, `+${props.length - kMaxProperties}`),
      ),
    );
  }
  const iconSvg = type === 'page' || type === 'screen' ? kIcons.page : type === 'identify' ? kIcons.identify : kIcons.event;
  return { iconSvg, kindLabel: typeLabel, title, details };
}

function interactionEntry(i: InteractionItem): EntryParts {
  const kind = (i.interaction_kind || 'note').toLowerCase();
  const kindLabel = tMaybe(`interaction.${kind}`) ?? i.interaction_kind;
  const direction = i.direction
    ? tMaybe(`direction.${kind}.${i.direction}`) ?? tMaybe(`direction.${i.direction}`) ?? i.direction
    : null;
  const iconSvg = kind in kIcons ? kIcons[kind as keyof typeof kIcons] : kIcons.note;
  const details: Node[] = [];
  if (direction) {
    details.push(h('div', { class: 'tl-meta' }, h('span', { class: 'badge' }, direction)));
  }
  if (i.body) {
    details.push(h('p', { class: 'tl-text', testid: 'interaction-body' }, i.body));
  }
  return { iconSvg, kindLabel, title: i.subject || kindLabel, details };
}
