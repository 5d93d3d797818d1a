'use strict';
/*
 * node-local: time per read from one Node thread, in one run, of
 *   lru-cache (in the heap), lmdb (lmdb-js, a memory-mapped file),
 *   offheap getSync and `await get` (local reads from offheapd's mapping
 *   over a Unix-socket connection), offheap over the socket only
 *   (localReads off) and ioredis to the same server's Unix socket.
 *
 *   node --expose-gc bench.js reads <kind> <unix-socket> [entries] [secs]
 *   node --expose-gc bench.js worker <kind> <unix-socket> [entries]
 *
 * reads: fills `entries` values of ~100 B (offheap kinds share what the
 * first one loaded), reads random present keys one at a time: reads/s over
 * `secs`, then 200 k single reads timed with process.hrtime (its own cost,
 * ~40 ns, included in every figure). Keys are made beforehand, so the
 * figures are the reads' own. Prints one JSON line.
 * worker: fills (lru) or connects (offheap), reads for a second, prints
 * its heapUsed and waits for SIGTERM (run.sh sums RSS and PSS of 8).
 */
const path = require('node:path');
const os = require('node:os');
const fs = require('node:fs');
const BIN = path.resolve(__dirname, '../../../client/node');

function value(i) {
  return JSON.stringify({ id: i, user: `user-${i}`, plan: 'pro', score: i % 977,
    tags: ['a', 'b'], created: 1700000000000 + i });
}

function key(i) {
  return `user:${i}`;
}

let seed = 2463534242;
function rnd(n) {
  // xorshift32: cheap, and the same sequence for every kind
  seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
  seed >>>= 0;
  return seed % n;
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function fillOffheap(sock, entries) {
  const oh = require(BIN);
  const c = oh.connect(`unix:${sock}`, { timeout: 10000 });
  if (c.getSync(key(entries - 1)) === value(entries - 1)) {
    return c; // loaded by an earlier kind
  }
  for (let i = 0; i < entries; i += 1000) {
    const ps = [];
    for (let j = i; j < Math.min(entries, i + 1000); j++) {
      ps.push(c.set(key(j), value(j)));
    }
    await Promise.all(ps);
  }
  return c;
}

async function store(kind, sock, entries) {
  if (kind === 'lru') {
    const { LRUCache } = require('lru-cache');
    const c = new LRUCache({ max: entries + 1000 });
    for (let i = 0; i < entries; i++) c.set(key(i), value(i));
    return { sync: (k) => c.get(k) };
  }
  if (kind === 'lmdb') {
    const { open } = require('lmdb');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oh-lmdb-'));
    const db = open({ path: dir, encoding: 'string', noSync: true });
    for (let i = 0; i < entries; i += 10000) {
      await db.transaction(() => {
        for (let j = i; j < Math.min(entries, i + 10000); j++) db.put(key(j), value(j));
      });
    }
    return { sync: (k) => db.get(k), close: () => { db.close(); fs.rmSync(dir, { recursive: true }); } };
  }
  const c = await fillOffheap(sock, entries);
  if (kind === 'getSync') return { sync: (k) => c.getSync(k), close: () => c.close() };
  if (kind === 'get') return { async: (k) => c.get(k), close: () => c.close() };
  if (kind === 'socket') {
    c.close();
    const s = require(BIN).connect(`unix:${sock}`, { timeout: 10000, localReads: false });
    return { async: (k) => s.get(k), close: () => s.close() };
  }
  if (kind === 'ioredis') {
    const Redis = require('ioredis');
    const r = new Redis({ path: sock, enableAutoPipelining: false, lazyConnect: true });
    await r.connect();
    c.close();
    return { async: (k) => r.get(k), close: () => r.disconnect() };
  }
  throw new Error(`unknown kind ${kind}`);
}

async function reads(kind, sock, entries, secs) {
  const s = await store(kind, sock, entries);
  if (global.gc) global.gc();
  const heapUsed = process.memoryUsage().heapUsed;
  const keys = Array.from({ length: entries }, (_, i) => key(i)); // after heapUsed
  const get = s.sync || s.async;
  const isAsync = !s.sync;
  const first = isAsync ? await get(key(1)) : get(key(1));
  if (first !== value(1)) throw new Error(`${kind}: wrong value ${first}`);
  let n = 0;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(secs * 1e9));
  let t = t0;
  while (t < end) {
    for (let i = 0; i < 1000; i++) {
      const v = isAsync ? await get(keys[rnd(entries)]) : get(keys[rnd(entries)]);
      if (v === undefined || v === null) throw new Error(`${kind}: a present key missed`);
    }
    n += 1000;
    t = process.hrtime.bigint();
  }
  const perS = n / (Number(t - t0) / 1e9);
  const samples = 200000;
  const lat = new Float64Array(samples);
  for (let i = 0; i < samples; i++) {
    const k = keys[rnd(entries)];
    const a = process.hrtime.bigint();
    if (isAsync) await get(k); else get(k);
    lat[i] = Number(process.hrtime.bigint() - a);
  }
  lat.sort();
  if (s.close) s.close();
  console.log(JSON.stringify({ kind, entries, reads_per_s: Math.round(perS),
    p50_ns: Math.round(pct(lat, 0.5)), p99_ns: Math.round(pct(lat, 0.99)),
    p999_ns: Math.round(pct(lat, 0.999)), heap_used_mb: +(heapUsed / 1048576).toFixed(1) }));
}

async function worker(kind, sock, entries) {
  const s = await store(kind === 'lru' ? 'lru' : 'getSync', sock, entries);
  const end = Date.now() + 1000;
  while (Date.now() < end) {
    for (let i = 0; i < 1000; i++) s.sync(key(rnd(entries)));
  }
  if (global.gc) global.gc();
  console.log(JSON.stringify({ pid: process.pid, heap_used_mb: +(process.memoryUsage().heapUsed / 1048576).toFixed(1) }));
  setInterval(() => {}, 1000);
}

const [mode, kind, sock, entries = '1000000', secs = '2'] = process.argv.slice(2);
(mode === 'reads' ? reads(kind, sock, +entries, +secs) : worker(kind, sock, +entries))
  .catch((e) => { console.error(e); process.exit(1); });
