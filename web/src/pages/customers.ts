import { api, type Customer, type Page } from '../api';
import { h, icon } from '../dom';
import { errorView } from '../errors';
import { formatCountry, formatDateTime, formatMoney, formatNumber, latest, orNone } from '../format';
import { t, tn } from '../i18n';
import { kIcons } from '../icons';
import { navigate, setTitle, type View } from '../view';

const kPageSize = 25;
const kSearchDelayMs = 300;

// Kept across visits so "back" from a customer returns to the same search and page. `stack` holds
// the cursor of every earlier page (null for the first), since the API only gives next_cursor.
interface ListState {
  q: string;
  stack: (string | null)[];
  cursor: string | null;
  page: Page<Customer> | null;
  error: unknown;
  loading: boolean;
}

const state: ListState = { q: '', stack: [], cursor: null, page: null, error: null, loading: false };

export function customerHash(q: string): string {
  return q ? `#/customers?q=${encodeURIComponent(q)}` : '#/customers';
}

export function mountCustomers(root: HTMLElement, q: string): View {
  let requestSeq = 0;
  let timer: number | undefined;
  let destroyed = false;

  async function load(): Promise<void> {
    const seq = ++requestSeq;
    state.loading = true;
    state.error = null;
    renderResults();
    try {
      const page = await api.customers(state.q, kPageSize, state.cursor);
      if (seq !== requestSeq || destroyed) {
        return;
      }
      state.page = page;
    } catch (e) {
      if (seq !== requestSeq || destroyed) {
        return;
      }
      state.page = null;
      state.error = e;
    }
    state.loading = false;
    renderResults();
  }

  function search(next: string): void {
    window.clearTimeout(timer);
    next = next.trim();
    if (next === state.q && state.page && !state.error) {
      return;
    }
    state.q = next;
    state.stack = [];
    state.cursor = null;
    history.replaceState(null, '', customerHash(next));
    void load();
  }

  function nextPage(): void {
    if (!state.page?.next_cursor) {
      return;
    }
    state.stack.push(state.cursor);
    state.cursor = state.page.next_cursor;
    void load();
  }

  function previousPage(): void {
    if (state.stack.length === 0) {
      return;
    }
    state.cursor = state.stack.pop() ?? null;
    void load();
  }

  const results = h('div', { class: 'results', testid: 'customer-results' });

  function render(): void {
    setTitle(t('customers.title'));
    const input = h('input', {
      type: 'search',
      name: 'q',
      class: 'search-input',
      placeholder: t('customers.searchPlaceholder'),
      'aria-label': t('customers.searchLabel'),
      autocomplete: 'off',
      value: state.q,
      testid: 'customer-search',
      oninput: (e) => {
        const value = (e.target as HTMLInputElement).value;
        window.clearTimeout(timer);
        timer = window.setTimeout(() => search(value), kSearchDelayMs);
      },
    });
    const form = h(
      'form',
      {
        class: 'search-bar',
        role: 'search',
        testid: 'customer-search-form',
        onsubmit: (e) => {
          e.preventDefault();
          search(input.value);
        },
      },
      h('label', { class: 'search-field' }, icon(kIcons.search), input),
      h('button', { class: 'btn btn-primary', type: 'submit', testid: 'customer-search-submit' }, t('customers.search')),
      state.q &&
        h(
          'button',
          {
            class: 'btn',
            type: 'button',
            testid: 'customer-search-clear',
            onclick: () => {
              input.value = '';
              search('');
            },
          },
          t('customers.clear'),
        ),
    );
    root.replaceChildren(
      h(
        'section',
        { class: 'page', testid: 'customers-page' },
        h('div', { class: 'page-head' }, h('h1', null, t('customers.title'))),
        form,
        results,
      ),
    );
    renderResults();
  }

  function renderResults(): void {
    const page = state.page;
    const rows = page?.data ?? [];
    const body: Node[] = [];
    if (state.error) {
      body.push(errorView(state.error, { onRetry: () => void load() }));
    } else if (page && rows.length === 0) {
      body.push(
        h(
          'div',
          { class: 'empty', testid: 'customers-empty' },
          state.q ? t('customers.noMatch', { q: state.q }) : t('customers.empty'),
        ),
      );
    } else if (page) {
      body.push(table(rows));
    } else if (state.loading) {
      body.push(h('div', { class: 'empty' }, t('common.loading')));
    }
    const pager = h(
      'div',
      { class: 'pager', testid: 'pager' },
      h(
        'span',
        { class: 'pager-info' },
        h('span', { testid: 'page-number' }, t('customers.page', { n: state.stack.length + 1 })),
        page && rows.length > 0 && h('span', { class: 'muted' }, ' · ', tn('customers.count', rows.length)),
        state.loading && page && h('span', { class: 'muted', testid: 'loading' }, ' · ', t('common.loading')),
      ),
      h(
        'span',
        { class: 'pager-buttons' },
        h(
          'button',
          { class: 'btn', type: 'button', testid: 'page-prev', disabled: state.stack.length === 0 || state.loading, onclick: previousPage },
          t('customers.prev'),
        ),
        h(
          'button',
          { class: 'btn', type: 'button', testid: 'page-next', disabled: !page?.next_cursor || state.loading, onclick: nextPage },
          t('customers.next'),
        ),
      ),
    );
    results.setAttribute('aria-busy', state.loading ? 'true' : 'false');
    results.replaceChildren(...body, pager);
  }

  function table(rows: Customer[]): HTMLElement {
    const head = (['col.name', 'col.email', 'col.phone', 'col.city', 'col.country', 'col.orders', 'col.spend', 'col.lastSeen'] as const).map(
      (key, i) => h('th', { scope: 'col', class: i >= 5 && i <= 6 ? 'num' : null }, t(key)),
    );
    return h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'table', testid: 'customer-table' },
        h('thead', null, h('tr', null, head)),
        h('tbody', null, rows.map(row)),
      ),
    );
  }

  function row(c: Customer): HTMLElement {
    const a = c.aggregates ?? {};
    const href = `#/customers/${encodeURIComponent(String(c.id))}`;
    return h(
      'tr',
      {
        class: 'row-link',
        testid: 'customer-row',
        'data-customer-id': String(c.id),
        onclick: (e) => {
          if (!(e.target instanceof HTMLAnchorElement)) {
            navigate(href);
          }
        },
      },
      h('td', null, h('a', { href, class: 'strong', testid: 'customer-name' }, c.name || t('common.unnamed'))),
      h('td', { testid: 'customer-email' }, orNone(c.email)),
      h('td', { class: 'nowrap', testid: 'customer-phone' }, orNone(c.phone)),
      h('td', null, orNone(c.city)),
      h('td', null, formatCountry(c.country)),
      h('td', { class: 'num' }, formatNumber(a.order_count ?? 0)),
      h('td', { class: 'num nowrap' }, formatMoney(a.total_spend_minor ?? 0, a.base_currency)),
      h('td', { class: 'nowrap' }, formatDateTime(latest(a.last_event_at, a.last_order_at))),
    );
  }

  state.loading = false;
  if (q !== state.q || !state.page || state.error) {
    state.q = q;
    state.stack = [];
    state.cursor = null;
    state.page = null;
    render();
    void load();
  } else {
    render();
  }

  return {
    render,
    destroy() {
      destroyed = true;
      window.clearTimeout(timer);
    },
  };
}

export function resetCustomerList(): void {
  Object.assign(state, { q: '', stack: [], cursor: null, page: null, error: null, loading: false });
}

export function currentQuery(): string {
  return state.q;
}
