// 生命周期 / Lifecycle: how many customers are in each stage now, how that changed month by month,
// and the thresholds behind the stages (editable with segments.manage).
import { analyticsApi, kStages, type LifecycleHistory, type LifecycleReport } from '../api';
import { mayManageSegments } from '../access';
import { ChartSet, chart } from '../analytics/charts';
import { isMonth, loadingBox, monthOf, pageFrame, stageLabel, stat } from '../analytics/common';
import { numberInput, SettingsEditor } from '../components/settings-editor';
import { h } from '../dom';
import { errorView } from '../errors';
import { formatDateTime, formatNumber } from '../format';
import { t, tMaybe } from '../i18n';
import { setTitle, type View } from '../view';

const kStageColors = ['#98a2b3', '#5b8def', '#2456d6', '#0f8a5f', '#e0a100', '#c0362c'];

export function mountLifecycle(root: HTMLElement): View {
  let report: LifecycleReport | null = null;
  let history: LifecycleHistory | null = null;
  let error: unknown = null;
  let historyError: unknown = null;
  let from = monthOf(new Date(), -11);
  let to = monthOf(new Date());
  let destroyed = false;
  const charts = new ChartSet();
  const redraw = (): void => {
    if (!destroyed) {
      render();
    }
  };
  // Saving the thresholds moves customers between stages, so the counts are fetched again.
  const thresholds = new SettingsEditor<Record<string, number>>({
    testid: 'lifecycle-thresholds',
    prefix: 'thresholds',
    savedTestid: 'thresholds-saved',
    title: () => t('lifecycle.thresholds'),
    savedMessage: () => t('lifecycle.thresholdsSaved'),
    mayEdit: mayManageSegments,
    save: (values) => analyticsApi.putThresholds(values),
    afterSave: async () => {
      report = await analyticsApi.lifecycle();
    },
    fields: thresholdFields,
  }, redraw);

  async function load(): Promise<void> {
    error = null;
    render();
    try {
      report = await analyticsApi.lifecycle();
      thresholds.set(report.thresholds);
    } catch (e) {
      error = e;
    }
    if (!destroyed) {
      render();
      void loadHistory();
    }
  }

  async function loadHistory(): Promise<void> {
    historyError = null;
    history = null;
    render();
    try {
      history = await analyticsApi.lifecycleHistory(from, to);
    } catch (e) {
      historyError = e;
    }
    if (!destroyed) {
      render();
    }
  }

  function stagesChart(rep: LifecycleReport): HTMLElement {
    return charts.add(chart('lifecycle-chart', t('lifecycle.now'), () => ({
      tooltip: { trigger: 'axis' },
      grid: { left: 60, right: 20, top: 20, bottom: 40 },
      xAxis: { type: 'category', data: rep.stages.map((s) => stageLabel(s.stage)) },
      yAxis: { type: 'value' },
      series: [{
        type: 'bar',
        data: rep.stages.map((s, i) => ({ value: s.customers, itemStyle: { color: kStageColors[i % kStageColors.length] } })),
        label: { show: true, position: 'top' },
      }],
    }), 300));
  }

  function historyChart(hist: LifecycleHistory): HTMLElement {
    return charts.add(chart('lifecycle-history-chart', t('lifecycle.history'), () => ({
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 60, right: 20, top: 40, bottom: 40 },
      xAxis: { type: 'category', data: hist.points.map((p) => p.month) },
      yAxis: { type: 'value' },
      series: kStages.map((stage, i) => ({
        name: stageLabel(stage),
        type: 'line',
        smooth: true,
        color: kStageColors[i],
        data: hist.points.map((p) => p.counts[stage] ?? 0),
      })),
    })));
  }

  function thresholdFields(values: Record<string, number>, editable: boolean): HTMLElement {
    return h('div', { class: 'form-grid' },
      Object.entries(values).map(([key, value]) => {
        const label = tMaybe(`lifecycle.threshold.${key}`) ?? key;
        return h('label', { class: 'field' },
          h('span', { class: 'field-label' }, label),
          editable
            ? numberInput(values, key, { field: key, testid: `threshold-${key}`, label, min: 0 })
            : h('span', { testid: `threshold-${key}` }, formatNumber(value)));
      }));
  }

  function historyForm(): HTMLElement {
    const fromInput = h('input', { type: 'month', name: 'from', value: from, required: true, testid: 'history-from' });
    const toInput = h('input', { type: 'month', name: 'to', value: to, required: true, testid: 'history-to' });
    return h('form', { class: 'search-bar', testid: 'history-form', onsubmit: (e) => {
      e.preventDefault();
      if (isMonth(fromInput.value) && isMonth(toInput.value)) {
        from = fromInput.value;
        to = toInput.value;
        void loadHistory();
      }
    } },
    h('label', { class: 'field-inline' }, h('span', { class: 'muted' }, t('analytics.fromMonth')), fromInput),
    h('label', { class: 'field-inline' }, h('span', { class: 'muted' }, t('analytics.toMonth')), toInput),
    h('button', { type: 'submit', class: 'btn btn-primary', testid: 'history-apply' }, t('analytics.apply')));
  }

  function render(): void {
    charts.clear();
    setTitle(t('lifecycle.title'));
    const body: (HTMLElement | null)[] = [];
    if (error) {
      body.push(errorView(error, { onRetry: () => void load() }));
    } else if (!report) {
      body.push(loadingBox());
    } else {
      const rep = report;
      body.push(
        h('p', { class: 'muted' }, t('analytics.asOf'), ' ', formatDateTime(rep.as_of)),
        h('div', { class: 'stats', testid: 'lifecycle-stages' },
          rep.stages.map((s) => {
            const el = stat(`stage-${s.stage}`, stageLabel(s.stage), formatNumber(s.customers));
            el.dataset.stage = s.stage;
            el.dataset.customers = String(s.customers);
            return el;
          })),
        h('section', { class: 'card' }, h('h2', { class: 'card-title' }, t('lifecycle.now')), stagesChart(rep)),
        h('section', { class: 'card', testid: 'lifecycle-history' },
          h('h2', { class: 'card-title' }, t('lifecycle.history')),
          historyForm(),
          historyError ? errorView(historyError) : history ? historyChart(history) : loadingBox()),
        thresholds.view(),
      );
    }
    root.replaceChildren(pageFrame('lifecycle-page', t('lifecycle.title'), '#/analytics/lifecycle', body));
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
