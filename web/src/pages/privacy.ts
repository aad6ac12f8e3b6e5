// 隐私请求 / Privacy requests (admin, privacy.manage): the data-subject request list with status, deadline and
// overdue flag, and one request with its actions — verify the requester, fulfil (a step-up operation: a stale
// sign-in gets the password dialog), cancel a scheduled erasure during its grace period — and the result (the
// erasure certificate, or the export summary).
import { api, type PrivacyRequest } from '../api';
import { PagedTable } from '../components/paged-table';
import { h } from '../dom';
import { errorView } from '../errors';
import { formatDateTime, orNone } from '../format';
import { t, tMaybe } from '../i18n';
import type { MessageKey } from '../i18n/en';
import { setTitle, type View } from '../view';

const kPageSize = 50;
const kMethods = ['id_document', 'account', 'email', 'phone', 'in_person', 'other'] as const;

function statusLabel(status: string): string {
  return tMaybe(`privacy.status.${status}`) ?? status;
}

function kindLabel(kind: string): string {
  return tMaybe(`privacy.kind.${kind}`) ?? kind;
}

export function mountPrivacyRequests(root: HTMLElement): View {
  let overdueOnly = false;
  const table = new PagedTable<PrivacyRequest>({
    prefix: 'privacy',
    fetch: (cursor) => api.privacyRequests(overdueOnly, kPageSize, cursor),
    columns: ['privacy.col.id', 'privacy.col.customer', 'privacy.col.kind', 'privacy.col.status',
      'privacy.col.verification', 'privacy.col.due'],
    empty: 'privacy.empty',
    row: (r) => h('tr', { testid: 'privacy-row', 'data-id': String(r.id) },
      h('td', { class: 'num' }, h('a', { href: `#/privacy/requests/${r.id}`, testid: `privacy-open-${r.id}` }, `#${r.id}`)),
      h('td', null, h('a', { href: `#/customers/${r.customer_id}` }, `#${r.customer_id}`)),
      h('td', null, `${kindLabel(r.kind)} · ${r.jurisdiction.toUpperCase()}`),
      h('td', null, h('span', { class: 'badge', testid: 'privacy-status' }, statusLabel(r.status))),
      h('td', null, r.verification === 'verified' ? t('privacy.verified') : t('privacy.unverified')),
      h('td', { class: 'nowrap' }, formatDateTime(r.due_at),
        r.overdue && h('span', { class: 'badge badge-warn', testid: 'privacy-overdue-badge' }, ' ', t('privacy.overdue')))),
  });

  function render(): void {
    setTitle(t('privacy.title'));
    const overdue = h('input', { type: 'checkbox', testid: 'privacy-overdue', checked: overdueOnly,
      onchange: () => { overdueOnly = overdue.checked; void table.reset(); } });
    root.replaceChildren(
      h('section', { class: 'page', testid: 'privacy-page' },
        h('div', { class: 'page-head' }, h('h1', null, t('privacy.title'))),
        h('p', { class: 'muted' }, t('privacy.hint')),
        h('label', { class: 'filter-field' }, overdue, ' ', t('privacy.overdueOnly')),
        table.element),
    );
    table.render();
  }

  render();
  void table.load();
  return { render, destroy() { table.destroy(); } };
}

