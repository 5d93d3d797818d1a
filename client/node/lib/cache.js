'use strict';
/*
 * OffheapCache: the API of lru-cache, over offheapd.
 *
 *   const cache = new OffheapCache({ servers: 'unix:/run/offheap/offheapd.sock', ttl: 60_000 });
 *   await cache.set('user:1', { name: 'ada' });        // JSON, PX 60000
 *   await cache.get('user:1');                          // { name: 'ada' }
 *   await cache.fetch('user:2', { loader: (k) => db.load(k) });
 *
 * Differences from lru-cache: every call returns a Promise (the entries live
 * in another process); a miss is `undefined`, as there; `max`/`maxSize` are
 * offheapd's `maxmemory`; keys are strings, numbers or Buffers.
 *
 * fetch(): concurrent misses of one key in this process share one Promise.
 * Across processes the first miss takes a lease, `SET <key>\0lease <token> NX
 * PX <lease.ttl>`, and loads; the others poll the key with backoff (1 ms
 * doubling to 50 ms, with jitter) until the value appears, the lease goes
 * away (the holder failed: one of them takes it), or `lease.wait` passes
 * (then it loads itself). With `staleWhileRevalidate` a second copy
 * `<key>\0stale` lives that much longer than the entry: a miss that finds
 * it returns it at once, and the lease holder refreshes in the background.
 * offheapd has no scripting, so the holder releases the lease with a
 * compare-and-delete made of WATCH/GET/MULTI/DEL/EXEC on a connection of its
 * own (serialized): it deletes the lease only while it still holds it.
 */
const { randomUUID } = require('node:crypto');
const { makeCodec } = require('./codec');
const { FetchError } = require('./errors');

const LEASE = Buffer.from('\0lease');
const STALE = Buffer.from('\0stale');

function suffixed(key, suffix) {
  if (typeof key === 'string') return key + suffix.toString('latin1');
  return Buffer.concat([key, suffix]);
}

function checkKey(key) {
  if (typeof key === 'string' || Buffer.isBuffer(key)) return key;
  if (typeof key === 'number' && Number.isFinite(key)) return String(key);
  if (key instanceof Uint8Array) return Buffer.from(key.buffer, key.byteOffset, key.byteLength);
  throw new TypeError('keys must be strings, finite numbers or Buffers');
}

function checkTtl(ttl, what = 'ttl') {
  if (ttl === undefined || ttl === null) return undefined;
  if (typeof ttl !== 'number' || !(ttl >= 0) || ttl === Infinity) {
    throw new TypeError(`${what} must be a non-negative, finite number of ms (0: no expiry)`);
  }
  return Math.floor(ttl);
}

