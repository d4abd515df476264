/**
 * Installs fake-indexeddb's globals (`indexedDB`, `IDBKeyRange`, …) in this
 * process. The storage suite imports it only when it runs, so the other
 * suites run without them.
 *
 * @module
 */
import 'fake-indexeddb/auto';
