/// <reference types="node" />
import { EventEmitter } from 'node:events';
import type { CacheOptions, Client, OffheapCache } from './index';

/** A Keyv store kept in offheapd, through the native binding. */
declare class KeyvOffheap extends EventEmitter {
  constructor(servers?: string, options?: CacheOptions<string, unknown>);
  constructor(options: CacheOptions<string, unknown>);
  opts: CacheOptions<string, unknown>;
  namespace?: string;
  readonly cache: OffheapCache<string, unknown>;
  readonly client: Client;
  get<Value>(key: string): Promise<Value | undefined>;
  getMany<Value>(keys: string[]): Promise<Array<Value | undefined>>;
  set(key: string, value: unknown, ttl?: number): Promise<boolean>;
  setMany(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<void>;
  delete(key: string): Promise<boolean>;
  deleteMany(keys: string[]): Promise<boolean>;
  has(key: string): Promise<boolean>;
  hasMany(keys: string[]): Promise<boolean[]>;
  clear(): Promise<void>;
  iterator<Value>(namespace?: string): AsyncGenerator<[string, Value], void>;
  disconnect(): Promise<void>;
}
export = KeyvOffheap;
