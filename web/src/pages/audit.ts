// 审计 / Audit: the hash-chained ledger for the admin and auditor roles, newest first, with filters.
// Entries hold ids and field names only; the server checks the role (403 shows as an error).
import { api, type AuditEntry, type AuditFilters, type Page } from '../api';
import { h } from '../dom';
import { errorView } from '../errors';
import { formatDateTime, orNone } from '../format';
import { t } from '../i18n';
import { setTitle, type View } from '../view';

const kPageSize = 50;
const kFilterKeys = ['actor', 'action', 'object_type', 'object_id', 'from', 'to'] as const;

export function mountAudit(root: HTMLElement): View {
  const filters: AuditFilters = {};
  let stack: (string | null)[] = [];
  let cursor: string | null = null;
  let page: Page<AuditEntry> | null = null;
  let error: unknown = null;
  let loading = false;
  let requestSeq = 0;
  let destroyed = false;
  const results = h('div', { class: 'results', testid: 'audit-results' });

  async function load(): Promise<void> {
    const seq = ++requestSeq;
    loading = true;
    error = null;
    renderResults();
    try {
      const next = await api.audit(filters, kPageSize, cursor);
      if (seq !== requestSeq || destroyed) {
        return;
      }
      page = next;
    } catch (e) {
      if (seq !== requestSeq || destroyed) {
        return;
      }
      page = null;
      error = e;
    }
    loading = false;
    renderResults();
  }

  function render(): void {
    setTitle(t('audit.title'));
    const inputs = kFilterKeys.map((key) =>
      h('label', { class: 'filter-field' }, h('span', { class: 'muted' }, t(`audit.filter.${key}`)),
        h('input', { name: key, class: 'search-input', value: filters[key] ?? '', testid: `audit-filter-${key}`,
          placeholder: key === 'from' || key === 'to' ? '2026-01-31T00:00:00Z' : '' })),
    );
    const form = h(
      'form',
      {
        class: 'search-bar audit-filters',
        testid: 'audit-filter-form',
        onsubmit: (e) => {
          e.preventDefault();
          for (const key of kFilterKeys) {
            const input = form.querySelector<HTMLInputElement>(`input[name="${key}"]`);
            filters[key] = input?.value.trim() ?? '';
          }
          stack = [];
          cursor = null;
          void load();
        },
      },
      inputs,
      h('button', { class: 'btn btn-primary', type: 'submit', testid: 'audit-search' }, t('audit.search')),
    );
    root.replaceChildren(
      h('section', { class: 'page', testid: 'audit-page' },
        h('div', { class: 'page-head' }, h('h1', null, t('audit.title'))),
        h('p', { class: 'muted' }, t('audit.hint')),
        form, results),
    );
    renderResults();
  }

  function renderResults(): void {
    const rows = page?.data ?? [];
    const body: Node[] = [];
    if (error) {
      body.push(errorView(error, { onRetry: () => void load() }));
    } else if (page && rows.length === 0) {
      body.push(h('div', { class: 'empty', testid: 'audit-empty' }, t('audit.empty')));
    } else if (page) {
      const head = (['audit.col.seq', 'audit.col.at', 'audit.col.actor', 'audit.col.action', 'audit.col.object',
        'audit.col.fields', 'audit.col.ip', 'audit.col.outcome'] as const).map((key) => h('th', { scope: 'col' }, t(key)));
      body.push(h('div', { class: 'table-wrap' }, h('table', { class: 'table', testid: 'audit-table' },
        h('thead', null, h('tr', null, head)),
        h('tbody', null, rows.map((e) => h('tr', { testid: 'audit-row', 'data-seq': String(e.seq) },
          h('td', { class: 'num' }, String(e.seq)),
          h('td', { class: 'nowrap' }, formatDateTime(e.at)),
          h('td', null, orNone(e.actor)),
          h('td', null, orNone(e.action)),
          h('td', null, orNone([e.object_type, e.object_id].filter(Boolean).join(' #'))),
          h('td', null, orNone([...(e.fields ?? []), ...(e.ids ?? []).map((id) => `#${id}`)].join(', '))),
          h('td', { class: 'nowrap' }, orNone(e.ip)),
          h('td', null, orNone(e.outcome)),
        ))))));
    } else if (loading) {
      body.push(h('div', { class: 'empty' }, t('common.loading')));
    }
    const pager = h('div', { class: 'pager' },
      h('span', { class: 'pager-info' }, t('customers.page', { n: stack.length + 1 })),
      h('span', { class: 'pager-buttons' },
        h('button', { class: 'btn', type: 'button', testid: 'audit-prev', disabled: stack.length === 0 || loading,
          onclick: () => { cursor = stack.pop() ?? null; void load(); } }, t('customers.prev')),
        h('button', { class: 'btn', type: 'button', testid: 'audit-next', disabled: !page?.next_cursor || loading,
          onclick: () => { stack.push(cursor); cursor = page?.next_cursor ?? null; void load(); } }, t('customers.next')),
      ));
    results.replaceChildren(...body, pager);
  }

  render();
  void load();
  return {
    render,
    destroy() {
      destroyed = true;
    },
  };
}
