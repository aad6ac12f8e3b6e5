// Console entry: the header (brand, navigation, language, user) and a hash router over the pages.
// Routes: #/login, #/customers[?q=…], #/customers/{id}, #/audit, #/security, #/users, #/roles, #/privacy,
// #/privacy/requests/{id}, and for
// analytics.read #/analytics/{rfm,lifecycle,cohorts,funnels}, #/segments, #/segments/new, #/segments/{id}.
import './styles.css';
import { accessKnown, clearAccess, loadAccess, mayAnalyze } from './access';
import { api, onUnauthorized } from './api';
import { h, icon } from './dom';
import { kLocaleNames, kLocales, locale, onLocaleChange, setLocale, t } from './i18n';
import type { MessageKey } from './i18n/en';
import { kIcons } from './icons';
import { mountAudit } from './pages/audit';
import { mountCohorts } from './pages/cohorts';
import { mount360 } from './pages/customer360';
import { currentQuery, mountCustomers, resetCustomerList } from './pages/customers';
import { mountFunnels } from './pages/funnels';
import { mountLifecycle } from './pages/lifecycle';
import { mountLogin } from './pages/login';
import { mountRfm } from './pages/rfm';
import { mountSecurity } from './pages/security';
import { mountSegment } from './pages/segment';
import { mountSegments } from './pages/segments';
import { mountRoles } from './pages/roles';
import { mountUsers } from './pages/users';
import { mountPrivacyRequest, mountPrivacyRequests } from './pages/privacy';
import { clearSession, currentUser, signedIn } from './session';
import { navigate, type View } from './view';

const app = document.getElementById('app')!;
const header = h('header', { class: 'topbar', testid: 'topbar' });
const main = h('main', { class: 'main', id: 'main' });
app.replaceChildren(header, main);

let view: View | null = null;
let loginNotice: MessageKey | null = null;

