// One segment: the rule builder (#/segments/new, or editing #/segments/{id}) with a live count, and
// for a saved segment its size, members (masked as the API returns them), entered/exited feed and
// export. The rule is checked as it is typed (debounced POST /segments/preview); a syntax error
// shows its line:column and marks the spot under the offending line.
import {
  analyticsApi,
  download,
  rulePosition,
  type Page,
  type Preview,
  type RulePosition,
  type Segment,
  type SegmentEvent,
  type SegmentFields,
  type SegmentMember,
} from '../api';
import { mayExport, mayManageSegments } from '../access';
import { loadingBox, pageFrame, stat } from '../analytics/common';
import { h } from '../dom';
import { errorView } from '../errors';
import { formatCountry, formatDateTime, formatNumber, orNone } from '../format';
import { t, tMaybe } from '../i18n';
import { navigate, setTitle, type View } from '../view';

const kPreviewDelayMs = 350;
const kMembersPage = 25;
const kEventsPage = 25;

interface Paged<T> {
  page: Page<T> | null;
  stack: (string | null)[];
  cursor: string | null;
  error: unknown;
}

function paged<T>(): Paged<T> {
  return { page: null, stack: [], cursor: null, error: null };
}

export function mountSegment(root: HTMLElement, id: string | null): View {
  const isNew = id === null;
  let segment: Segment | null = null;
  let loadError: unknown = null;
  let fields: SegmentFields | null = null;
  const form = { name: '', description: '', rule: '' };
  let saveError: unknown = null;
  let saving = false;
  let preview: Preview | null = null;
  let previewError: unknown = null;
  let previewing = false;
  let previewSeq = 0;
  let timer: number | undefined;
  let destroyed = false;
  const members = paged<SegmentMember>();
  const events = paged<SegmentEvent>();
  let exportError: unknown = null;

  // Elements kept across preview updates so typing never loses focus or the caret.
  let textarea: HTMLTextAreaElement | null = null;
  const status = h('div', { class: 'rule-status', id: 'rule-status', 'aria-live': 'polite', testid: 'rule-status' });
  // Parts that load on their own redraw only themselves, for the same reason.
  const sideBox = h('div', { class: 'builder-side-box' });
  const membersBox = h('div');
  const eventsBox = h('div');

  async function load(): Promise<void> {
    void analyticsApi.fields().then((f) => {
      fields = f;
      if (!destroyed) {
        sideBox.replaceChildren(sidePanel());
      }
    }).catch(() => undefined);
    if (isNew) {
      render();
      return;
    }
    try {
      segment = await analyticsApi.segment(id);
      form.name = segment.name;
      form.description = segment.description ?? '';
      form.rule = segment.rule;
    } catch (e) {
      loadError = e;
    }
    if (destroyed) {
      return;
    }
    render();
    if (segment) {
      reloadMembers();
      reloadEvents();
      void runPreview();
    }
  }

  function reloadMembers(): void {
    void loadPaged(members, (c) => analyticsApi.members(id ?? '', kMembersPage, c), () => membersBox.replaceChildren(membersCard()));
  }

  function reloadEvents(): void {
    void loadPaged(events, (c) => analyticsApi.segmentEvents(id ?? '', kEventsPage, c), () => eventsBox.replaceChildren(eventsCard()));
  }

  async function loadPaged<T>(p: Paged<T>, fetch: (cursor: string | null) => Promise<Page<T>>, redraw: () => void): Promise<void> {
    p.error = null;
    try {
      p.page = await fetch(p.cursor);
    } catch (e) {
      p.page = null;
      p.error = e;
    }
    if (!destroyed) {
      redraw();
    }
  }

  function schedulePreview(): void {
    window.clearTimeout(timer);
    previewing = true;
    renderStatus();
    timer = window.setTimeout(() => void runPreview(), kPreviewDelayMs);
  }

  async function runPreview(): Promise<void> {
    const seq = ++previewSeq;
    const rule = form.rule;
    if (!rule.trim()) {
      preview = null;
      previewError = null;
      previewing = false;
      renderStatus();
      return;
    }
    previewing = true;
    renderStatus();
    try {
      const result = await analyticsApi.preview(rule);
      if (seq !== previewSeq || destroyed) {
        return;
      }
      preview = result;
      previewError = null;
    } catch (e) {
      if (seq !== previewSeq || destroyed) {
        return;
      }
      preview = null;
      previewError = e;
    }
    previewing = false;
    renderStatus();
  }

  // Character offset of a 1-based line:column in the rule.
  function offsetOf(pos: RulePosition): number {
    const lines = form.rule.split('\n');
    let offset = 0;
    for (let i = 0; i < pos.line - 1 && i < lines.length; i++) {
      offset += (lines[i]?.length ?? 0) + 1;
    }
    return Math.min(form.rule.length, offset + pos.column - 1);
  }

  function errorMarker(pos: RulePosition): HTMLElement {
    const text = form.rule.split('\n')[pos.line - 1] ?? '';
    const message = pos.message.replace(/^\d+:\d+:\s*/, '');
    return h('div', { class: 'alert alert-error rule-error', role: 'alert', testid: 'rule-error', 'data-line': pos.line, 'data-column': pos.column },
      h('strong', { testid: 'rule-error-position' }, t('builder.errorAt', { line: pos.line, column: pos.column })),
      h('span', { testid: 'rule-error-message' }, message),
      h('pre', { class: 'rule-marker', testid: 'rule-error-marker', 'aria-hidden': 'true' },
        `${text}\n${' '.repeat(Math.max(0, pos.column - 1))}^`),
      h('button', { type: 'button', class: 'btn btn-small', testid: 'rule-error-goto', onclick: () => {
        const at = offsetOf(pos);
        textarea?.focus();
        textarea?.setSelectionRange(at, Math.min(form.rule.length, at + 1));
      } }, t('builder.showError')));
  }

  function renderStatus(): void {
    textarea?.setAttribute('aria-invalid', previewError ? 'true' : 'false');
    if (previewError) {
      const pos = rulePosition(previewError);
      status.replaceChildren(pos ? errorMarker(pos) : errorView(previewError));
      return;
    }
    if (previewing) {
      status.replaceChildren(h('span', { class: 'muted', testid: 'preview-loading' }, t('builder.checking')));
      return;
    }
    if (preview) {
      status.replaceChildren(h('span', null,
        h('span', { class: 'preview-count', testid: 'preview-count', 'data-size': preview.size },
          t('builder.matches', { n: formatNumber(preview.size) })),
        h('span', { class: 'muted small' }, ' · ', t('builder.elapsed', { ms: formatNumber(preview.elapsed_ms, 1) })),
        preview.sample.length > 0 && h('span', { class: 'muted small sample' }, ' · ', t('builder.sample'), ' ',
          preview.sample.map((cid, i) => [i > 0 && ', ', h('a', { href: `#/customers/${cid}` }, `#${cid}`)]))));
      return;
    }
    status.replaceChildren(h('span', { class: 'muted' }, t('builder.empty')));
  }

  function insert(text: string): void {
    if (!textarea) {
      return;
    }
    const start = textarea.selectionStart ?? form.rule.length;
    const end = textarea.selectionEnd ?? start;
    textarea.setRangeText(text, start, end, 'end');
    form.rule = textarea.value;
    textarea.focus();
    schedulePreview();
  }

  async function save(): Promise<void> {
    saveError = null;
    saving = true;
    render();
    try {
      const body = { name: form.name.trim(), description: form.description.trim(), rule: form.rule };
      if (isNew) {
        const created = await analyticsApi.createSegment(body);
        navigate(`#/segments/${created.id}`);
        return;
      }
      // PATCH only what changed: an untouched empty description is not sent (the API refuses an empty one).
      const patch: { name?: string; description?: string; rule?: string } = {};
      if (segment && body.name !== segment.name) {
        patch.name = body.name;
      }
      if (segment && body.description !== (segment.description ?? '')) {
        patch.description = body.description;
      }
      if (segment && body.rule !== segment.rule) {
        patch.rule = body.rule;
      }
      segment = await analyticsApi.updateSegment(id, patch);
      reloadMembers();
      reloadEvents();
    } catch (e) {
      saveError = e;
      const pos = rulePosition(e);
      if (pos) {
        previewError = e;
      }
    }
    saving = false;
    if (!destroyed) {
      render();
    }
  }

  async function remove(): Promise<void> {
    if (!segment || !window.confirm(t('segments.confirmDelete', { name: segment.name }))) {
      return;
    }
    try {
      await analyticsApi.deleteSegment(segment.id);
      navigate('#/segments');
    } catch (e) {
      saveError = e;
      render();
    }
  }

  async function exportAs(format: 'csv' | 'xlsx'): Promise<void> {
    exportError = null;
    try {
      await download(`/api/v1/segments/${encodeURIComponent(String(id))}/export?format=${format}`, `segment-${id}.${format}`);
    } catch (e) {
      exportError = e;
      render();
    }
  }

  function sidePanel(): HTMLElement {
    const f = fields;
    return h('aside', { class: 'card builder-side', testid: 'builder-fields' },
      h('h2', { class: 'card-title' }, t('builder.fields')),
      !f ? loadingBox() : h('ul', { class: 'field-list' }, f.fields.map((fd) =>
        h('li', null,
          h('button', { type: 'button', class: 'chip', testid: 'field-chip', 'data-field': fd.name, title: fd.description ?? '',
            onclick: () => insert(fd.name) }, fd.name),
          h('span', { class: 'muted small' }, ' ', tMaybe(`type.${fd.type}`) ?? fd.type),
          fd.description && h('div', { class: 'muted small' }, fd.description),
          fd.values?.length ? h('div', { class: 'small' }, fd.values.slice(0, 8).map((v) =>
            h('button', { type: 'button', class: 'chip chip-value', onclick: () => insert(JSON.stringify(v)) }, v))) : null))),
      f && f.events.length > 0 && h('h2', { class: 'card-title' }, t('builder.events')),
      f && h('ul', { class: 'field-list' }, f.events.map((ev) =>
        h('li', null, h('button', { type: 'button', class: 'chip', testid: 'event-chip', onclick: () => insert(JSON.stringify(ev)) }, ev)))),
      h('p', { class: 'muted small' }, t('builder.syntaxHint')));
  }

  function editor(): HTMLElement {
    const manage = mayManageSegments();
    textarea = h('textarea', {
      class: 'rule-input', rows: 8, spellcheck: 'false', autocomplete: 'off', testid: 'rule-input', id: 'rule-input',
      'aria-describedby': 'rule-help rule-status', readonly: !manage,
      placeholder: 'country = "CN" and total_spend > 1000 CNY',
      oninput: (e) => { form.rule = (e.target as HTMLTextAreaElement).value; schedulePreview(); },
    });
    textarea.value = form.rule;
    const submit = h('form', { class: 'builder-form', testid: 'segment-form', onsubmit: (e) => { e.preventDefault(); void save(); } },
      h('label', { class: 'field' }, h('span', { class: 'field-label' }, t('segments.name')),
        h('input', { value: form.name, required: true, maxlength: 120, readonly: !manage, testid: 'segment-name-input',
          oninput: (e) => { form.name = (e.target as HTMLInputElement).value; } })),
      h('label', { class: 'field' }, h('span', { class: 'field-label' }, t('segments.description')),
        h('input', { value: form.description, readonly: !manage, testid: 'segment-description-input',
          oninput: (e) => { form.description = (e.target as HTMLInputElement).value; } })),
      h('div', { class: 'field' }, h('label', { class: 'field-label', for: 'rule-input' }, t('builder.rule')), textarea,
        h('span', { id: 'rule-help', class: 'muted small' }, t('builder.ruleHelp'))),
      status,
      saveError && !rulePosition(saveError) ? errorView(saveError) : null,
      manage && h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'btn btn-primary', disabled: saving, testid: 'segment-save' }, isNew ? t('segments.create') : t('common.save')),
        !isNew && h('button', { type: 'button', class: 'btn btn-danger', testid: 'segment-delete', onclick: () => void remove() }, t('common.delete'))));
    sideBox.replaceChildren(sidePanel());
    return h('div', { class: 'builder' }, h('section', { class: 'card builder-main' }, submit), sideBox);
  }

  function pager<T>(p: Paged<T>, prefix: string, reload: () => void): HTMLElement {
    return h('div', { class: 'pager' },
      h('span', { class: 'pager-info' }, t('customers.page', { n: p.stack.length + 1 })),
      h('span', { class: 'pager-buttons' },
        h('button', { class: 'btn btn-small', type: 'button', testid: `${prefix}-prev`, disabled: p.stack.length === 0,
          onclick: () => { p.cursor = p.stack.pop() ?? null; reload(); } }, t('customers.prev')),
        h('button', { class: 'btn btn-small', type: 'button', testid: `${prefix}-next`, disabled: !p.page?.next_cursor,
          onclick: () => { p.stack.push(p.cursor); p.cursor = p.page?.next_cursor ?? null; reload(); } }, t('customers.next'))));
  }

  function membersCard(): HTMLElement {
    const reload = reloadMembers;
    let body: HTMLElement;
    if (members.error) {
      body = errorView(members.error, { onRetry: reload });
    } else if (!members.page) {
      body = loadingBox();
    } else if (members.page.data.length === 0) {
      body = h('div', { class: 'empty', testid: 'members-empty' }, t('segments.noMembers'));
    } else {
      body = h('div', { class: 'table-wrap' }, h('table', { class: 'table table-compact', testid: 'members-table' },
        h('thead', null, h('tr', null, (['col.name', 'col.email', 'col.city', 'col.country'] as const).map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', null, members.page.data.map((m) =>
          h('tr', { testid: 'member-row', 'data-customer-id': m.id },
            h('td', null, h('a', { href: `#/customers/${m.id}` }, m.name || t('common.unnamed'))),
            h('td', null, orNone(m.email)),
            h('td', null, orNone(m.city)),
            h('td', null, formatCountry(m.country)))))));
    }
    return h('section', { class: 'card', testid: 'segment-members' }, h('h2', { class: 'card-title' }, t('segments.members')), body, pager(members, 'members', reload));
  }

  function eventsCard(): HTMLElement {
    const reload = reloadEvents;
    let body: HTMLElement;
    if (events.error) {
      body = errorView(events.error, { onRetry: reload });
    } else if (!events.page) {
      body = loadingBox();
    } else if (events.page.data.length === 0) {
      body = h('div', { class: 'empty', testid: 'events-empty' }, t('segments.noEvents'));
    } else {
      body = h('ul', { class: 'feed', testid: 'segment-events' }, events.page.data.map((ev) =>
        h('li', { testid: 'segment-event', 'data-kind': ev.kind },
          h('span', { class: ev.kind === 'entered' ? 'badge badge-in' : 'badge badge-out' }, t(`segments.kind.${ev.kind}`)),
          ' ', h('a', { href: `#/customers/${ev.customer_id}` }, t('c360.customerId', { id: String(ev.customer_id) })),
          ' ', h('span', { class: 'muted small' }, formatDateTime(ev.at)))));
    }
    return h('section', { class: 'card', testid: 'segment-feed' }, h('h2', { class: 'card-title' }, t('segments.feed')), body, pager(events, 'events', reload));
  }

  function render(): void {
    const title = isNew ? t('segments.new') : segment?.name ?? t('segments.title');
    setTitle(title);
    if (loadError) {
      root.replaceChildren(pageFrame('segment-page', t('segments.title'), '#/segments', errorView(loadError, { onRetry: () => { loadError = null; void load(); } })));
      return;
    }
    if (!isNew && !segment) {
      root.replaceChildren(pageFrame('segment-page', t('segments.title'), '#/segments', loadingBox()));
      return;
    }
    const back = h('a', { class: 'back-link', href: '#/segments', testid: 'back-to-segments' }, t('segments.back'));
    const s = segment;
    const frame = pageFrame(isNew ? 'segment-builder' : 'segment-page', title, '#/segments',
      back,
      s && h('div', { class: 'stats' },
        stat('segment-size', t('segments.size'), formatNumber(s.size)),
        stat('segment-evaluated', t('segments.evaluatedAt'), formatDateTime(s.evaluated_at), true),
        stat('segment-updated', t('segments.updatedAt'), formatDateTime(s.updated_at), true)),
      s && mayExport() && h('div', { class: 'actions', testid: 'segment-export' },
        h('button', { type: 'button', class: 'btn', testid: 'export-csv', onclick: () => void exportAs('csv') }, t('segments.exportCsv')),
        h('button', { type: 'button', class: 'btn', testid: 'export-xlsx', onclick: () => void exportAs('xlsx') }, t('segments.exportXlsx'))),
      exportError ? errorView(exportError) : null,
      editor(),
      s && h('div', { class: 'two-col' }, membersBox, eventsBox));
    if (s) {
      membersBox.replaceChildren(membersCard());
      eventsBox.replaceChildren(eventsCard());
    }
    root.replaceChildren(frame);
    renderStatus();
  }

  render();
  void load();
  return {
    render,
    destroy() {
      destroyed = true;
      window.clearTimeout(timer);
    },
  };
}
