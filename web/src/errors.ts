// Shows a failed call the way a person needs it: a localized headline chosen by status, the
// server's problem `detail` when it sent one, and each per-field violation.
import { ApiError } from './api';
import { h } from './dom';
import { t, tMaybe } from './i18n';
import type { MessageKey } from './i18n/en';

export interface ErrorViewOptions {
  notFound?: MessageKey; // headline for 404 in this context
  unauthorized?: MessageKey; // headline for 401 (the login form uses "wrong password")
  onRetry?: () => void;
}

export function errorHeadline(error: unknown, options: ErrorViewOptions = {}): string {
  if (!(error instanceof ApiError)) {
    return t('error.badResponse');
  }
  const s = error.status;
  if (s === 0) {
    return t('error.network');
  }
  if (s === 401 && options.unauthorized) {
    return t(options.unauthorized);
  }
  if (s === 400 || s === 422) {
    return t('error.badRequest');
  }
  if (s === 403) {
    return t('error.forbidden');
  }
  if (s === 404) {
    return t(options.notFound ?? 'error.notFound');
  }
  if (s === 429) {
    return t('error.rateLimited');
  }
  if (s === 503) {
    return t('error.unavailable');
  }
  if (s >= 500) {
    return t('error.server');
  }
  return t('error.generic', { status: s });
}

export function errorView(error: unknown, options: ErrorViewOptions = {}): HTMLElement {
  const problem = error instanceof ApiError ? error.problem : {};
  const fields = error instanceof ApiError ? error.fieldErrors : [];
  const detail = typeof problem.detail === 'string' && problem.detail.trim() ? problem.detail : null;
  return h(
    'div',
    { class: 'alert alert-error', role: 'alert', testid: 'error' },
    h('strong', { class: 'alert-title', testid: 'error-title' }, errorHeadline(error, options)),
    detail && h('p', { class: 'alert-detail', testid: 'error-detail' }, detail),
    fields.length > 0 &&
      h(
        'div',
        { class: 'alert-fields' },
        h('span', null, t('error.fieldErrors')),
        h(
          'ul',
          { testid: 'error-fields' },
          fields.map((f) =>
            h(
              'li',
              { testid: 'error-field', 'data-field': f.field },
              h('code', null, fieldLabel(f.field)),
              ' ',
              f.reason,
            ),
          ),
        ),
      ),
    options.onRetry &&
      h('button', { class: 'btn btn-small', type: 'button', onclick: options.onRetry }, t('common.retry')),
  );
}

function fieldLabel(field: string): string {
  return tMaybe(`field.${field}`) ?? field;
}
