'use strict';
/*
 * offheap/keyv: a Keyv store kept in offheapd, through the native binding
 * (no Redis client).
 *
 *   const Keyv = require('keyv');
 *   const KeyvOffheap = require('offheap/keyv');
 *   const keyv = new Keyv({ store: new KeyvOffheap('unix:/run/offheap/offheapd.sock') });
 *
 * Keyv serializes values itself (a JSON string by default) and gives the
 * store its own key, "<namespace>:<key>"; the store keeps strings as they
 * are, so redis-cli shows what Keyv wrote. Values Keyv passes unserialized
 * (serialize: undefined) go through OffheapCache's encoding (lib/codec.js).
 * clear() deletes the keys of the store's namespace only ("<namespace>:*"
 * under its prefix), on every server; with no namespace, every key under
 * its prefix, or (no prefix either) each server's FLUSHDB.
 */
const { EventEmitter } = require('node:events');
const { OffheapCache } = require('./lib/cache');

class KeyvOffheap extends EventEmitter {
  /* new KeyvOffheap(servers?, options?) or new KeyvOffheap(options);
   * options as OffheapCache's (servers, client, prefix, timeout, ...). */
  constructor(servers, options) {
    super();
    if (servers !== null && typeof servers === 'object' && options === undefined) {
      options = servers;
      servers = undefined;
    }
    this.opts = { ...(options || {}) };
    if (servers !== undefined) this.opts.servers = servers;
    /* Keyv offers .iterator() only for stores whose opts.dialect (or url)
     * names a backend it knows; offheapd answers as Redis does (SCAN). */
    this.opts.url = this.opts.servers || '127.0.0.1:6388';
    this.opts.dialect = 'redis';
    this.namespace = undefined;
    const { url, dialect, ...cacheOptions } = this.opts;
    this.cache = new OffheapCache(cacheOptions);
    this.client = this.cache.client;
  }

  async get(key) {
    return this.cache.get(key);
  }

  async getMany(keys) {
    return this.cache.getMany(keys);
  }

  async set(key, value, ttl) {
    await this.cache.set(key, value, { ttl: typeof ttl === 'number' && ttl > 0 ? ttl : 0 });
    return true;
  }

  async setMany(entries) {
    await Promise.all(entries.map(({ key, value, ttl }) => this.set(key, value, ttl)));
  }

  async delete(key) {
    return this.cache.delete(key);
  }

  async deleteMany(keys) {
    const r = await Promise.all(keys.map((k) => this.cache.delete(k)));
    return r.some(Boolean);
  }

  async has(key) {
    return this.cache.has(key);
  }

  async hasMany(keys) {
    return Promise.all(keys.map((k) => this.cache.has(k)));
  }

  async clear() {
    await this.cache.clear(this.namespace ? `${globEscape(this.namespace)}:*` : undefined);
  }

  /* Yields [key, value] of the namespace's entries (keys as Keyv gave them). */
  async *iterator(namespace) {
    const ns = namespace ?? this.namespace;
    yield* this.cache.entries(ns ? `${globEscape(ns)}:*` : undefined);
  }

  async disconnect() {
    this.cache.close();
  }
}

function globEscape(s) {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

module.exports = KeyvOffheap;
module.exports.KeyvOffheap = KeyvOffheap;
module.exports.default = KeyvOffheap;
