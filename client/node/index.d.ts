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
}
export declare function connect(servers: string, options?: Options): Client;
export declare const HASH_FNV1A_64: 0;
export declare const HASH_MD5: 1;
