/**
 * The task board: sign in as a demo user, then the board, kept in sync by
 * datsync and usable offline (a service worker keeps the app, IndexedDB the
 * data).
 */
import './styles.css';
import type { DatsyncClient } from '../../../src/client/index.js';
import { boardView } from './board.js';
import { h } from './dom.js';
import { openEditor } from './editor.js';
import type { Session, User } from './session.js';
import { demoUsers, logIn, logOut, savedSession } from './session.js';
import { statusView } from './status.js';
import { ensureUser, openReplica } from './store.js';
import { newTaskTx } from './tasks.js';

const root = document.getElementById('app') as HTMLElement;

function avatar(user: User): HTMLElement {
  const element = h('span', { class: 'avatar', 'aria-hidden': 'true' }, user.name.slice(0, 1));
  element.style.background = user.color; // through the CSSOM: the page's CSP allows no inline styles
  return element;
}

function registerServiceWorker(): void {
  // The build writes /sw.js (see vite.config.ts).
  if (!('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register('/sw.js').catch((error: unknown) => console.warn('no service worker:', error));
}

function loginView(message = ''): void {
  const error = h('p', { class: 'error', role: 'alert' }, message);
  const choices = demoUsers.map((user, index) =>
    h(
      'label',
      { class: 'user-choice' },
      h('input', { type: 'radio', name: 'user', value: user.sub, checked: index === 0 }),
      avatar(user),
      h(
        'span',
        {},
        h('strong', {}, user.name),
        h('span', { class: 'hint' }, user.role === 'member' ? ' edits tasks' : ' reads public tasks only'),
      ),
    ),
  );
  const form = h(
    'form',
    { class: 'login' },
    h('h1', {}, 'Team tasks'),
    h('p', {}, 'A task board that keeps working offline. Open it in two windows as two people and watch them sync.'),
    h('fieldset', {}, h('legend', {}, 'Sign in as'), ...choices),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    error,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const sub = new FormData(form).get('user');
    if (typeof sub !== 'string') return;
    error.textContent = '';
    logIn(sub).then(
      (session) => void boardScreen(session),
      (cause: unknown) => {
        error.textContent = navigator.onLine ? (cause as Error).message : 'Signing in needs a connection the first time.';
      },
    );
  });
  root.replaceChildren(h('main', { class: 'login-screen' }, form));
  form.querySelector<HTMLInputElement>('input[name=user]')?.focus();
}

function newTaskForm(client: DatsyncClient, session: Session): HTMLElement {
  const title = h('input', { id: 'new-title', name: 'title', type: 'text', required: true, maxlength: 200, autocomplete: 'off' });
  const isPrivate = h('input', { id: 'new-private', name: 'private', type: 'checkbox' });
  const add = h('button', { type: 'submit', class: 'primary' }, 'Add');
  const waiting = h('p', { class: 'hint', id: 'new-task-hint' });
  const form = h(
    'form',
    { class: 'new-task', 'aria-label': 'Add a task' },
    h('label', { for: 'new-title' }, 'New task'),
    title,
    h('span', { class: 'check' }, isPrivate, h('label', { for: 'new-private' }, 'Private')),
    add,
    waiting,
  );
  const me = session.user.sub;
  // Tasks refer to their owner: until this replica holds the user (first sign-in, still connecting), wait.
  client.subscribe<number | null>('[:find ?u . :in $ ?name :where [?u "user/name" ?name]]', [me], (user) => {
    add.disabled = user === null;
    waiting.textContent = user === null ? 'Connecting to set up your account…' : '';
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = title.value.trim();
    if (text.length === 0) return;
    const hidden = isPrivate.checked;
    // Cleared at once (the task shows at once): the next task can be typed while this one is stored.
    title.value = '';
    isPrivate.checked = false;
    title.focus();
    client.transact(newTaskTx(text, hidden, me, new Date())).catch((cause: unknown) => {
      waiting.textContent = `Not added: ${(cause as Error).message}`;
      if (title.value === '') title.value = text;
    });
  });
  return form;
}

async function boardScreen(session: Session): Promise<void> {
  const client = await openReplica(session);
  ensureUser(client, session.user.sub);
  const announcer = h('p', { id: 'announcer', class: 'visually-hidden', 'aria-live': 'polite' });
  const alerts = h('div', { class: 'alerts', role: 'alert' });
  const announce = (message: string): void => {
    announcer.textContent = message;
  };
  client.on('rejected', ({ error }) => {
    alerts.replaceChildren(h('p', {}, `The server refused a change and it was undone: ${error.message}`));
  });
  const status = statusView(client);
  const board = boardView(client, {
    open: (id, opener) => openEditor({ client, session, announce }, id, opener),
    move: (id, status) => {
      client.transact([[':db/add', ['datsync/id', id], 'task/status', status]]).catch((cause: unknown) => {
        alerts.replaceChildren(h('p', {}, `Not moved: ${(cause as Error).message}`));
      });
    },
    readOnly: session.user.role !== 'member',
  });
  const signOut = h('button', { type: 'button', class: 'secondary' }, 'Sign out');
  signOut.addEventListener('click', () => {
    status.stop();
    board.stop();
    logOut();
    void client.close().then(() => loginView());
  });
  root.replaceChildren(
    h(
      'header',
      { class: 'topbar' },
      h('h1', {}, 'Team tasks'),
      status.element,
      h('div', { class: 'me' }, avatar(session.user), h('span', { class: 'me-name' }, session.user.name), signOut),
    ),
    h(
      'main',
      { class: 'content' },
      alerts,
      session.user.role === 'member'
        ? newTaskForm(client, session)
        : h('p', { class: 'hint' }, 'You can read public tasks; only members change them.'),
      board.element,
      announcer,
    ),
  );
  document.body.dataset.ready = 'true';
}

registerServiceWorker();
const session = savedSession();
if (session === null) loginView();
else void boardScreen(session);
