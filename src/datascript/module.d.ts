// The `datascript` package ships no types. This declares only the JavaScript
// API datsync uses; src/datascript/index.ts wraps it in a typed facade.
declare module 'datascript' {
  interface RawDatom {
    readonly e: number;
    readonly a: string;
    readonly v: unknown;
    readonly tx: number;
  }
  interface RawEntity {
    get(attribute: string): unknown;
  }
  interface DataScript {
    empty_db(schema?: object): unknown;
    init_db(datoms: ReadonlyArray<readonly [number, string, unknown, number?]>, schema?: object): unknown;
    db_with(db: unknown, txData: readonly unknown[]): unknown;
    q(query: string, ...inputs: unknown[]): unknown;
    pull(db: unknown, pattern: string, eid: unknown): unknown;
    pull_many(db: unknown, pattern: string, eids: readonly unknown[]): unknown;
    datoms(db: unknown, index: string, ...components: unknown[]): RawDatom[];
    entity(db: unknown, eid: unknown): RawEntity | null;
    filter(db: unknown, predicate: (db: unknown, datom: RawDatom) => boolean): unknown;
    serializable(db: unknown): Record<string, unknown>;
    from_serializable(serialized: object): unknown;
  }
  const datascript: DataScript;
  export default datascript;
}
