import { api, type LoginResponse, type MfaEnrolment } from '../api';
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
  // After the password: the MFA step ("verify" a code, or "enrol" first), then recovery codes once.
  let step: 'password' | 'verify' | 'enrol' | 'recovery' = 'password';
  let mfaToken = '';
  let code = '';
  let enrolment: MfaEnrolment | null = null;
  let recoveryCodes: string[] = [];
  let pending: LoginResponse | null = null;

  function finish(session: LoginResponse): void {
    saveSession(session);
    navigate('#/customers');
  }

  async function run(action: () => Promise<void>): Promise<void> {
    if (busy) {
      return;
    }
    busy = true;
    error = null;
    notice = null;
    render();
    try {
      await action();
    } catch (e) {
      error = e;
      // A challenge that ended (too many wrong codes, expired) means starting again with the password.
      if (step !== 'password' && (e as { status?: number }).status === 401 &&
          /sign in again/.test(String((e as { problem?: { detail?: string } }).problem?.detail ?? ''))) {
        step = 'password';
        password = '';
      }
    }
    busy = false;
    render();
  }

  async function afterPassword(result: LoginResponse): Promise<void> {
    if (result.status === 'ok') {
      finish(result);
      return;
    }
    mfaToken = result.mfa_token ?? '';
    code = '';
    if (result.status === 'mfa_required') {
      step = 'verify';
      return;
    }
    enrolment = await api.enrollMfa(mfaToken);
    step = 'enrol';
  }

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
    await run(async () => afterPassword(await api.login(username.trim(), password)));
  }

  function submitCode(event: Event): void {
    event.preventDefault();
    const entered = code.trim();
    if (!entered) {
      return;
    }
    if (step === 'verify') {
      void run(async () => finish(await api.verifyMfa(mfaToken, entered)));
    } else {
      void run(async () => {
        const enrolled = await api.confirmMfa(mfaToken, entered);
        recoveryCodes = enrolled.recovery_codes;
        pending = enrolled;
        step = 'recovery';
      });
    }
  }

  function codeInput(): HTMLElement {
    return h(
      'label',
      { class: 'field' },
      h('span', { class: 'field-label' }, t('mfa.codeLabel')),
      h('input', {
        name: 'code',
        type: 'text',
        inputmode: step === 'enrol' ? 'numeric' : 'text',
        autocomplete: 'one-time-code',
        autocapitalize: 'none',
        spellcheck: 'false',
        value: code,
        testid: 'login-code',
        oninput: (e) => {
          code = (e.target as HTMLInputElement).value;
        },
      }),
    );
  }

  function renderMfa(): HTMLElement {
    if (step === 'recovery') {
      return h(
        'div',
        { class: 'login-card', testid: 'mfa-recovery' },
        h('h1', { class: 'login-title' }, t('mfa.recoveryTitle')),
        h('p', null, t('mfa.recoveryIntro')),
        h('ul', { class: 'recovery-codes', testid: 'recovery-codes' }, ...recoveryCodes.map((c) => h('li', null, h('code', null, c)))),
        h(
          'button',
          { class: 'btn btn-primary btn-block', type: 'button', testid: 'mfa-continue', onclick: () => pending && finish(pending) },
          t('mfa.continue'),
        ),
      );
    }
    const enrolling = step === 'enrol' && enrolment !== null;
    return h(
      'form',
      { class: 'login-card', testid: 'mfa-form', novalidate: true, onsubmit: (e) => submitCode(e) },
      h('h1', { class: 'login-title' }, enrolling ? t('mfa.enrolTitle') : t('mfa.title')),
      error !== null && errorView(error, { unauthorized: 'mfa.invalid' }),
      enrolling && h('p', null, t('mfa.enrolIntro')),
      enrolling && h('img', { class: 'mfa-qr', src: enrolment?.qr_code ?? '', alt: 'QR', width: '200', height: '200', testid: 'mfa-qr' }),
      enrolling && h('p', { class: 'muted' }, t('mfa.secretLabel'), ' ', h('code', { testid: 'mfa-secret' }, enrolment?.secret ?? '')),
      codeInput(),
      h(
        'button',
        { class: 'btn btn-primary btn-block', type: 'submit', disabled: busy, testid: 'login-code-submit' },
        busy ? t('mfa.verifying') : enrolling ? t('mfa.confirm') : t('mfa.verify'),
      ),
    );
  }

  function render(): void {
    setTitle(t('login.title'));
    if (step !== 'password') {
      const card = renderMfa();
      root.replaceChildren(h('div', { class: 'login-page' }, card));
      card.querySelector<HTMLInputElement>('[name=code]')?.focus();
      return;
    }
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
