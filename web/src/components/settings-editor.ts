// An editor for one stored setting, used for the RFM score map and the lifecycle thresholds: the user
// edits a draft copy, "save" PUTs it (and may recompute what depends on it), "reset" goes back to the
// stored value. A rejected save keeps the draft as typed, shows the server's per-field errors and marks
// the inputs they name (inputs carry `data-field` with the API's field name, e.g. `rules[0].r`).
// Users who may not change the setting see it read-only.
import { ApiError } from '../api';
import { h, type Child } from '../dom';
import { errorView } from '../errors';
import { t } from '../i18n';

export interface SettingsEditorOptions<T> {
  testid: string; // the card
  prefix: string; // test ids of the buttons: `${prefix}-save`, `${prefix}-reset`
  savedTestid: string; // the "saved" notice
  title: () => string;
  hint?: () => string;
  savedMessage: () => string;
  mayEdit: () => boolean;
  // PUT the draft; resolves to the stored value.
  save: (draft: T) => Promise<T>;
  // Runs after a successful save (e.g. recompute the report the setting drives).
  afterSave?: (stored: T) => Promise<void>;
  // The fields for the draft; `editable` is false for read-only users. `redraw` after a change of shape
  // (a rule added or removed); plain value edits change the draft in place without a redraw.
  fields: (draft: T, editable: boolean, redraw: () => void) => Child;
  // Extra buttons before reset/save (e.g. "add rule"), only for editors.
  actions?: (draft: T, redraw: () => void) => Child;
}

export class SettingsEditor<T> {
  private stored: T | null = null;
  private draft: T | null = null;
  private error: unknown = null;
  private saved = false;
  private busy = false;

  constructor(
    private readonly options: SettingsEditorOptions<T>,
    private readonly redraw: () => void,
  ) {}

  // A freshly loaded value replaces the draft (and any error or notice).
  set(value: T | null): void {
    this.stored = value;
    this.draft = value === null ? null : structuredClone(value);
    this.error = null;
    this.saved = false;
  }

  get value(): T | null {
    return this.stored;
  }

  get saving(): boolean {
    return this.busy;
  }

  view(): HTMLElement | null {
    const draft = this.draft;
    if (draft === null) {
      return null;
    }
    const o = this.options;
    const editable = o.mayEdit();
    const redraw = (): void => this.redraw();
    const form = h('form', { class: 'settings-form', onsubmit: (e) => { e.preventDefault(); void this.submit(); } },
      o.fields(draft, editable, redraw),
      editable && h('div', { class: 'actions' },
        o.actions?.(draft, redraw),
        h('button', { type: 'button', class: 'btn', testid: `${o.prefix}-reset`, disabled: this.busy,
          onclick: () => { this.set(this.stored); redraw(); } }, t('common.reset')),
        h('button', { type: 'submit', class: 'btn btn-primary', testid: `${o.prefix}-save`, disabled: this.busy }, t('common.save'))));
    if (this.error instanceof ApiError) {
      for (const f of this.error.fieldErrors) {
        for (const input of form.querySelectorAll<HTMLElement>('[data-field]')) {
          if (input.dataset.field === f.field) {
            input.setAttribute('aria-invalid', 'true');
          }
        }
      }
    }
    return h('section', { class: 'card', testid: o.testid },
      h('h2', { class: 'card-title' }, o.title()),
      o.hint && h('p', { class: 'muted small' }, o.hint()),
      this.error ? errorView(this.error) : null,
      this.saved && h('div', { class: 'alert alert-info', role: 'status', testid: o.savedTestid }, o.savedMessage()),
      form);
  }

  private async submit(): Promise<void> {
    if (this.draft === null || this.busy) {
      return;
    }
    this.error = null;
    this.saved = false;
    this.busy = true;
    this.redraw();
    try {
      const stored = await this.options.save(this.draft);
      this.set(stored);
      this.saved = true;
      await this.options.afterSave?.(stored);
    } catch (e) {
      this.error = e;
    }
    this.busy = false;
    this.redraw();
  }
}

// A whole-number input bound to `target[key]`; `field` is the API's name for it (error marking).
export function numberInput<K extends PropertyKey>(
  target: Record<K, number>,
  key: K,
  attrs: { field: string; testid: string; label: string; min?: number; max?: number; className?: string },
): HTMLInputElement {
  return h('input', {
    type: 'number', step: 1, min: attrs.min, max: attrs.max, class: attrs.className, value: target[key],
    name: attrs.field, 'data-field': attrs.field, 'aria-label': attrs.label, testid: attrs.testid,
    oninput: (e) => { target[key] = Number((e.target as HTMLInputElement).value); },
  });
}