/* The key of the in-flight Map: a string for either kind of key. */
function flightKey(key) {
  return typeof key === 'string' ? `s${key}` : `b${key.toString('hex')}`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class OffheapCache {
  /*
   * options:
   *   servers      'host:port', 'unix:/path' or a comma-separated list
   *                (default '127.0.0.1:6388'); or
   *   client       a Client from connect() to share (its prefix applies)
   *   prefix       namespace prepended to every key ("app:")
   *   timeout, password, db, hash   as connect()
   *   ttl          default ms of each entry (0: none)
   *   serializer   'json' (default), 'v8', or { serialize, deserialize }
   *   fetchMethod  (key, staleValue, { signal, options, context }) => value,
   *                the loader of fetch() when none is passed
   *   staleWhileRevalidate  ms a stale copy outlives the entry (0: none)
   *   lease        { ttl: 10000, wait: lease.ttl } ms, for fetch()
   */
  constructor(options = {}) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError('options must be an object');
    }
    const { connect } = require('../index');
    const {
      client, servers = '127.0.0.1:6388', ttl = 0, serializer = 'json',
      fetchMethod, staleWhileRevalidate = 0, lease = {}, ...clientOptions
    } = options;
    this.ttl = checkTtl(ttl) || 0;
    this.staleWhileRevalidate = checkTtl(staleWhileRevalidate, 'staleWhileRevalidate') || 0;
    this.lease = {
      ttl: checkTtl(lease.ttl, 'lease.ttl') || 10000,
      wait: checkTtl(lease.wait, 'lease.wait') ?? checkTtl(lease.ttl, 'lease.ttl') ?? 10000,
    };
    if (fetchMethod !== undefined && typeof fetchMethod !== 'function') {
      throw new TypeError('fetchMethod must be a function');
    }
    this.fetchMethod = fetchMethod;
    this._codec = makeCodec(serializer);
    if (client) {
      this.client = client;
      this._ownsClient = false;
    } else {
      this.client = connect(servers, clientOptions);
      this._ownsClient = true;
    }
    this._inflight = new Map();
    this._side = new Map(); /* server index -> Client of that server alone */
    this._releases = Promise.resolve();
  }

  /* Resolves to the value, or undefined on a miss. */
  async get(key) {
    const buf = await this.client.get(checkKey(key), { buffer: true });
    return this._codec.decode(buf);
  }

  /* Resolves to true once stored (false when {nx:true} found the key).
   * A value of undefined deletes the key, as in lru-cache. */
  async set(key, value, options = {}) {
    key = checkKey(key);
    if (value === undefined) {
      await this.delete(key);
      return true;
    }
    const ttl = checkTtl(options.ttl) ?? this.ttl;
    const data = this._codec.encode(value);
    const setOpts = { ttl, nx: !!options.nx };
    if (this.staleWhileRevalidate > 0 && !options.nx) {
      const staleTtl = (ttl > 0 ? ttl : 0) + this.staleWhileRevalidate;
      const [ok] = await Promise.all([
        this.client.set(key, data, setOpts),
        this.client.set(suffixed(key, STALE), data, { ttl: ttl > 0 ? staleTtl : 0 }),
      ]);
      return ok;
    }
    return this.client.set(key, data, setOpts);
  }

  async has(key) {
    return (await this.client.command(['EXISTS', checkKey(key)], 1)) === 1;
  }

  /* Resolves to true if the key was there. */
  async delete(key) {
    key = checkKey(key);
    if (this.staleWhileRevalidate > 0) {
      const [n] = await Promise.all([this.client.del(key), this.client.del(suffixed(key, STALE))]);
      return n > 0;
    }
    return (await this.client.del(key)) > 0;
  }

  /* ms left; Infinity for an entry without expiry; 0 for a miss (lru-cache). */
  async getRemainingTTL(key) {
    const n = await this.client.command(['PTTL', checkKey(key)], 1);
    if (n === -1) return Infinity;
    return n < 0 ? 0 : n;
  }

  /* Resolves to an array of values (undefined for misses), in key order. */
  async getMany(keys) {
    const bufs = await this.client.mget(keys.map(checkKey), { buffer: true });
    return bufs.map((b) => this._codec.decode(b));
  }

  /*
   * Deletes every entry of this cache: the keys under its prefix on every
   * server (SCAN MATCH, then DEL in batches), or, without a prefix, all of
   * each server (FLUSHDB). match: only keys (after the prefix) matching this
   * glob, e.g. 'sessions:*'.
   */
  async clear(match) {
    const prefix = this.client.prefix || '';
    const n = this.client.serverCount;
    if (!prefix && !match) {
      await Promise.all(Array.from({ length: n }, (_, i) => this._server(i).command(['FLUSHDB'])));
      return;
    }
    const pattern = globEscape(prefix) + (match ?? '*');
    await Promise.all(Array.from({ length: n }, (_, i) => this._scanDelete(this._server(i), pattern)));
  }

  /* Yields [key, value] for every entry of this cache (keys without the
   * prefix), as lru-cache's entries(); match as clear(). */
  async *entries(match) {
    const prefix = Buffer.from(this.client.prefix || '');
    const pattern = globEscape(this.client.prefix || '') + (match ?? '*');
    for (let i = 0; i < this.client.serverCount; i++) {
      const srv = this._server(i);
      let cursor = '0';
      do {
        const [next, keys] = await srv.command(['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000'], 0, { buffer: true });
        cursor = next.toString();
        const vals = keys.length ? await srv.command(['MGET', ...keys], 0, { buffer: true }) : [];
        for (let j = 0; j < keys.length; j++) {
          if (vals[j] === null || isSide(keys[j])) continue;
          const k = keys[j].subarray(prefix.length).toString('utf8');
          yield [k, this._codec.decode(vals[j])];
        }
      } while (cursor !== '0');
    }
  }

  /* Keys and values alone, as lru-cache's keys() and values(). */
  async *keys(match) {
    for await (const [k] of this.entries(match)) yield k;
  }

  async *values(match) {
    for await (const [, v] of this.entries(match)) yield v;
  }

  /*
   * Resolves to the cached value, or loads it once: options.loader (or the
   * constructor's fetchMethod) is called as (key, staleValue, { signal,
   * options, context }) and its value stored with options.ttl (default:
   * this.ttl). A loader returning undefined stores nothing.
   *   forceRefresh  load even on a hit
   *   allowStale    with staleWhileRevalidate: return the stale copy while
   *                 this process refreshes it (default true)
   */
  fetch(key, options = {}) {
    key = checkKey(key);
    const loader = options.loader || this.fetchMethod;
    if (typeof loader !== 'function') {
      return Promise.reject(new FetchError('fetch() needs a loader: pass { loader } or the fetchMethod option'));
    }
    const fk = flightKey(key);
    const pending = this._inflight.get(fk);
    if (pending) return pending;
    const p = this._fetch(key, loader, options).finally(() => {
      if (this._inflight.get(fk) === p) this._inflight.delete(fk);
    });
    this._inflight.set(fk, p);
    return p;
  }

  async _fetch(key, loader, options) {
    if (!options.forceRefresh) {
      const v = await this.get(key);
      if (v !== undefined) return v;
    }
    const leaseKey = suffixed(key, LEASE);
    const allowStale = options.allowStale !== false && this.staleWhileRevalidate > 0;
    const deadline = Date.now() + this.lease.wait;
    let backoff = 1;
    for (;;) {
      const token = randomUUID();
      if (await this.client.set(leaseKey, token, { ttl: this.lease.ttl, nx: true })) {
        return this._load(key, leaseKey, token, loader, options, allowStale);
      }
      if (allowStale) {
        const stale = await this._stale(key);
        if (stale !== undefined) return stale;
      }
      /* Another process loads: wait for its value or its lease to go. */
      for (;;) {
        await sleep(backoff + Math.random() * backoff);
        backoff = Math.min(backoff * 2, 50);
        const [buf, held] = await Promise.all([
          this.client.get(key, { buffer: true }),
          this.client.command(['EXISTS', leaseKey], 1),
        ]);
        if (buf !== null) return this._codec.decode(buf);
        if (Date.now() >= deadline) {
          /* Waited long enough: load here, without the lease. */
          return this._runLoader(key, loader, options, undefined);
        }
        if (held !== 1) break; /* the holder failed or its lease ended */
      }
    }
  }

  async _load(key, leaseKey, token, loader, options, allowStale) {
    let stale;
    if (allowStale || this.staleWhileRevalidate > 0) stale = await this._stale(key);
    const run = (async () => {
      try {
        return await this._runLoader(key, loader, options, stale);
      } finally {
        await this._release(leaseKey, token);
      }
    })();
    if (allowStale && stale !== undefined) {
      run.catch(() => {}); /* a background refresh that fails keeps the stale copy */
      return stale;
    }
    return run;
  }

  async _runLoader(key, loader, options, stale) {
    const ac = new AbortController();
    const v = await loader(key, stale, { signal: ac.signal, options, context: options.context });
    if (v !== undefined) await this.set(key, v, { ttl: options.ttl });
    return v;
  }

  async _stale(key) {
    if (this.staleWhileRevalidate <= 0) return undefined;
    return this._codec.decode(await this.client.get(suffixed(key, STALE), { buffer: true }));
  }

  /* Compare-and-delete of the lease, on the lease server's own connection,
   * one at a time: WATCH + GET, then MULTI DEL EXEC only if it is still
   * ours (EXEC does nothing if the lease changed meanwhile). Failures are
   * left to the lease's expiry. */
  _release(leaseKey, token) {
    const srv = this._server(this.client.serverOf(leaseKey), true);
    this._releases = this._releases.then(async () => {
      try {
        const [, cur] = await Promise.all([
          srv.command(['WATCH', leaseKey], 1),
          srv.command(['GET', leaseKey], 1),
        ]);
        if (cur === token) {
          await Promise.all([srv.command(['MULTI']), srv.command(['DEL', leaseKey], 1), srv.command(['EXEC'])]);
        } else {
          await srv.command(['UNWATCH']);
        }
      } catch {
        /* the lease expires by itself */
      }
    });
    return this._releases;
  }

  /* A Client of server i alone; prefixed: with this cache's prefix (the
   * lease connection), else raw keys (SCAN, FLUSHDB). */
  _server(i, prefixed = false) {
    const id = `${i}:${prefixed ? 'p' : 'r'}`;
    let c = this._side.get(id);
    if (!c) {
      const { connect } = require('../index');
      const o = { ...this.client.options };
      if (!prefixed) delete o.prefix;
      c = connect(this.client.serverList[i], o);
      this._side.set(id, c);
    }
    return c;
  }

  async _scanDelete(srv, pattern) {
    let cursor = '0';
    do {
      const [next, keys] = await srv.command(['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000'], 0, { buffer: true });
      cursor = next.toString();
      if (keys.length) await srv.command(['DEL', ...keys]);
    } while (cursor !== '0');
  }

  /* Closes the connections (the shared client passed in stays open). */
  close() {
    for (const c of this._side.values()) c.close();
    this._side.clear();
    if (this._ownsClient) this.client.close();
  }
}

function isSide(k) {
  return k.length > 6 && (k.subarray(k.length - 6).equals(LEASE) || k.subarray(k.length - 6).equals(STALE));
}

function globEscape(s) {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

module.exports = { OffheapCache };
