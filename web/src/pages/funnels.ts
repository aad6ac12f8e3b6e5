// 漏斗 / Funnels and 路径 / paths: the share of customers who did each step in order within the
// window (with an optional breakdown), and the most common event sequences between two events.
import { ApiError, analyticsApi, type Funnel, type FunnelRequest, type FunnelStep, type Paths } from '../api';
import { ChartSet, chart } from '../analytics/charts';
import { formatPercent, formatSeconds, pageFrame } from '../analytics/common';
import { h } from '../dom';
import { errorView } from '../errors';
import { formatNumber } from '../format';
import { t } from '../i18n';
import { setTitle, type View } from '../view';

interface StepDraft {
  event: string;
  whereKey: string;
  whereValue: string;
}

const kMaxSteps = 10;
const kWindowPattern = /^\d+[smhd]$/;
const kNumberPattern = /^-?\d+(\.\d+)?$/;

// The funnel editor's state survives leaving the page, like the customer search.
const draft = {
  steps: [
    { event: 'Product Viewed', whereKey: '', whereValue: '' },
    { event: 'Order Completed', whereKey: '', whereValue: '' },
  ] as StepDraft[],
  window: '7d',
  breakdown: '',
  minGroupSize: '5',
  pathFrom: 'Product Viewed',
  pathTo: 'Order Completed',
  pathSteps: 5,
  pathWindow: '7d',
};

// The top paths as a sankey graph. A node is a step position and an event ("2. Product Added"), so the
// same event at two positions is two nodes and the graph has no cycles (ECharts needs a DAG). A link's
// value is the number of customers of the shown paths that made that step.
export function sankeyOf(p: Paths): { nodes: { name: string }[]; links: { source: string; target: string; value: number }[] } {
  const nodes = new Map<string, { name: string }>();
  const links = new Map<string, { source: string; target: string; value: number }>();
  for (const path of p.paths) {
    const names = path.steps.map((event, i) => `${i + 1}. ${event}`);
    for (const [i, name] of names.entries()) {
      if (!nodes.has(name)) {
        nodes.set(name, { name });
      }
      const next = names[i + 1];
      if (next !== undefined) {
        const key = JSON.stringify([name, next]);
        const link = links.get(key) ?? { source: name, target: next, value: 0 };
        link.value += path.customers;
        links.set(key, link);
      }
    }
  }
  return { nodes: [...nodes.values()], links: [...links.values()] };
}

