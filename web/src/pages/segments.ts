// 客户细分 / Segments: the saved segments with their sizes; select several to see how they overlap
// or to combine them (and / or / minus), optionally saving the result as a new segment.
import { analyticsApi, type Overlap, type Page, type Preview, type Segment } from '../api';
import { mayManageSegments } from '../access';
import { loadingBox, pageFrame } from '../analytics/common';
import { h } from '../dom';
import { errorView } from '../errors';
import { formatDateTime, formatNumber } from '../format';
import { t } from '../i18n';
import { navigate, setTitle, type View } from '../view';

const kPageSize = 50;

export function mountSegments(root: HTMLElement): View {
  let page: Page<Segment> | null = null;
  let stack: (string | null)[] = [];
  let cursor: string | null = null;
  let error: unknown = null;
  const selected = new Set<number>();
  let overlap: Overlap | null = null;
  let overlapError: unknown = null;
  let op: 'and' | 'or' | 'minus' = 'and';
  let combined: Preview | null = null;
  let combineError: unknown = null;
  let saveAs = '';
  let destroyed = false;

  async function load(): Promise<void> {
    error = null;
    render();
    try {
      page = await analyticsApi.segments(kPageSize, cursor);
    } catch (e) {
      page = null;
      error = e;
    }
    if (!destroyed) {
      render();
    }
  }

  // Selection order matters for "minus": the first selected is the base.
  const order: number[] = [];
  function toggle(id: number, on: boolean): void {
    if (on) {
      selected.add(id);
      order.push(id);
    } else {
      selected.delete(id);
      order.splice(order.indexOf(id), 1);
    }
    overlap = null;
    combined = null;
    render();
  }

  async function showOverlap(): Promise<void> {
    overlapError = null;
    try {
      overlap = await analyticsApi.overlap([...order]);
    } catch (e) {
      overlap = null;
      overlapError = e;
    }
    if (!destroyed) {
      render();
    }
  }

  async function combine(save: boolean): Promise<void> {
    combineError = null;
    try {
      const result = await analyticsApi.combine(op, [...order], save ? saveAs.trim() : undefined);
      if (save && 'id' in result) {
        navigate(`#/segments/${result.id}`);
        return;
      }
      combined = result as Preview;
    } catch (e) {
      combined = null;
      combineError = e;
    }
    if (!destroyed) {
      render();
    }
  }

  function table(rows: Segment[]): HTMLElement {
    return h('div', { class: 'table-wrap' },
      h('table', { class: 'table', testid: 'segment-table' },
        h('thead', null, h('tr', null,
          h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, t('segments.select'))),
          h('th', { scope: 'col' }, t('segments.name')),
          h('th', { scope: 'col' }, t('segments.description')),
          h('th', { scope: 'col', class: 'num' }, t('segments.size')),
          h('th', { scope: 'col' }, t('segments.evaluatedAt')))),
        h('tbody', null, rows.map((s) =>
          h('tr', { testid: 'segment-row', 'data-segment-id': s.id, 'data-size': s.size },
            h('td', null, h('input', { type: 'checkbox', checked: selected.has(s.id), testid: 'segment-select',
              'aria-label': t('segments.selectOne', { name: s.name }),
              onchange: (e) => toggle(s.id, (e.target as HTMLInputElement).checked) })),
            h('td', null, h('a', { href: `#/segments/${s.id}`, class: 'strong', testid: 'segment-name' }, s.name)),
            h('td', { class: 'muted' }, s.description ?? ''),
            h('td', { class: 'num', testid: 'segment-size' }, formatNumber(s.size)),
            h('td', { class: 'nowrap' }, formatDateTime(s.evaluated_at ?? s.updated_at)))))));
  }

  function overlapTable(o: Overlap): HTMLElement {
    return h('div', { class: 'table-wrap' },
      h('table', { class: 'table table-compact', testid: 'overlap-matrix' },
        h('caption', { class: 'muted small caption' }, t('segments.overlapHint')),
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, ''), o.segments.map((s) => h('th', { scope: 'col', class: 'num' }, s.name)))),
        h('tbody', null, o.segments.map((s, i) =>
          h('tr', null,
            h('th', { scope: 'row' }, s.name),
            o.segments.map((_, j) => {
              const n = o.matrix[i]?.[j] ?? 0;
              const share = s.size > 0 ? n / s.size : 0;
              return h('td', { class: i === j ? 'num diag' : 'num', testid: 'overlap-cell', 'data-i': i, 'data-j': j,
                style: `background: rgba(36, 86, 214, ${(share * 0.35).toFixed(3)})` }, formatNumber(n));
            }))))));
  }

  function selectionTools(): HTMLElement | null {
    if (selected.size === 0) {
      return null;
    }
    const manage = mayManageSegments();
    return h('section', { class: 'card', testid: 'segment-tools' },
      h('h2', { class: 'card-title' }, t('segments.selected', { n: selected.size })),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'btn', testid: 'overlap-show', disabled: selected.size < 2, onclick: () => void showOverlap() }, t('segments.overlap')),
        h('label', { class: 'field-inline' }, h('span', { class: 'muted' }, t('segments.combine')),
          h('select', { testid: 'combine-op', onchange: (e) => { op = (e.target as HTMLSelectElement).value as typeof op; combined = null; } },
            (['and', 'or', 'minus'] as const).map((o) => h('option', { value: o, selected: o === op }, t(`segments.op.${o}`))))),
        h('button', { type: 'button', class: 'btn', testid: 'combine-run', disabled: selected.size < 2, onclick: () => void combine(false) }, t('segments.combineRun')),
        manage && h('input', { value: saveAs, placeholder: t('segments.saveAsPlaceholder'), 'aria-label': t('segments.saveAs'), testid: 'combine-name',
          oninput: (e) => { saveAs = (e.target as HTMLInputElement).value; } }),
        manage && h('button', { type: 'button', class: 'btn btn-primary', testid: 'combine-save', disabled: selected.size < 2,
          onclick: () => void combine(true) }, t('segments.saveAs'))),
      combineError ? errorView(combineError) : null,
      combined && h('p', { testid: 'combine-result', 'data-size': combined.size },
        t('segments.combinedSize', { n: formatNumber(combined.size), ms: formatNumber(combined.elapsed_ms, 1) })),
      overlapError ? errorView(overlapError) : null,
      overlap && overlapTable(overlap));
  }

  function render(): void {
    setTitle(t('segments.title'));
    let body: HTMLElement;
    if (error) {
      body = errorView(error, { onRetry: () => void load() });
    } else if (!page) {
      body = loadingBox();
    } else if (page.data.length === 0) {
      body = h('div', { class: 'empty', testid: 'segments-empty' }, t('segments.empty'));
    } else {
      body = table(page.data);
    }
    const pager = h('div', { class: 'pager' },
      h('span', { class: 'pager-info' }, t('customers.page', { n: stack.length + 1 })),
      h('span', { class: 'pager-buttons' },
        h('button', { class: 'btn', type: 'button', disabled: stack.length === 0, onclick: () => { cursor = stack.pop() ?? null; void load(); } }, t('customers.prev')),
        h('button', { class: 'btn', type: 'button', disabled: !page?.next_cursor,
          onclick: () => { stack.push(cursor); cursor = page?.next_cursor ?? null; void load(); } }, t('customers.next'))));
    const frame = pageFrame('segments-page', t('segments.title'), '#/segments', body, pager, selectionTools());
    const head = frame.querySelector('.page-head');
    if (mayManageSegments()) {
      head?.append(h('a', { href: '#/segments/new', class: 'btn btn-primary', testid: 'segment-new' }, t('segments.new')));
    }
    root.replaceChildren(frame);
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
