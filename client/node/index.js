'use strict';
/*
 * offheap -- a cache kept out of the V8 heap, in offheapd.
 *
 *   const offheap = require('offheap');
 *   const c = offheap.connect('unix:/run/offheapd.sock');
 *   await c.set('user:1', JSON.stringify(u), { ttl: 60000 });
 *   const s = await c.get('user:1');            // string or null
 *   const b = await c.get('user:1', { buffer: true }); // Buffer or null
 *   c.close();
 *
 * Async calls run on Node's event loop through liboffheap's non-blocking
 * client (no threads): calls made in the same tick leave in one write.
 * getSync/setSync/delSync block on a second connection, for a local Unix
 * socket where a caller wants a drop-in for a Map.
 *
 * OffheapCache (lib/cache.js) is the lru-cache-like API on top: values
 * serialized, ttl, fetch() with stampede protection. offheap/keyv is a Keyv
 * store. Errors are the Error subclasses of lib/errors.js, each with a code.
 */
const { load } = require('./lib/native');
const errors = require('./lib/errors');

const { native, file: addonFile } = load();
native.setErrorFactory(errors.fromNative);

const NX = 1;
const XX = 2;

function ttlOf(opts) {
  if (opts == null) return 0;
  if (typeof opts === 'number') return opts;
  const ttl = opts.ttl ?? opts.px ?? (opts.ex != null ? opts.ex * 1000 : 0);
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 0) {
    throw new TypeError('ttl must be a non-negative number of ms');
  }
  return Math.floor(ttl);
}

function condOf(opts) {
  if (opts == null || typeof opts !== 'object') return 0;
  if (opts.nx && opts.xx) throw new TypeError('nx and xx exclude each other');
  return opts.nx ? NX : opts.xx ? XX : 0;
}

class Client {
  constructor(servers, options = {}) {
    if (typeof servers !== 'string' || servers.length === 0) {
      throw new TypeError('servers must be "host:port", "unix:/path" or a comma-separated list');
    }
    this._h = native.create({ ...options, servers });
    this.closed = false;
    this.servers = servers;
    this.options = { ...options };
    this.prefix = typeof options.prefix === 'string' ? options.prefix : '';
    this.serverList = servers.split(',').map((s) => s.trim()).filter(Boolean);
    this.serverCount = this.serverList.length;
  }

  /* Resolves to the value (string, or Buffer with {buffer:true}) or null. */
  get(key, opts) {
    return native.get(this._h, key, !!(opts && opts.buffer));
  }

  /* Resolves to true, or false when {nx:true}/{xx:true} did not hold. */
  set(key, value, opts) {
    return native.set(this._h, key, value, ttlOf(opts), condOf(opts));
  }

  /* Resolves to the number of keys deleted (0 or 1). */
  del(key) {
    return native.command(this._h, ['DEL', key], 1, false);
  }

  /* Resolves to the new value. */
  incr(key, by = 1) {
    return native.command(this._h, ['INCRBY', key, String(by)], 1, false);
  }

  /* Resolves to true if the key exists and now expires after ms. */
  async expire(key, ms) {
    return (await native.command(this._h, ['PEXPIRE', key, String(ms)], 1, false)) === 1;
  }

  /* Resolves to the ms left, -1 without expiry, null for no such key. */
  async ttl(key) {
    const n = await native.command(this._h, ['PTTL', key], 1, false);
    return n === -2 ? null : n;
  }

  /* Resolves to an array of values (null for misses), in key order. The
   * GETs leave in one write, spread over the servers by key. */
  mget(keys, opts) {
    const buffer = !!(opts && opts.buffer);
    return Promise.all(keys.map((k) => native.get(this._h, k, buffer)));
  }

  /* Any command: args[keyIndex] is the key (prefixed, routed); 0 for none. */
  command(args, keyIndex = 0, opts) {
    return native.command(this._h, args.map((a) => (Buffer.isBuffer(a) ? a : String(a))),
      keyIndex, !!(opts && opts.buffer));
  }

  getSync(key, opts) {
    return native.getSync(this._h, key, !!(opts && opts.buffer));
  }

  setSync(key, value, opts) {
    native.setSync(this._h, key, value, ttlOf(opts));
  }

  delSync(key) {
    return native.delSync(this._h, key);
  }

  /* Index of the server key goes to (ketama, as twemproxy). */
  serverOf(key) {
    return native.serverOf(this._h, key);
  }

  /* Rejects pending calls with a "handle closed" error and disconnects. */
  close() {
    if (!this.closed) {
      this.closed = true;
      native.close(this._h);
    }
  }
}

/* connect(servers, {timeout, password, db, prefix, hash}) */
function connect(servers, options) {
  return new Client(servers, options);
}

module.exports = {
  connect, Client, HASH_FNV1A_64: 0, HASH_MD5: 1, addonFile,
  OffheapError: errors.OffheapError,
  ConnectionError: errors.ConnectionError,
  TimeoutError: errors.TimeoutError,
  ServerError: errors.ServerError,
  ClosedError: errors.ClosedError,
  SerializationError: errors.SerializationError,
  FetchError: errors.FetchError,
};
/* After the exports above: lib/cache.js requires connect from here. */
module.exports.OffheapCache = require('./lib/cache').OffheapCache;

