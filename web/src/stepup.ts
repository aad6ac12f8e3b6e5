// Step-up re-authentication: a sensitive call answered 403 `reauth_required` (the session's last password
// check is older than the server's window) opens this dialog; the password (and a TOTP or recovery code
// when the user has one) renews the session's check, then api.ts retries the call once. Concurrent calls
// share one dialog. Resolves true once renewed, false when the user cancels.
import { h } from './dom';
import { t } from './i18n';

export const kReauthRequired = 'urn:panorama:problem:reauth_required';

// Performs POST /api/v1/auth/step-up; rejects with an Error whose message is the server's explanation.
export type StepUpCall = (password: string, code: string) => Promise<void>;

let pending: Promise<boolean> | null = null;

export function askStepUp(call: StepUpCall): Promise<boolean> {
  if (!pending) {
    pending = openDialog(call).finally(() => {
      pending = null;
    });
  }
  return pending;
}

function openDialog(call: StepUpCall): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const returnFocus = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const password = h('input', {
      type: 'password', id: 'stepup-password', name: 'password', autocomplete: 'current-password', required: true,
      testid: 'stepup-password',
    });
    const code = h('input', {
      type: 'text', id: 'stepup-code', name: 'code', autocomplete: 'one-time-code', inputmode: 'numeric',
      'aria-describedby': 'stepup-code-hint', testid: 'stepup-code',
    });
    const error = h('p', { class: 'field-error', role: 'alert', testid: 'stepup-error' });
    const submit = h('button', { class: 'btn btn-primary', type: 'submit', testid: 'stepup-submit' }, t('stepup.submit'));
    const cancel = h('button', { class: 'btn', type: 'button', testid: 'stepup-cancel' }, t('stepup.cancel'));
    let busy = false;

    const finish = (ok: boolean): void => {
      backdrop.remove();
      document.removeEventListener('keydown', onKey, true);
      if (returnFocus?.isConnected) {
        returnFocus.focus();
      }
      resolve(ok);
    };
    const onSubmit = async (event: Event): Promise<void> => {
      event.preventDefault();
      if (busy) {
        return;
      }
      if (!password.value) {
        error.textContent = t('stepup.passwordRequired');
        password.setAttribute('aria-invalid', 'true');
        password.focus();
        return;
      }
      busy = true;
      submit.disabled = true;
      submit.textContent = t('stepup.checking');
      error.textContent = '';
      try {
        await call(password.value, code.value.trim());
        finish(true);
      } catch (e) {
        // 401: the session itself ended (api.ts already sent the user to sign in); nothing left to confirm.
        if ((e as { status?: unknown }).status === 401) {
          finish(false);
          return;
        }
        error.textContent = e instanceof Error && e.message ? e.message : t('stepup.failed');
        password.value = '';
        password.setAttribute('aria-invalid', 'true');
        password.focus();
      } finally {
        busy = false;
        submit.disabled = false;
        submit.textContent = t('stepup.submit');
      }
    };
    // Escape cancels; Tab stays inside the dialog (aria-modal: the page behind is inert to the user).
    const onKey = (event: KeyboardEvent): void => {
      if (event.key === 'Escape') {
        event.preventDefault();
        event.stopPropagation();
        if (!busy) {
          finish(false);
        }
        return;
      }
      if (event.key !== 'Tab') {
        return;
      }
      const focusable = Array.from(dialog.querySelectorAll<HTMLElement>('input, button:not(:disabled)'));
      const first = focusable[0];
      const last = focusable[focusable.length - 1];
      if (!first || !last) {
        return;
      }
      const active = document.activeElement;
      if (event.shiftKey && (active === first || !dialog.contains(active))) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && (active === last || !dialog.contains(active))) {
        event.preventDefault();
        first.focus();
      }
    };
    cancel.addEventListener('click', () => {
      if (!busy) {
        finish(false);
      }
    });

    const dialog = h('div', {
      class: 'modal', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'stepup-title',
      'aria-describedby': 'stepup-intro', testid: 'stepup-dialog',
    },
      h('form', { class: 'modal-body', novalidate: true, onsubmit: (e: Event) => void onSubmit(e) },
        h('h2', { id: 'stepup-title' }, t('stepup.title')),
        h('p', { id: 'stepup-intro', class: 'muted' }, t('stepup.intro')),
        h('label', { class: 'field', for: 'stepup-password' },
          h('span', { class: 'field-label' }, t('stepup.password')), password),
        h('label', { class: 'field', for: 'stepup-code' },
          h('span', { class: 'field-label' }, t('stepup.code')), code,
          h('span', { id: 'stepup-code-hint', class: 'muted small' }, t('stepup.codeHint'))),
        error,
        h('div', { class: 'modal-actions' }, cancel, submit)));
    const backdrop = h('div', { class: 'modal-backdrop' }, dialog);
    document.body.appendChild(backdrop);
    document.addEventListener('keydown', onKey, true);
    password.focus();
  });
}
