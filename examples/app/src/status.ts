/**
 * The connection, as the user needs to know it: offline, syncing or live,
 * and how many of their changes the server has not taken yet.
 */
import type { ConnectionStatus, DatsyncClient } from '../../../src/client/index.js';
import { h } from './dom.js';

export type Shown = 'offline' | 'syncing' | 'live';

export function shownStatus(status: ConnectionStatus): Shown {
  if (status === 'live') return 'live';
  // While the browser says it is offline, connection attempts are only the reconnect loop: still offline.
  if (status === 'catching-up' || (status === 'connecting' && navigator.onLine)) return 'syncing';
  return 'offline';
}

const labels: Record<Shown, string> = { offline: 'Offline', syncing: 'Syncing…', live: 'Live' };

/** A live region: screen readers hear the changes without losing their place. */
export function statusView(client: DatsyncClient): { element: HTMLElement; stop: () => void } {
  const dot = h('span', { class: 'dot', 'aria-hidden': 'true' });
  const label = h('span', { class: 'status-label' });
  const pending = h('span', { class: 'pending' });
  const element = h('div', { class: 'status', role: 'status', 'aria-live': 'polite' }, dot, label, pending);
  const render = (): void => {
    const shown = shownStatus(client.status);
    element.dataset.state = shown;
    label.textContent = labels[shown];
    const count = client.pendingCount;
    element.dataset.pending = String(count);
    pending.textContent = count === 0 ? '' : `${count} unsynced ${count === 1 ? 'change' : 'changes'}`;
  };
  const stops = [client.on('status', render), client.on('pending', render)];
  const onNetwork = (): void => render();
  window.addEventListener('online', onNetwork);
  window.addEventListener('offline', onNetwork);
  render();
  return {
    element,
    stop: () => {
      for (const stop of stops) stop();
      window.removeEventListener('online', onNetwork);
      window.removeEventListener('offline', onNetwork);
    },
  };
}
