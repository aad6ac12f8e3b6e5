// RFM 分析 / RFM: the recency × frequency grid (customers per cell, revenue on hover or toggle), the
// named segments with their revenue and share, and for segments.manage the score-map editor.
import { analyticsApi, type RfmReport, type ScoreMap, type ScoreRule } from '../api';
import { mayManageSegments } from '../access';
import { ChartSet, chart } from '../analytics/charts';
import { formatPercent, loadingBox, pageFrame, segmentLabel, stat } from '../analytics/common';
import { numberInput, SettingsEditor } from '../components/settings-editor';
import { h } from '../dom';
import { errorView } from '../errors';
import { formatDateTime, formatMoney, formatNumber } from '../format';
import { t } from '../i18n';
import { setTitle, type View } from '../view';

const kScores = [1, 2, 3, 4, 5];

export function mountRfm(root: HTMLElement): View {
  let report: RfmReport | null = null;
  let error: unknown = null;
  let metric: 'customers' | 'revenue' = 'customers';
  let busy = false;
  let destroyed = false;
  const charts = new ChartSet();
  const redraw = (): void => {
    if (!destroyed) {
      render();
    }
  };
  // Saving the map recomputes every customer's segment, so the report is fetched again.
  const mapEditor = new SettingsEditor<ScoreMap>({
    testid: 'score-map',
    prefix: 'map',
    savedTestid: 'score-map-saved',
    title: () => t('rfm.scoreMap'),
    hint: () => t('rfm.scoreMapHint'),
    savedMessage: () => t('rfm.mapSaved'),
    mayEdit: mayManageSegments,
    save: (draft) => analyticsApi.putScoreMap(draft),
    afterSave: async () => {
      report = await analyticsApi.recomputeRfm();
    },
    fields: mapFields,
    actions: (d, again) => h('button', { type: 'button', class: 'btn', testid: 'map-add',
      onclick: () => { d.rules.push({ segment: '', r: [1, 5], f: [1, 5], m: [1, 5] }); again(); } }, t('rfm.addRule')),
  }, redraw);

  async function load(recompute = false): Promise<void> {
    error = null;
    busy = true;
    render();
    try {
      const [r, m] = await Promise.all([
        recompute ? analyticsApi.recomputeRfm() : analyticsApi.rfm(),
        analyticsApi.scoreMap().catch(() => null),
      ]);
      if (destroyed) {
        return;
      }
      report = r;
      mapEditor.set(m);
    } catch (e) {
      if (destroyed) {
        return;
      }
      error = e;
    }
    busy = false;
    render();
  }

  function cell(r: number, f: number): { customers: number; revenue_minor: number } {
    return report?.grid.find((c) => c.r === r && c.f === f) ?? { customers: 0, revenue_minor: 0 };
  }

  function heatmap(rep: RfmReport): HTMLElement {
    const currency = rep.currency;
    const data = rep.grid.map((c) => [c.f - 1, c.r - 1, metric === 'customers' ? c.customers : c.revenue_minor]);
    const max = Math.max(1, ...data.map((d) => d[2] ?? 0));
    return charts.add(
      chart('rfm-heatmap', t('rfm.heatmap'), () => ({
        tooltip: {
          formatter: (p: { value: number[] }) => {
            const [fi = 0, ri = 0] = p.value;
            const c = cell(ri + 1, fi + 1);
            return `R${ri + 1} · F${fi + 1}<br>${t('rfm.customers')}: ${formatNumber(c.customers)}<br>${t('rfm.revenue')}: ${formatMoney(c.revenue_minor, currency)}`;
          },
        },
        grid: { left: 70, right: 90, top: 20, bottom: 50 },
        xAxis: { type: 'category', name: t('rfm.frequency'), nameLocation: 'middle', nameGap: 28, data: kScores.map((s) => `F${s}`) },
        yAxis: { type: 'category', name: t('rfm.recency'), nameLocation: 'middle', nameGap: 40, data: kScores.map((s) => `R${s}`) },
        visualMap: { min: 0, max, calculable: true, orient: 'vertical', right: 0, top: 'middle', inRange: { color: ['#eaf0fd', '#2456d6'] } },
        series: [
          {
            type: 'heatmap',
            data,
            label: {
              show: true,
              formatter: (p: { value: number[] }) =>
                metric === 'customers' ? formatNumber(p.value[2]) : formatMoney(p.value[2], currency),
            },
          },
        ],
      })),
    );
  }

  // The same grid as a table: readable without the canvas and by screen readers.
  function gridTable(rep: RfmReport): HTMLElement {
    return h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'table table-compact', testid: 'rfm-grid-table' },
        h('caption', { class: 'sr-only' }, t('rfm.heatmap')),
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'R \\ F'), kScores.map((f) => h('th', { scope: 'col', class: 'num' }, `F${f}`)))),
        h(
          'tbody',
          null,
          [...kScores].reverse().map((r) =>
            h(
              'tr',
              null,
              h('th', { scope: 'row' }, `R${r}`),
              kScores.map((f) => {
                const c = cell(r, f);
                return h(
                  'td',
                  { class: 'num', testid: 'rfm-cell', 'data-r': r, 'data-f': f, 'data-customers': c.customers, title: formatMoney(c.revenue_minor, rep.currency) },
                  metric === 'customers' ? formatNumber(c.customers) : formatMoney(c.revenue_minor, rep.currency),
                );
              }),
            ),
          ),
        ),
      ),
    );
  }

  function segmentTable(rep: RfmReport): HTMLElement {
    return h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'table', testid: 'rfm-segments' },
        h('thead', null, h('tr', null,
          h('th', { scope: 'col' }, t('rfm.segment')),
          h('th', { scope: 'col', class: 'num' }, t('rfm.customers')),
          h('th', { scope: 'col', class: 'num' }, t('rfm.revenue')),
          h('th', { scope: 'col', class: 'num' }, t('rfm.share')))),
        h('tbody', null, rep.segments.map((s) =>
          h('tr', { testid: 'rfm-segment-row', 'data-segment': s.name },
            h('td', null, segmentLabel(s.name)),
            h('td', { class: 'num', testid: 'rfm-segment-customers' }, formatNumber(s.customers)),
            h('td', { class: 'num nowrap' }, formatMoney(s.revenue_minor, rep.currency)),
            h('td', { class: 'num' }, formatPercent(s.share)),
          ))),
      ),
    );
  }

  function rangeInputs(rule: ScoreRule, i: number, axis: 'r' | 'f' | 'm'): HTMLElement {
    const input = (j: 0 | 1) => numberInput(rule[axis], j, {
      field: `rules[${i}].${axis}`, min: 1, max: 5, className: 'input-score',
      label: `${t(`rfm.axis.${axis}`)} ${j === 0 ? t('rfm.min') : t('rfm.max')} (${i + 1})`,
      testid: `map-${axis}-${j === 0 ? 'min' : 'max'}`,
    });
    return h('td', { class: 'nowrap' }, input(0), ' – ', input(1));
  }

  // The rules in order (first match wins) and the default segment.
  function mapFields(d: ScoreMap, editable: boolean, again: () => void): HTMLElement[] {
    return [
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'table table-compact' },
          h('thead', null, h('tr', null,
            h('th', { scope: 'col' }, t('rfm.segment')),
            h('th', { scope: 'col' }, t('rfm.axis.r')),
            h('th', { scope: 'col' }, t('rfm.axis.f')),
            h('th', { scope: 'col' }, t('rfm.axis.m')),
            editable && h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, t('common.actions'))))),
          h('tbody', null, d.rules.map((rule, i) =>
            editable
              ? h('tr', { testid: 'map-rule' },
                  h('td', null, h('input', { value: rule.segment, 'aria-label': `${t('rfm.segment')} (${i + 1})`, testid: 'map-segment',
                    'data-field': `rules[${i}].segment`, oninput: (e) => { rule.segment = (e.target as HTMLInputElement).value.trim(); } })),
                  rangeInputs(rule, i, 'r'), rangeInputs(rule, i, 'f'), rangeInputs(rule, i, 'm'),
                  h('td', null, h('button', { type: 'button', class: 'btn btn-small', testid: 'map-remove',
                    onclick: () => { d.rules.splice(i, 1); again(); } }, t('common.remove'))))
              : h('tr', { testid: 'map-rule' },
                  h('td', null, segmentLabel(rule.segment)),
                  h('td', null, `${rule.r[0]}–${rule.r[1]}`),
                  h('td', null, `${rule.f[0]}–${rule.f[1]}`),
                  h('td', null, `${rule.m[0]}–${rule.m[1]}`)))),
        ),
      ),
      h('label', { class: 'field field-inline' }, h('span', { class: 'field-label' }, t('rfm.defaultSegment')),
        editable
          ? h('input', { value: d.default_segment, testid: 'map-default', 'data-field': 'default_segment',
              oninput: (e) => { d.default_segment = (e.target as HTMLInputElement).value.trim(); } })
          : h('span', null, segmentLabel(d.default_segment))),
    ];
  }

  function render(): void {
    charts.clear();
    setTitle(t('rfm.title'));
    const body: (HTMLElement | null)[] = [];
    if (error) {
      body.push(errorView(error, { onRetry: () => void load() }));
    } else if (!report) {
      body.push(loadingBox());
    } else {
      const rep = report;
      body.push(
        h('div', { class: 'stats' },
          stat('rfm-customers', t('rfm.liveCustomers'), formatNumber(rep.customers)),
          stat('rfm-scored', t('rfm.scored'), formatNumber(rep.scored)),
          stat('rfm-as-of', t('analytics.asOf'), formatDateTime(rep.as_of), true)),
        h('section', { class: 'card' },
          h('div', { class: 'card-head' },
            h('h2', { class: 'card-title' }, t('rfm.heatmap')),
            h('label', { class: 'field-inline' }, h('span', { class: 'muted' }, t('rfm.show')),
              h('select', { testid: 'rfm-metric', onchange: (e) => { metric = (e.target as HTMLSelectElement).value as typeof metric; render(); } },
                h('option', { value: 'customers', selected: metric === 'customers' }, t('rfm.customers')),
                h('option', { value: 'revenue', selected: metric === 'revenue' }, t('rfm.revenue')))),
            mayManageSegments() && h('button', { type: 'button', class: 'btn btn-small', testid: 'rfm-recompute', disabled: busy || mapEditor.saving,
              onclick: () => void load(true) }, t('rfm.recompute'))),
          heatmap(rep),
          h('details', null, h('summary', null, t('analytics.asTable')), gridTable(rep))),
        h('section', { class: 'card' }, h('h2', { class: 'card-title' }, t('rfm.segments')), segmentTable(rep)),
        mapEditor.view(),
      );
    }
    root.replaceChildren(pageFrame('rfm-page', t('rfm.title'), '#/analytics/rfm', body));
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