export function mountFunnels(root: HTMLElement): View {
  let events: string[] = [];
  let funnel: Funnel | null = null;
  let funnelError: unknown = null;
  let paths: Paths | null = null;
  let pathsError: unknown = null;
  let running = false;
  let destroyed = false;
  const charts = new ChartSet();

  async function loadEvents(): Promise<void> {
    try {
      events = (await analyticsApi.fields()).events ?? [];
    } catch {
      events = []; // the editor still works by typing names
    }
    if (!destroyed) {
      render();
    }
  }

  function request(): FunnelRequest {
    const body: FunnelRequest = {
      steps: draft.steps.map((s) => {
        const step: FunnelRequest['steps'][number] = { event: s.event.trim() };
        if (s.whereKey.trim()) {
          step.where = { [s.whereKey.trim()]: s.whereValue };
        }
        return step;
      }),
      window: draft.window.trim(),
    };
    if (draft.breakdown.trim()) {
      body.breakdown = draft.breakdown.trim();
    }
    // The API validates min_group_size (a whole number 1..1000) and names the field; a number is sent as
    // one and anything else as typed, so its message is the one shown next to the input.
    const minGroupSize = draft.minGroupSize.trim();
    if (minGroupSize) {
      body.min_group_size = kNumberPattern.test(minGroupSize) ? Number(minGroupSize) : minGroupSize;
    }
    return body;
  }

  async function runFunnel(): Promise<void> {
    funnelError = null;
    running = true;
    render();
    try {
      funnel = await analyticsApi.funnel(request());
    } catch (e) {
      funnel = null;
      funnelError = e;
    }
    running = false;
    if (!destroyed) {
      render();
    }
  }

  async function runPaths(): Promise<void> {
    pathsError = null;
    render();
    try {
      paths = await analyticsApi.paths({
        from_event: draft.pathFrom.trim(),
        to_event: draft.pathTo.trim(),
        max_steps: draft.pathSteps,
        limit: 10,
        window: draft.pathWindow.trim(),
      });
    } catch (e) {
      paths = null;
      pathsError = e;
    }
    if (!destroyed) {
      render();
    }
  }

  const bind = (obj: Record<string, unknown>, key: string) => (e: Event) => {
    const input = e.target as HTMLInputElement;
    obj[key] = input.type === 'number' ? Number(input.value) : input.value;
  };

  function stepEditor(): HTMLElement {
    return h('ol', { class: 'step-list', testid: 'funnel-steps' },
      draft.steps.map((s, i) =>
        h('li', { class: 'step-row', testid: 'funnel-step' },
          h('label', { class: 'field' }, h('span', { class: 'field-label' }, t('funnel.step', { n: i + 1 })),
            h('input', { value: s.event, list: 'known-events', required: true, testid: 'funnel-step-event', oninput: bind(s as unknown as Record<string, unknown>, 'event') })),
          h('label', { class: 'field' }, h('span', { class: 'field-label muted' }, t('funnel.whereKey')),
            h('input', { value: s.whereKey, placeholder: 'properties.category', testid: 'funnel-step-where-key', oninput: bind(s as unknown as Record<string, unknown>, 'whereKey') })),
          h('label', { class: 'field' }, h('span', { class: 'field-label muted' }, t('funnel.whereValue')),
            h('input', { value: s.whereValue, testid: 'funnel-step-where-value', oninput: bind(s as unknown as Record<string, unknown>, 'whereValue') })),
          h('button', { type: 'button', class: 'btn btn-small', testid: 'funnel-step-remove', disabled: draft.steps.length <= 2,
            'aria-label': t('funnel.removeStep', { n: i + 1 }), onclick: () => { draft.steps.splice(i, 1); render(); } }, t('common.remove')))));
  }

  function funnelChart(f: Funnel): HTMLElement {
    return charts.add(chart('funnel-chart', t('funnel.title'), () => ({
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      grid: { left: 140, right: 80, top: 10, bottom: 30 },
      xAxis: { type: 'value' },
      yAxis: { type: 'category', inverse: true, data: f.steps.map((s, i) => `${i + 1}. ${s.event}`) },
      series: [{
        type: 'bar',
        data: f.steps.map((s) => s.customers),
        itemStyle: { color: '#2456d6' },
        label: {
          show: true,
          position: 'right',
          formatter: (p: { dataIndex: number }) => {
            const s = f.steps[p.dataIndex];
            return s ? `${formatNumber(s.customers)} · ${formatPercent(s.conversion_from_start)}` : '';
          },
        },
      }],
    }), Math.max(200, 60 + 50 * f.steps.length)));
  }

  function stepsTable(steps: FunnelStep[], testid: string): HTMLElement {
    return h('div', { class: 'table-wrap' },
      h('table', { class: 'table table-compact', testid },
        h('thead', null, h('tr', null,
          h('th', { scope: 'col' }, t('funnel.event')),
          h('th', { scope: 'col', class: 'num' }, t('funnel.customers')),
          h('th', { scope: 'col', class: 'num' }, t('funnel.fromStart')),
          h('th', { scope: 'col', class: 'num' }, t('funnel.fromPrevious')),
          h('th', { scope: 'col', class: 'num' }, t('funnel.medianTime')))),
        h('tbody', null, steps.map((s, i) =>
          h('tr', { testid: 'funnel-row', 'data-customers': s.customers },
            h('td', null, `${i + 1}. ${s.event}`),
            h('td', { class: 'num' }, formatNumber(s.customers)),
            h('td', { class: 'num' }, formatPercent(s.conversion_from_start)),
            h('td', { class: 'num' }, i === 0 ? t('common.none') : formatPercent(s.conversion_from_previous)),
            h('td', { class: 'num' }, i === 0 ? t('common.none') : formatSeconds(s.median_seconds_from_previous)))))));
  }

  // The API's reason for a field of the funnel request, if the last run was refused for it.
  function fieldReason(field: string): string | null {
    if (!(funnelError instanceof ApiError)) {
      return null;
    }
    return funnelError.fieldErrors.find((f) => f.field === field)?.reason ?? null;
  }

  function minGroupSizeField(): HTMLElement {
    const reason = fieldReason('min_group_size');
    return h('label', { class: 'field-inline', title: t('funnel.minGroupSizeHint') },
      h('span', { class: 'muted' }, t('funnel.minGroupSize')),
      h('input', { value: draft.minGroupSize, class: 'input-short', inputmode: 'numeric', name: 'min_group_size',
        'data-field': 'min_group_size', 'aria-invalid': reason ? 'true' : undefined,
        'aria-describedby': reason ? 'funnel-min-group-size-error' : undefined,
        testid: 'funnel-min-group-size', oninput: bind(draft, 'minGroupSize') }),
      reason && h('span', { id: 'funnel-min-group-size-error', class: 'field-error', role: 'alert',
        testid: 'funnel-min-group-size-error' }, reason));
  }

  function breakdownTable(f: Funnel): HTMLElement | null {
    if (!f.breakdown?.length) {
      return null;
    }
    const n = f.steps.length;
    return h('div', { class: 'table-wrap' },
      h('table', { class: 'table table-compact', testid: 'funnel-breakdown' },
        h('thead', null, h('tr', null,
          h('th', { scope: 'col' }, t('funnel.breakdownValue')),
          f.steps.map((s, i) => h('th', { scope: 'col', class: 'num' }, `${i + 1}. ${s.event}`)),
          h('th', { scope: 'col', class: 'num' }, t('funnel.overall')))),
        h('tbody', null, f.breakdown.map((b) =>
          h('tr', { testid: 'breakdown-row', 'data-value': b.value, 'data-customers': b.steps[0]?.customers ?? 0 },
            h('th', { scope: 'row' }, b.value === '(other)' ? t('funnel.other') : b.value || t('common.none')),
            b.steps.map((s) => h('td', { class: 'num' }, formatNumber(s.customers))),
            h('td', { class: 'num' }, formatPercent(b.steps[n - 1]?.conversion_from_start)))))));
  }

  function pathsSankey(p: Paths): HTMLElement {
    const { nodes, links } = sankeyOf(p);
    return charts.add(chart('paths-sankey', t('paths.sankey'), () => ({
      // The default tooltip escapes names; event names come from customers' devices.
      tooltip: { trigger: 'item' },
      series: [{
        type: 'sankey',
        data: nodes,
        links,
        // Columns are step positions, so a path of three steps ends in the third column.
        nodeAlign: 'left',
        left: 10,
        right: 160,
        top: 10,
        bottom: 10,
        emphasis: { focus: 'adjacency' },
        lineStyle: { color: 'gradient', curveness: 0.5 },
        label: { fontSize: 12 },
      }],
    }), Math.max(240, Math.min(520, 60 + 36 * nodes.length))));
  }

  function pathsTable(p: Paths): HTMLElement {
    if (p.paths.length === 0) {
      return h('div', { class: 'empty', testid: 'paths-empty' }, t('analytics.noData'));
    }
    return h('div', { class: 'table-wrap' },
      h('table', { class: 'table table-compact', testid: 'paths-table' },
        h('caption', { class: 'muted small caption' }, t('paths.total', { n: formatNumber(p.total) })),
        h('thead', null, h('tr', null,
          h('th', { scope: 'col' }, t('paths.path')),
          h('th', { scope: 'col', class: 'num' }, t('funnel.customers')),
          h('th', { scope: 'col', class: 'num' }, t('rfm.share')))),
        h('tbody', null, p.paths.map((row) =>
          h('tr', { testid: 'path-row', 'data-customers': row.customers },
            h('td', null, h('span', { class: 'path' }, row.steps.map((s, i) => [i > 0 && h('span', { class: 'path-arrow', 'aria-hidden': 'true' }, ' → '), h('span', { class: 'badge' }, s)]))),
            h('td', { class: 'num' }, formatNumber(row.customers)),
            h('td', { class: 'num' }, formatPercent(row.share)))))));
  }

  function render(): void {
    charts.clear();
    setTitle(t('funnel.title'));
    const funnelForm = h('form', { class: 'card', testid: 'funnel-form', onsubmit: (e) => {
      e.preventDefault();
      if (kWindowPattern.test(draft.window.trim())) {
        void runFunnel();
      } else {
        funnelError = null;
        render();
      }
    } },
    h('h2', { class: 'card-title' }, t('funnel.title')),
    stepEditor(),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn', testid: 'funnel-add-step', disabled: draft.steps.length >= kMaxSteps,
        onclick: () => { draft.steps.push({ event: '', whereKey: '', whereValue: '' }); render(); } }, t('funnel.addStep')),
      h('label', { class: 'field-inline' }, h('span', { class: 'muted' }, t('funnel.window')),
        h('input', { value: draft.window, class: 'input-short', pattern: '\\d+[smhd]', title: t('funnel.windowHint'), testid: 'funnel-window', oninput: bind(draft, 'window') })),
      h('label', { class: 'field-inline' }, h('span', { class: 'muted' }, t('funnel.breakdown')),
        h('input', { value: draft.breakdown, list: 'breakdown-keys', placeholder: 'country', testid: 'funnel-breakdown-key', oninput: bind(draft, 'breakdown') })),
      minGroupSizeField(),
      h('button', { type: 'submit', class: 'btn btn-primary', testid: 'funnel-run', disabled: running }, t('analytics.run'))),
    h('datalist', { id: 'known-events' }, events.map((e) => h('option', { value: e }))),
    h('datalist', { id: 'breakdown-keys' }, ['country', 'city', 'gender'].map((e) => h('option', { value: e }))));

    const pathsForm = h('form', { class: 'search-bar', testid: 'paths-form', onsubmit: (e) => { e.preventDefault(); void runPaths(); } },
      h('label', { class: 'field-inline' }, h('span', { class: 'muted' }, t('paths.from')),
        h('input', { value: draft.pathFrom, list: 'known-events', required: true, testid: 'paths-from', oninput: bind(draft, 'pathFrom') })),
      h('label', { class: 'field-inline' }, h('span', { class: 'muted' }, t('paths.to')),
        h('input', { value: draft.pathTo, list: 'known-events', required: true, testid: 'paths-to', oninput: bind(draft, 'pathTo') })),
      h('label', { class: 'field-inline' }, h('span', { class: 'muted' }, t('paths.maxSteps')),
        h('input', { type: 'number', min: 2, max: 10, value: draft.pathSteps, class: 'input-short', testid: 'paths-max-steps', oninput: bind(draft, 'pathSteps') })),
      h('label', { class: 'field-inline' }, h('span', { class: 'muted' }, t('funnel.window')),
        h('input', { value: draft.pathWindow, class: 'input-short', testid: 'paths-window', oninput: bind(draft, 'pathWindow') })),
      h('button', { type: 'submit', class: 'btn btn-primary', testid: 'paths-run' }, t('analytics.run')));

    root.replaceChildren(pageFrame('funnels-page', t('funnel.title'), '#/analytics/funnels',
      funnelForm,
      !kWindowPattern.test(draft.window.trim()) && h('div', { class: 'alert alert-error', role: 'alert' }, t('funnel.windowHint')),
      funnelError ? errorView(funnelError) : null,
      funnel && h('section', { class: 'card', testid: 'funnel-result' },
        funnelChart(funnel), stepsTable(funnel.steps, 'funnel-table'), breakdownTable(funnel)),
      h('section', { class: 'card', testid: 'paths' },
        h('h2', { class: 'card-title' }, t('paths.title')),
        pathsForm,
        pathsError ? errorView(pathsError) : null,
        paths && paths.paths.length > 0 && pathsSankey(paths),
        paths && pathsTable(paths))));
  }

  render();
  void loadEvents();
  return {
    render,
    destroy() {
      destroyed = true;
      charts.clear();
    },
  };
}
