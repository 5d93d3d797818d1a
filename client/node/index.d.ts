/// <reference types="node" />
export interface Options {
  /** deadline of each call in ms (default 1000; <= 0: none) */
  timeout?: number;
  password?: string;
  db?: number;
  /** namespace prepended to every key */
  prefix?: string;
  /** 0: fnv1a_64 (twemproxy's default), 1: md5 */
  hash?: number;
  /** false: never read from a Unix-socket server's shared mapping (local
   * reads, the default there); every get asks the server */
  localReads?: boolean;
}
export interface SetOptions { ttl?: number; px?: number; ex?: number; nx?: boolean; xx?: boolean; }
type Value = string | Buffer;
export declare class Client {
  constructor(servers: string, options?: Options);
  get(key: Value): Promise<string | null>;
  get(key: Value, opts: { buffer: true }): Promise<Buffer | null>;
  set(key: Value, value: Value, opts?: SetOptions | number): Promise<boolean>;
  del(key: Value): Promise<number>;
  incr(key: Value, by?: number): Promise<number>;
  expire(key: Value, ms: number): Promise<boolean>;
  ttl(key: Value): Promise<number | null>;
  mget(keys: Value[], opts?: { buffer?: boolean }): Promise<(string | Buffer | null)[]>;
  command(args: (Value | number)[], keyIndex?: number, opts?: { buffer?: boolean }): Promise<unknown>;
  getSync(key: Value): string | null;
  getSync(key: Value, opts: { buffer: true }): Buffer | null;
  setSync(key: Value, value: Value, opts?: SetOptions | number): void;
  delSync(key: Value): boolean;
  serverOf(key: Value): number;
  close(): void;
  closed: boolean;
  readonly servers: string;
  readonly serverList: string[];
  readonly serverCount: number;
  readonly prefix: string;
  readonly options: Options;
}
export declare function connect(servers: string, options?: Options): Client;
export declare const HASH_FNV1A_64: 0;
export declare const HASH_MD5: 1;
/** the addon file that was loaded (build/Release or prebuilds/<platform>-<arch>) */
export declare const addonFile: string;

/* ---- errors: every one is an Error with a string code ---- */
export type OffheapErrorCode =
  | 'OFFHEAP_ERR' | 'OFFHEAP_NOMEM' | 'OFFHEAP_INVAL' | 'OFFHEAP_IO' | 'OFFHEAP_TIMEOUT'
  | 'OFFHEAP_PROTOCOL' | 'OFFHEAP_SERVER' | 'OFFHEAP_DOWN' | 'OFFHEAP_TYPE' | 'OFFHEAP_CLOSED'
  | 'OFFHEAP_SERIALIZE' | 'OFFHEAP_FETCH';
export declare class OffheapError extends Error {
  constructor(message: string, code?: OffheapErrorCode, rc?: number, options?: { cause?: unknown });
  code: OffheapErrorCode;
  /** liboffheap's return code, where the error came from it */
  rc?: number;
}
/** OFFHEAP_IO (refused, reset) or OFFHEAP_DOWN (waiting to reconnect) */
export declare class ConnectionError extends OffheapError {}
/** OFFHEAP_TIMEOUT: the call's deadline passed */
export declare class TimeoutError extends OffheapError {}
/** OFFHEAP_SERVER: an error reply; message is the server's text */
export declare class ServerError extends OffheapError {}
/** OFFHEAP_CLOSED: the client was closed */
export declare class ClosedError extends OffheapError {}
/** OFFHEAP_SERIALIZE: a value the serializer cannot write, or stored bytes it cannot read */
export declare class SerializationError extends OffheapError {
  constructor(message: string, options?: { cause?: unknown });
}
/** OFFHEAP_FETCH: fetch() without a loader */
export declare class FetchError extends OffheapError {
  constructor(message: string, options?: { cause?: unknown });
}

/* ---- OffheapCache: the lru-cache-like API ---- */
export type Key = string | number | Buffer;
export interface Serializer {
  serialize(value: unknown): Buffer | Uint8Array | string;
  deserialize(data: Buffer): unknown;
}
export interface FetcherOptions<K, V> {
  signal: AbortSignal;
  options: FetchOptions<K, V>;
  context: unknown;
}
export type Fetcher<K, V> = (key: K, staleValue: V | undefined, opts: FetcherOptions<K, V>) =>
  V | undefined | Promise<V | undefined>;
export interface FetchOptions<K, V> {
  /** the loader of this call (default: the cache's fetchMethod) */
  loader?: Fetcher<K, V>;
  /** ms of the loaded entry (default: the cache's ttl) */
  ttl?: number;
  /** load even on a hit */
  forceRefresh?: boolean;
  /** with staleWhileRevalidate: return the stale copy while refreshing (default true) */
  allowStale?: boolean;
  /** given to the loader as opts.context */
  context?: unknown;
  [option: string]: unknown;
}
export interface CacheOptions<K extends Key = Key, V = unknown> extends Options {
  /** 'host:port', 'unix:/path' or a comma-separated list (default '127.0.0.1:6388') */
  servers?: string;
  /** a Client to share instead of servers (its prefix applies) */
  client?: Client;
  /** default ms of each entry (0: no expiry) */
  ttl?: number;
  /** 'json' (default), 'v8', or your own; strings and Buffers are always stored as they are */
  serializer?: 'json' | 'v8' | Serializer;
  /** loader of fetch() when none is passed */
  fetchMethod?: Fetcher<K, V>;
  /** ms a stale copy outlives each entry (0: none) */
  staleWhileRevalidate?: number;
  /** fetch()'s lease across processes: ttl (default 10000 ms), how long others wait (default ttl) */
  lease?: { ttl?: number; wait?: number };
}
export declare class OffheapCache<K extends Key = Key, V = unknown> {
  constructor(options?: CacheOptions<K, V>);
  readonly client: Client;
  ttl: number;
  staleWhileRevalidate: number;
  fetchMethod?: Fetcher<K, V>;
  /** the value, or undefined on a miss */
  get(key: K): Promise<V | undefined>;
  /** true once stored; false when nx found the key. A value of undefined deletes. */
  set(key: K, value: V | undefined, options?: { ttl?: number; nx?: boolean }): Promise<boolean>;
  has(key: K): Promise<boolean>;
  /** true if the key was there */
  delete(key: K): Promise<boolean>;
  /** every key under the prefix on every server (FLUSHDB without a prefix); match: a glob after the prefix */
  clear(match?: string): Promise<void>;
  /** ms left; Infinity without expiry; 0 for a miss */
  getRemainingTTL(key: K): Promise<number>;
  getMany(keys: K[]): Promise<(V | undefined)[]>;
  entries(match?: string): AsyncGenerator<[string, V], void>;
  keys(match?: string): AsyncGenerator<string, void>;
  values(match?: string): AsyncGenerator<V, void>;
  /** the value, loading it once across this process and every process sharing offheapd */
  fetch(key: K, options?: FetchOptions<K, V>): Promise<V | undefined>;
  close(): void;
}
