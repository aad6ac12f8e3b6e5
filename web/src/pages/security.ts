// The signed-in user's sessions and known devices, with "sign out everywhere" (ends every session,
// this one too, and forgets every known device) and "forget" per device.
import { api, type DeviceInfo, type SessionInfo } from '../api';
import { h } from '../dom';
import { errorView } from '../errors';
import { formatDateTime } from '../format';
import { t } from '../i18n';
import { setTitle, type View } from '../view';

export function mountSecurity(root: HTMLElement, onSignedOutEverywhere: () => void): View {
  let sessions: SessionInfo[] | null = null;
  let devices: DeviceInfo[] | null = null;
  let error: unknown = null;
  let busy = false;
  let destroyed = false;

  async function load(): Promise<void> {
    try {
      sessions = (await api.sessions()).data;
      devices = (await api.devices()).data;
      error = null;
    } catch (e) {
      error = e;
    }
    if (!destroyed) {
      render();
    }
  }

  async function forget(id: number): Promise<void> {
    try {
      await api.revokeDevice(id);
      devices = (devices ?? []).filter((d) => d.id !== id);
      error = null;
    } catch (e) {
      error = e;
    }
    if (!destroyed) {
      render();
    }
  }

  async function signOutEverywhere(): Promise<void> {
    busy = true;
    render();
    try {
      await api.logoutEverywhere();
      onSignedOutEverywhere();
    } catch (e) {
      error = e;
      busy = false;
      render();
    }
  }

  function render(): void {
    setTitle(t('security.title'));
    root.replaceChildren(
      h(
        'section',
        { class: 'page security', testid: 'security-page' },
        h('h1', null, t('security.title')),
        error !== null && errorView(error),
        h('h2', null, t('security.sessions')),
        sessions &&
          h(
            'ul',
            { class: 'session-list', testid: 'session-list' },
            sessions.map((s) =>
              h(
                'li',
                { testid: 'session-item' },
                h('strong', null, s.user_agent || s.ip || '—'),
                s.current && h('span', { class: 'badge' }, ' ', t('security.current')),
                h('div', { class: 'muted' }, t('security.started', { time: formatDateTime(s.created_at) }), ' · ',
                  t('security.lastUsed', { time: formatDateTime(s.last_used_at) }), s.ip ? ` · ${s.ip}` : ''),
              ),
            ),
          ),
        h('h2', null, t('security.devices')),
        h('p', { class: 'muted' }, t('security.devicesHint')),
        devices &&
          h(
            'ul',
            { class: 'session-list', testid: 'device-list' },
            devices.map((d) =>
              h(
                'li',
                { testid: 'device-item' },
                h('strong', null, d.user_agent || '—'),
                d.current && h('span', { class: 'badge' }, ' ', t('security.current')),
                h('div', { class: 'muted' }, t('security.lastUsed', { time: formatDateTime(d.last_used_at) }), ' · ',
                  t('security.deviceUntil', { time: formatDateTime(d.expires_at) })),
                h('button', { class: 'btn btn-small', type: 'button', testid: 'forget-device', onclick: () => void forget(d.id) },
                  t('security.forgetDevice')),
              ),
            ),
          ),
        h(
          'button',
          { class: 'btn', type: 'button', disabled: busy, testid: 'sign-out-everywhere', onclick: () => void signOutEverywhere() },
          t('security.signOutEverywhere'),
        ),
      ),
    );
  }

  render();
  void load();
  return {
    render,
    destroy: () => {
      destroyed = true;
    },
  };
}
