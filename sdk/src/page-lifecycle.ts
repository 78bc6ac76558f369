/**
 * Browser page events the SDK reacts to. `visibilitychange` → hidden is the last event that fires
 * reliably on mobile (where pages are frozen or killed without unload); `pagehide` covers
 * navigations and the back-forward cache on desktop. `unload`/`beforeunload` are deliberately not
 * used: they are unreliable on mobile and disable the back-forward cache.
 */
export interface PageLifecycle {
  /** Calls `listener` when the page is hidden or being left; returns an unsubscribe function. */
  onHide(listener: () => void): () => void;
  /** Calls `listener` when the browser reports connectivity again. */
  onOnline(listener: () => void): () => void;
}

export function browserPageLifecycle(): PageLifecycle | undefined {
  if (typeof window === 'undefined' || typeof document === 'undefined') return undefined;
  return {
    onHide(listener) {
      const onVisibility = () => {
        if (document.visibilityState === 'hidden') listener();
      };
      document.addEventListener('visibilitychange', onVisibility);
      window.addEventListener('pagehide', listener);
      return () => {
        document.removeEventListener('visibilitychange', onVisibility);
        window.removeEventListener('pagehide', listener);
      };
    },
    onOnline(listener) {
      window.addEventListener('online', listener);
      return () => window.removeEventListener('online', listener);
    },
  };
}