export function mountPrivacyRequest(root: HTMLElement, id: string): View {
  let request: PrivacyRequest | null = null;
  let error: unknown = null;
  let actionError: unknown = null;
  let busy = false;
  let destroyed = false;
  let method: string = kMethods[0];

  async function load(): Promise<void> {
    try {
      const next = await api.privacyRequest(id);
      if (destroyed) return;
      request = next;
      error = null;
    } catch (e) {
      if (destroyed) return;
      error = e;
    }
    render();
  }

  async function act(action: () => Promise<unknown>): Promise<void> {
    if (busy) return;
    busy = true;
    actionError = null;
    render();
    try {
      await action();
    } catch (e) {
      actionError = e;
    }
    busy = false;
    if (!destroyed) await load();
  }

  function field(label: MessageKey, value: Node | string, testid?: string): Node {
    return h('div', { class: 'kv' }, h('dt', null, t(label)), h('dd', testid ? { testid } : null, value));
  }

  function render(): void {
    setTitle(t('privacy.requestTitle', { id }));
    const back = h('a', { href: '#/privacy', class: 'back-link' }, t('privacy.back'));
    if (error) {
      root.replaceChildren(h('section', { class: 'page' }, back, errorView(error, { onRetry: () => void load() })));
      return;
    }
    if (!request) {
      root.replaceChildren(h('section', { class: 'page' }, back, h('div', { class: 'empty' }, t('common.loading'))));
      return;
    }
    const r = request;
    const actions: Node[] = [];
    if (r.status === 'open' && r.verification !== 'verified') {
      const select = h('select', { testid: 'privacy-verify-method', 'aria-label': t('privacy.method'),
        onchange: () => { method = select.value; } },
      kMethods.map((m) => h('option', { value: m, selected: m === method }, t(`privacy.method.${m}` as MessageKey))));
      actions.push(h('div', { class: 'action-row' }, select,
        h('button', { class: 'btn', type: 'button', disabled: busy, testid: 'privacy-verify',
          onclick: () => void act(() => api.verifyPrivacyRequest(id, method)) }, t('privacy.verify'))));
    }
    if (r.status === 'open') {
      actions.push(h('button', { class: 'btn btn-primary', type: 'button', testid: 'privacy-fulfil',
        disabled: busy || r.verification !== 'verified', title: r.verification !== 'verified' ? t('privacy.verifyFirst') : '',
        onclick: () => void act(() => api.fulfilPrivacyRequest(id)) },
      r.kind === 'erase' ? t('privacy.fulfilErase') : t('privacy.fulfil')));
    }
    if (r.status === 'scheduled') {
      actions.push(h('button', { class: 'btn', type: 'button', disabled: busy, testid: 'privacy-cancel',
        onclick: () => void act(() => api.cancelPrivacyRequest(id)) }, t('privacy.cancel')));
    }
    const result = r.result && Object.keys(r.result).length > 0
      ? h('section', { class: 'card' },
        h('h2', null, r.kind === 'erase' && r.status === 'completed' ? t('privacy.certificate') : t('privacy.result')),
        h('pre', { class: 'json', testid: 'privacy-result' }, JSON.stringify(r.result, null, 2)))
      : null;
    root.replaceChildren(
      h('section', { class: 'page', testid: 'privacy-request-page' }, back,
        h('div', { class: 'page-head' }, h('h1', null, t('privacy.requestTitle', { id: String(r.id) }))),
        h('dl', { class: 'kv-list' },
          field('privacy.col.customer', h('a', { href: `#/customers/${r.customer_id}` }, `#${r.customer_id}`)),
          field('privacy.col.kind', `${kindLabel(r.kind)} · ${r.jurisdiction.toUpperCase()}`),
          field('privacy.col.status', statusLabel(r.status), 'privacy-detail-status'),
          field('privacy.col.received', formatDateTime(r.received_at)),
          field('privacy.col.due', r.overdue ? `${formatDateTime(r.due_at)} · ${t('privacy.overdue')}` : formatDateTime(r.due_at)),
          field('privacy.col.verification', r.verification === 'verified'
            ? `${t('privacy.verified')} · ${r.verification_method} · ${r.verified_by} · ${formatDateTime(r.verified_at)}`
            : t('privacy.unverified'), 'privacy-detail-verification'),
          r.scheduled_for && field('privacy.col.scheduled', formatDateTime(r.scheduled_for), 'privacy-detail-scheduled'),
          field('privacy.col.note', orNone(r.note))),
        r.status === 'scheduled' && h('p', { class: 'notice', testid: 'privacy-grace-notice' }, t('privacy.graceNotice')),
        actionError ? errorView(actionError) : null,
        actions.length > 0 && h('div', { class: 'actions', testid: 'privacy-actions' }, actions),
        result),
    );
  }

  render();
  void load();
  return { render, destroy() { destroyed = true; } };
}
