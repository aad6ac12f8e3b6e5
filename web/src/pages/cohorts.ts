// 留存 / Cohorts: customers grouped by the month of their first order, and the share of each cohort
// that ordered again k months later (a triangle: later cohorts have fewer months behind them).
import { analyticsApi, type Cohorts } from '../api';
import { ChartSet, chart } from '../analytics/charts';
import { formatPercent, isMonth, loadingBox, monthOf, pageFrame } from '../analytics/common';
import { h } from '../dom';
import { errorView } from '../errors';
import { formatNumber } from '../format';
import { t } from '../i18n';
import { setTitle, type View } from '../view';

export function mountCohorts(root: HTMLElement): View {
  let data: Cohorts | null = null;
  let error: unknown = null;
  let from = monthOf(new Date(), -11);
  let to = monthOf(new Date());
  let months = 12;
  let destroyed = false;
  const charts = new ChartSet();

  async function load(): Promise<void> {
    error = null;
    data = null;
    render();
    try {
      data = await analyticsApi.cohorts(from, to, months);
    } catch (e) {
      error = e;
    }
    if (!destroyed) {
      render();
    }
  }

  function triangle(c: Cohorts): HTMLElement {
    const width = Math.max(1, ...c.cohorts.map((x) => x.retention.length));
    const points: [number, number, number][] = [];
    c.cohorts.forEach((row, y) => row.retention.forEach((r, k) => points.push([k, y, Math.round(r * 1000) / 10])));
    return charts.add(chart('cohort-heatmap', t('cohorts.title'), () => ({
      tooltip: {
        formatter: (p: { value: number[] }) => {
          const [k = 0, y = 0] = p.value;
          const row = c.cohorts[y];
          return `${row?.cohort ?? ''} +${k}<br>${formatPercent(row?.retention[k])} (${formatNumber(row?.active[k])} / ${formatNumber(row?.size)})`;
        },
      },
      grid: { left: 80, right: 20, top: 10, bottom: 80 },
      xAxis: { type: 'category', name: t('cohorts.monthOffset'), nameLocation: 'middle', nameGap: 28,
        data: Array.from({ length: width }, (_, k) => `+${k}`) },
      yAxis: { type: 'category', inverse: true, data: c.cohorts.map((x) => x.cohort) },
      visualMap: { min: 0, max: 100, orient: 'horizontal', left: 'center', bottom: 0, inRange: { color: ['#f5f7fb', '#0f8a5f'] } },
      series: [{ type: 'heatmap', data: points, label: { show: true, formatter: (p: { value: number[] }) => `${formatNumber(p.value[2], 1)}%` } }],
    }), Math.max(260, 40 + 30 * c.cohorts.length)));
  }

  function table(c: Cohorts): HTMLElement {
    const width = Math.max(0, ...c.cohorts.map((x) => x.retention.length));
    return h('div', { class: 'table-wrap' },
      h('table', { class: 'table table-compact', testid: 'cohort-table' },
        h('thead', null, h('tr', null,
          h('th', { scope: 'col' }, t('cohorts.cohort')),
          h('th', { scope: 'col', class: 'num' }, t('cohorts.size')),
          Array.from({ length: width }, (_, k) => h('th', { scope: 'col', class: 'num' }, `+${k}`)))),
        h('tbody', null, c.cohorts.map((row) =>
          h('tr', { testid: 'cohort-row', 'data-cohort': row.cohort, 'data-size': row.size },
            h('th', { scope: 'row' }, row.cohort),
            h('td', { class: 'num' }, formatNumber(row.size)),
            Array.from({ length: width }, (_, k) =>
              h('td', { class: 'num', testid: 'cohort-cell', title: k < row.active.length ? formatNumber(row.active[k]) : null },
                k < row.retention.length ? formatPercent(row.retention[k]) : '')))))));
  }

  function render(): void {
    charts.clear();
    setTitle(t('cohorts.title'));
    const fromInput = h('input', { type: 'month', name: 'from', value: from, required: true, testid: 'cohorts-from' });
    const toInput = h('input', { type: 'month', name: 'to', value: to, required: true, testid: 'cohorts-to' });
    const monthsInput = h('input', { type: 'number', name: 'months', min: 1, max: 120, value: months, testid: 'cohorts-months', class: 'input-short' });
    const form = h('form', { class: 'search-bar', testid: 'cohorts-form', onsubmit: (e) => {
      e.preventDefault();
      if (isMonth(fromInput.value) && isMonth(toInput.value)) {
        from = fromInput.value;
        to = toInput.value;
        months = Number(monthsInput.value) || 12;
        void load();
      }
    } },
    h('label', { class: 'field-inline' }, h('span', { class: 'muted' }, t('analytics.fromMonth')), fromInput),
    h('label', { class: 'field-inline' }, h('span', { class: 'muted' }, t('analytics.toMonth')), toInput),
    h('label', { class: 'field-inline' }, h('span', { class: 'muted' }, t('cohorts.months')), monthsInput),
    h('button', { type: 'submit', class: 'btn btn-primary', testid: 'cohorts-apply' }, t('analytics.apply')));
    let body: HTMLElement;
    if (error) {
      body = errorView(error, { onRetry: () => void load() });
    } else if (!data) {
      body = loadingBox();
    } else if (data.cohorts.length === 0) {
      body = h('div', { class: 'empty', testid: 'cohorts-empty' }, t('analytics.noData'));
    } else {
      body = h('div', { class: 'results' },
        h('section', { class: 'card' }, h('p', { class: 'muted small' }, t('cohorts.hint')),
          h('p', { class: 'muted small', testid: 'cohorts-through' }, t('cohorts.through', { month: data.through })),
          triangle(data)),
        table(data));
    }
    root.replaceChildren(pageFrame('cohorts-page', t('cohorts.title'), '#/analytics/cohorts', form, body));
  }

  render();
  void load();
  return {
    render,
    destroy() {
      destroyed = true;
      charts.clear();
    },
  };
}
