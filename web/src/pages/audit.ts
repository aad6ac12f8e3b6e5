// 审计 / Audit: the hash-chained ledger for the admin and auditor roles, newest first, with filters.
// Entries hold ids and field names only; the server checks the role (403 shows as an error).
import { api, type AuditEntry, type AuditFilters } from '../api';
import { PagedTable } from '../components/paged-table';
import { h } from '../dom';
import { formatDateTime, orNone } from '../format';
import { t } from '../i18n';
import { setTitle, type View } from '../view';

const kPageSize = 50;
const kFilterKeys = ['actor', 'action', 'object_type', 'object_id', 'from', 'to'] as const;

export function mountAudit(root: HTMLElement): View {
  const filters: AuditFilters = {};
  const table = new PagedTable<AuditEntry>({
    prefix: 'audit',
    fetch: (cursor) => api.audit(filters, kPageSize, cursor),
    columns: ['audit.col.seq', 'audit.col.at', 'audit.col.actor', 'audit.col.action', 'audit.col.object',
      'audit.col.fields', 'audit.col.ip', 'audit.col.outcome'],
    empty: 'audit.empty',
    row: (e) => h('tr', { testid: 'audit-row', 'data-seq': String(e.seq) },
      h('td', { class: 'num' }, String(e.seq)),
      h('td', { class: 'nowrap' }, formatDateTime(e.at)),
      h('td', null, orNone(e.actor)),
      h('td', null, orNone(e.action)),
      h('td', null, orNone([e.object_type, e.object_id].filter(Boolean).join(' #'))),
      h('td', null, orNone([...(e.fields ?? []), ...(e.ids ?? []).map((id) => `#${id}`)].join(', '))),
      h('td', { class: 'nowrap' }, orNone(e.ip)),
      h('td', null, orNone(e.outcome))),
  });

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
          void table.reset();
        },
      },
      inputs,
      h('button', { class: 'btn btn-primary', type: 'submit', testid: 'audit-search' }, t('audit.search')),
    );
    root.replaceChildren(
      h('section', { class: 'page', testid: 'audit-page' },
        h('div', { class: 'page-head' }, h('h1', null, t('audit.title'))),
        h('p', { class: 'muted' }, t('audit.hint')),
        form, table.element),
    );
    table.render();
  }

  render();
  void table.load();
  return {
    render,
    destroy() {
      table.destroy();
    },
  };
}
