// A server-paged list shown as a table, used by the audit ledger and the privacy requests: it fetches a
// page by cursor, shows loading / the error (with retry) / the empty notice / the rows, and a pager whose
// "previous" walks back through the cursors seen. A slower answer to an older request is dropped, so
// quick filter changes cannot show stale rows.
import type { Page } from '../api';
import { h } from '../dom';
import { errorView } from '../errors';
import { t } from '../i18n';
import type { MessageKey } from '../i18n/en';

export interface PagedTableOptions<T> {
  prefix: string; // test ids: `${prefix}-results`, `-table`, `-empty`, `-prev`, `-next`
  fetch: (cursor: string | null) => Promise<Page<T>>;
  columns: readonly MessageKey[];
  empty: MessageKey;
  row: (item: T) => HTMLTableRowElement;
}

export class PagedTable<T> {
  readonly element: HTMLElement;
  private stack: (string | null)[] = [];
  private cursor: string | null = null;
  private page: Page<T> | null = null;
  private error: unknown = null;
  private loading = false;
  private seq = 0;
  private destroyed = false;

  constructor(private readonly options: PagedTableOptions<T>) {
    this.element = h('div', { class: 'results', testid: `${options.prefix}-results` });
  }

  // Back to the first page (after a filter change) and load it.
  reset(): Promise<void> {
    this.stack = [];
    this.cursor = null;
    return this.load();
  }

  async load(): Promise<void> {
    const mine = ++this.seq;
    this.loading = true;
    this.error = null;
    this.render();
    try {
      const next = await this.options.fetch(this.cursor);
      if (mine !== this.seq || this.destroyed) {
        return;
      }
      this.page = next;
    } catch (e) {
      if (mine !== this.seq || this.destroyed) {
        return;
      }
      this.page = null;
      this.error = e;
    }
    this.loading = false;
    this.render();
  }

  destroy(): void {
    this.destroyed = true;
  }

  render(): void {
    const o = this.options;
    const page = this.page;
    const rows = page?.data ?? [];
    const body: Node[] = [];
    if (this.error) {
      body.push(errorView(this.error, { onRetry: () => void this.load() }));
    } else if (page && rows.length === 0) {
      body.push(h('div', { class: 'empty', testid: `${o.prefix}-empty` }, t(o.empty)));
    } else if (page) {
      body.push(h('div', { class: 'table-wrap' }, h('table', { class: 'table', testid: `${o.prefix}-table` },
        h('thead', null, h('tr', null, o.columns.map((key) => h('th', { scope: 'col' }, t(key))))),
        h('tbody', null, rows.map((item) => o.row(item))))));
    } else if (this.loading) {
      body.push(h('div', { class: 'empty' }, t('common.loading')));
    }
    const pager = h('div', { class: 'pager' },
      h('span', { class: 'pager-info' }, t('customers.page', { n: this.stack.length + 1 })),
      h('span', { class: 'pager-buttons' },
        h('button', { class: 'btn', type: 'button', testid: `${o.prefix}-prev`, disabled: this.stack.length === 0 || this.loading,
          onclick: () => { this.cursor = this.stack.pop() ?? null; void this.load(); } }, t('customers.prev')),
        h('button', { class: 'btn', type: 'button', testid: `${o.prefix}-next`, disabled: !page?.next_cursor || this.loading,
          onclick: () => { this.stack.push(this.cursor); this.cursor = page?.next_cursor ?? null; void this.load(); } },
        t('customers.next')),
      ));
    this.element.replaceChildren(...body, pager);
  }
}
