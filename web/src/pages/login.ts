import { api } from '../api';
import { h } from '../dom';
import { errorView } from '../errors';
import { t } from '../i18n';
import type { MessageKey } from '../i18n/en';
import { kIcons } from '../icons';
import { saveSession } from '../session';
import { navigate, setTitle, type View } from '../view';
import { icon } from '../dom';

export function mountLogin(root: HTMLElement, notice: MessageKey | null): View {
  let username = '';
  let password = '';
  let busy = false;
  let error: unknown = null;
  let missing: 'username' | 'password' | null = null;

  async function submit(event: Event): Promise<void> {
    event.preventDefault();
    if (busy) {
      return;
    }
    missing = !username.trim() ? 'username' : !password ? 'password' : null;
    if (missing) {
      error = null;
      render();
      return;
    }
    busy = true;
    error = null;
    notice = null;
    render();
    try {
      const session = await api.login(username.trim(), password);
      saveSession(session);
      navigate('#/customers');
    } catch (e) {
      error = e;
      busy = false;
      render();
    }
  }

  function render(): void {
    setTitle(t('login.title'));
    const form = h(
      'form',
      { class: 'login-card', testid: 'login-form', novalidate: true, onsubmit: (e) => void submit(e) },
      h('div', { class: 'login-brand' }, icon(kIcons.logo, 'icon icon-logo'), h('span', null, t('app.name'))),
      h('p', { class: 'login-subtitle' }, t('app.subtitle')),
      h('h1', { class: 'login-title' }, t('login.title')),
      notice && h('div', { class: 'alert alert-info', testid: 'login-notice' }, t(notice)),
      error !== null && errorView(error, { unauthorized: 'login.invalid' }),
      h(
        'label',
        { class: 'field' },
        h('span', { class: 'field-label' }, t('login.username')),
        h('input', {
          name: 'username',
          type: 'text',
          autocomplete: 'username',
          autocapitalize: 'none',
          spellcheck: 'false',
          value: username,
          testid: 'login-username',
          'aria-invalid': missing === 'username' ? 'true' : null,
          oninput: (e) => {
            username = (e.target as HTMLInputElement).value;
          },
        }),
        missing === 'username' &&
          h('span', { class: 'field-error', testid: 'login-username-error' }, t('login.required', { field: t('field.username') })),
      ),
      h(
        'label',
        { class: 'field' },
        h('span', { class: 'field-label' }, t('login.password')),
        h('input', {
          name: 'password',
          type: 'password',
          autocomplete: 'current-password',
          value: password,
          testid: 'login-password',
          'aria-invalid': missing === 'password' ? 'true' : null,
          oninput: (e) => {
            password = (e.target as HTMLInputElement).value;
          },
        }),
        missing === 'password' &&
          h('span', { class: 'field-error', testid: 'login-password-error' }, t('login.required', { field: t('field.password') })),
      ),
      h(
        'button',
        { class: 'btn btn-primary btn-block', type: 'submit', disabled: busy, testid: 'login-submit' },
        busy ? t('login.submitting') : t('login.submit'),
      ),
    );
    root.replaceChildren(h('div', { class: 'login-page' }, form));
    const focusTarget = form.querySelector<HTMLInputElement>(
      missing === 'password' || (username && !password) ? '[name=password]' : '[name=username]',
    );
    focusTarget?.focus();
  }

  render();
  return { render };
}