function renderHeader(): void {
  const user = currentUser();
  const loggedIn = signedIn();
  header.replaceChildren(h('div', { class: 'topbar-inner' },
    h('a', { class: 'brand', href: loggedIn ? '#/customers' : '#/login', testid: 'brand' }, icon(kIcons.logo, 'icon icon-logo'), t('app.name')),
    loggedIn &&
      h('nav', { class: 'nav' },
        h('a', { href: '#/customers', class: /^#\/(audit|security|users|roles|analytics|segments|privacy)/.test(location.hash) ? 'nav-link' : 'nav-link active', testid: 'nav-customers' }, t('nav.customers')),
        mayAnalyze() && h('a', { href: '#/analytics/rfm', class: location.hash.startsWith('#/analytics') ? 'nav-link active' : 'nav-link', testid: 'nav-analytics' }, t('nav.analytics')),
        mayAnalyze() && h('a', { href: '#/segments', class: location.hash.startsWith('#/segments') ? 'nav-link active' : 'nav-link', testid: 'nav-segments' }, t('nav.segments')),
        mayAudit() && h('a', { href: '#/audit', class: location.hash.startsWith('#/audit') ? 'nav-link active' : 'nav-link', testid: 'nav-audit' }, t('nav.audit')),
        user?.role === 'admin' && h('a', { href: '#/users', class: location.hash.startsWith('#/users') ? 'nav-link active' : 'nav-link', testid: 'nav-users' }, t('nav.users')),
        user?.role === 'admin' && h('a', { href: '#/roles', class: location.hash.startsWith('#/roles') ? 'nav-link active' : 'nav-link', testid: 'nav-roles' }, t('nav.roles')),
        user?.role === 'admin' && h('a', { href: '#/privacy', class: location.hash.startsWith('#/privacy') ? 'nav-link active' : 'nav-link', testid: 'nav-privacy' }, t('nav.privacy')),
        h('a', { href: '#/security', class: location.hash.startsWith('#/security') ? 'nav-link active' : 'nav-link', testid: 'nav-security' }, t('nav.security'))),
    h('div', { class: 'spacer' }),
    h(
      'div',
      { class: 'lang-switch', role: 'group', 'aria-label': t('lang.label'), testid: 'lang-switch' },
      kLocales.map((code) =>
        h(
          'button',
          {
            type: 'button',
            class: code === locale() ? 'lang active' : 'lang',
            lang: code,
            'aria-pressed': code === locale() ? 'true' : 'false',
            testid: `lang-${code}`,
            onclick: () => setLocale(code),
          },
          kLocaleNames[code],
        ),
      ),
    ),
    loggedIn &&
      h(
        'div',
        { class: 'user' },
        user && h('span', { class: 'user-name muted', testid: 'current-user', title: user.role }, t('header.signedInAs', { user: user.username })),
        h('button', { type: 'button', class: 'btn btn-small', testid: 'logout', onclick: logout }, t('header.logout')),
      ),
  ));
}

// The API enforces the role; the link is only hidden from those who would get 403.
function mayAudit(): boolean {
  const role = currentUser()?.role;
  return role === 'admin' || role === 'auditor';
}

function logout(): void {
  // End the session on the server too (best effort: the tab forgets its tokens either way).
  void api.logout().catch(() => undefined);
  clearSession();
  clearAccess();
  resetCustomerList();
  loginNotice = 'login.loggedOut';
  navigate('#/login');
}

function route(): void {
  view?.destroy?.();
  view = null;
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path = '/', queryString = ''] = raw.split('?', 2);
  const query = new URLSearchParams(queryString);
  const loggedIn = signedIn();

  renderHeader();
  if (path === '/login') {
    if (loggedIn) {
      navigate('#/customers');
      return;
    }
    const notice = loginNotice;
    loginNotice = null;
    view = mountLogin(main, notice);
    return;
  }
  if (!loggedIn) {
    navigate('#/login');
    return;
  }
  if (!accessKnown()) {
    // The header's links depend on the permissions; redraw it when they arrive.
    void loadAccess().then(renderHeader);
  }
  const detail = /^\/customers\/([^/]+)$/.exec(path);
  if (detail) {
    view = mount360(main, decodeURIComponent(detail[1] ?? ''), currentQuery());
    return;
  }
  if (path === '/audit') {
    view = mountAudit(main);
    return;
  }
  if (path === '/security') {
    view = mountSecurity(main, () => {
      clearSession();
      clearAccess();
      resetCustomerList();
      loginNotice = 'security.signedOutEverywhere';
      navigate('#/login');
    });
    return;
  }
  const analytics = mountAnalytics(path);
  if (analytics) {
    view = analytics;
    return;
  }
  if (path === '/users') {
    view = mountUsers(main);
    return;
  }
  if (path === '/roles') {
    view = mountRoles(main);
    return;
  }
  if (path === '/privacy') {
    view = mountPrivacyRequests(main);
    return;
  }
  const privacyRequest = /^\/privacy\/requests\/(\d+)$/.exec(path);
  if (privacyRequest) {
    view = mountPrivacyRequest(main, privacyRequest[1] ?? '');
    return;
  }
  if (path === '/customers') {
    const q = query.get('q') ?? '';
    view = mountCustomers(main, q);
    return;
  }
  navigate('#/customers');
}

// The analytics and segment pages, for users with analytics.read (others go to the customer list).
function mountAnalytics(path: string): View | null {
  if (!/^\/(analytics|segments)(\/|$)/.test(path)) {
    return null;
  }
  if (!accessKnown()) {
    // A custom role may have analytics.read: decide once its permissions are known.
    main.replaceChildren(h('div', { class: 'empty' }, t('common.loading')));
    void loadAccess().then(route);
    return { render: () => undefined };
  }
  if (!mayAnalyze()) {
    navigate('#/customers');
    return { render: () => undefined };
  }
  if (path === '/analytics' || path === '/analytics/rfm') {
    return mountRfm(main);
  }
  if (path === '/analytics/lifecycle') {
    return mountLifecycle(main);
  }
  if (path === '/analytics/cohorts') {
    return mountCohorts(main);
  }
  if (path === '/analytics/funnels') {
    return mountFunnels(main);
  }
  if (path === '/segments') {
    return mountSegments(main);
  }
  if (path === '/segments/new') {
    return mountSegment(main, null);
  }
  const segment = /^\/segments\/(\d+)$/.exec(path);
  if (segment) {
    return mountSegment(main, segment[1] ?? '');
  }
  navigate('#/analytics/rfm');
  return { render: () => undefined };
}

onUnauthorized(() => {
  clearAccess();
  resetCustomerList();
  loginNotice = 'login.sessionExpired';
  navigate('#/login');
});

onLocaleChange(() => {
  renderHeader();
  view?.render();
});

window.addEventListener('hashchange', route);
route();
