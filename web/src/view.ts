// A page mounted in the main area. render() redraws it from its own state (used when the language
// changes, so no data is fetched again); destroy() is called when the user leaves it.
export interface View {
  render(): void;
  destroy?(): void;
}

export function navigate(hash: string): void {
  if (location.hash === hash) {
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else {
    location.hash = hash;
  }
}

export function setTitle(page: string): void {
  document.title = page ? `${page} · Panorama` : 'Panorama';
}
