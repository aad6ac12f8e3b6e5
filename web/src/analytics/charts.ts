// Charts on the analytics pages. ECharts is loaded on first use as its own chunk (dynamic import),
// so the sign-in and customer pages never download it.
import type { EChartsCoreOption, EChartsType } from 'echarts/core';
import { h } from '../dom';

type EChartsModule = typeof import('./echarts-setup');
let loading: Promise<EChartsModule> | null = null;

function loadECharts(): Promise<EChartsModule> {
  loading ??= import('./echarts-setup');
  return loading;
}

// A chart container whose chart is drawn once ECharts has loaded. dispose() frees the canvas when
// the page is left or redrawn.
export interface Chart {
  el: HTMLElement;
  dispose(): void;
}

export function chart(testid: string, label: string, option: () => EChartsCoreOption, height = 360): Chart {
  const el = h('div', { class: 'chart', testid, role: 'img', 'aria-label': label, style: `height:${height}px` });
  let instance: EChartsType | null = null;
  let disposed = false;
  const resize = (): void => instance?.resize();
  void loadECharts().then(({ echarts }) => {
    if (disposed) {
      return;
    }
    instance = echarts.init(el, undefined, { renderer: 'canvas' });
    instance.setOption(option());
    el.dataset.rendered = 'true';
    window.addEventListener('resize', resize);
  });
  return {
    el,
    dispose() {
      disposed = true;
      window.removeEventListener('resize', resize);
      instance?.dispose();
      instance = null;
    },
  };
}

// Keeps the charts of one page so a redraw (language switch, new data) disposes the old ones.
export class ChartSet {
  private charts: Chart[] = [];

  add(c: Chart): HTMLElement {
    this.charts.push(c);
    return c.el;
  }

  clear(): void {
    for (const c of this.charts) {
      c.dispose();
    }
    this.charts = [];
  }
}
