/**
 * The task board's server: `datsync serve --config examples/app/server.config.js`
 * (what `npm start` runs). The format is described in docs/app.md.
 *
 * Ann and Bob are members: they read every public task and their own private
 * ones, and change what they read. Cy is a viewer: Cy reads public tasks and
 * changes nothing. A private task is its owner's alone: nobody else's replica
 * ever receives a datom of it.
 */
import { readFileSync } from 'node:fs';
import { pullDb } from 'datsync/server';

const json = (name) => JSON.parse(readFileSync(new URL(name, import.meta.url), 'utf8'));

export const schema = json('../tasks/schema.json');

const users = json('./users.json');

export const authentication = {
  type: 'tokens',
  expiresIn: '7d',
  // A demo login: whoever reaches the server may sign in as any demo user. A
  // real app checks a password or an identity provider here.
  login: (credentials) => {
    const user = users.find((u) => u.sub === credentials?.user);
    return user === undefined ? null : { sub: user.sub, name: user.name, role: user.role };
  },
};

/** The task and its owner's name, as one database holds them (null where it has no datoms). */
const ownerOf = (db, eid) => (eid === undefined ? null : pullDb(db, '["task/private" {"task/owner" ["user/name"]}]', eid));

export const permissions = {
  read: {
    'user/*': true,
    // (readable ?task ?me): ?me is the token's sub.
    'task/*': {
      datalog: `[[(readable ?e ?me) [?e "task/private" false]]
                 [(readable ?e ?me) [?e "task/owner" ?o] [?o "user/name" ?me]]]`,
    },
  },
  write: {
    'task/*': {
      allow: ({ identity, eidBefore, eidAfter, dbBefore, dbAfter }) => {
        if (identity.role !== 'member') return 'viewers cannot change tasks';
        // Judged before and after the whole transaction: nobody else's private task may be
        // changed, and no task may become private to somebody else.
        for (const task of [ownerOf(dbBefore, eidBefore), ownerOf(dbAfter, eidAfter)]) {
          if (task !== null && task['task/private'] !== false && task['task/owner']?.['user/name'] !== identity.sub) {
            return 'a private task belongs to its owner';
          }
        }
        return true;
      },
    },
    // Each user creates their own user entity once, and nobody renames anybody.
    'user/name': {
      allow: ({ identity, eidBefore, eidAfter, dbAfter }) =>
        (eidBefore === undefined && eidAfter !== undefined && pullDb(dbAfter, '["user/name"]', eidAfter)?.['user/name'] === identity.sub) ||
        'you may create only your own user',
    },
  },
};

// The built app (`npm start` builds it), served on the same port as /sync.
export const staticDir = './dist';
