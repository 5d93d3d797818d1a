'use strict';
/*
 * node-heap: what 1 M cached entries cost a Node process, kept (a) in an
 * in-process lru-cache and (b) in offheapd through the offheap binding.
 *
 *   node --expose-gc bench.js heap lru|offheap <servers> [entries] [seconds] [rps]
 *   node bench.js tput offheap|ioredis|ioredis-auto <host:port> [ops]
 *
 * heap: fills the cache, then serves a steady load (rps requests/s, 90 %
 * reads of a random key with JSON.parse of the value, 10 % writes of a fresh
 * value) for `seconds`; latency is measured from a request's scheduled
 * start, so event-loop stalls (GC pauses) count. Prints one JSON line.
 * tput: GET/SET throughput with 200 calls in flight. Prints one JSON line.
 */
const path = require('node:path');
const { PerformanceObserver, performance } = require('node:perf_hooks');
const BIN = path.resolve(__dirname, '../../../client/node');

function value(i) {
  return JSON.stringify({ id: i, name: `user ${i}`, email: `user${i}@example.com`,
    roles: ['reader', 'writer'], created: 1700000000000 + i, score: i % 977 });
}

function pct(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : 0;
}

function mb(n) {
  return Math.round(n / 1048576);
}

async function makeStore(kind, servers, entries) {
  if (kind === 'lru') {
    const { LRUCache } = require(path.join(BIN, 'node_modules/lru-cache'));
    const c = new LRUCache({ max: entries + 1000 });
    return { get: async (k) => c.get(k), set: async (k, v) => { c.set(k, v); }, close() {} };
  }
  const c = require(BIN).connect(servers, { timeout: 5000 });
  return { get: (k) => c.get(k), set: (k, v) => c.set(k, v), close: () => c.close() };
}

async function fill(store, entries) {
  const batch = 5000;
  for (let i = 0; i < entries; i += batch) {
    const ps = [];
    for (let j = i; j < Math.min(entries, i + batch); j++) ps.push(store.set(`user:${j}`, value(j)));
    await Promise.all(ps);
  }
}

function steadyLoad(store, entries, seconds, rps) {
  return new Promise((resolve) => {
    const lat = [];
    const perTick = Math.max(1, Math.round(rps / 1000));
    const start = performance.now();
    let issued = 0, done = 0, next = start;
    const one = (t0) => {
      const i = Math.floor(Math.random() * entries);
      const p = Math.random() < 0.9
        ? store.get(`user:${i}`).then((v) => { if (v) JSON.parse(v); })
        : store.set(`user:${i}`, value(i + 1));
      p.then(() => {
        lat.push(performance.now() - t0);
        if (++done === issued && performance.now() - start >= seconds * 1000) resolve(lat);
      });
    };
    const tick = () => {
      const now = performance.now();
      while (next <= now) { /* requests due by now, each from its slot */
        for (let k = 0; k < perTick; k++) { issued++; one(next); }
        next += 1;
      }
      if (now - start < seconds * 1000) setTimeout(tick, 1);
    };
    tick();
  });
}

async function heap(kind, servers, entries, seconds, rps) {
  let gcMs = 0, gcCount = 0, gcMax = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) { gcMs += e.duration; gcCount++; gcMax = Math.max(gcMax, e.duration); }
  });
  obs.observe({ entryTypes: ['gc'] });
  const store = await makeStore(kind, servers, entries);
  const t0 = performance.now();
  await fill(store, entries);
  const fillS = (performance.now() - t0) / 1000;
  if (global.gc) global.gc();
  const afterFill = process.memoryUsage();
  gcMs = 0; gcCount = 0; gcMax = 0;
  const lat = (await steadyLoad(store, entries, seconds, rps)).sort((a, b) => a - b);
  const afterLoad = process.memoryUsage();
  await new Promise((r) => setTimeout(r, 50)); /* let gc entries arrive */
  obs.disconnect();
  store.close();
  console.log(JSON.stringify({ kind, entries, fill_s: +fillS.toFixed(2),
    heapUsed_mb_after_fill: mb(afterFill.heapUsed), rss_mb_after_fill: mb(afterFill.rss),
    heapUsed_mb_after_load: mb(afterLoad.heapUsed), rss_mb_after_load: mb(afterLoad.rss),
    load_rps: rps, load_s: seconds, requests: lat.length,
    gc_pause_ms_total: +gcMs.toFixed(1), gc_count: gcCount, gc_pause_ms_max: +gcMax.toFixed(1),
    p50_ms: +pct(lat, 0.5).toFixed(3), p99_ms: +pct(lat, 0.99).toFixed(3), p999_ms: +pct(lat, 0.999).toFixed(3) }));
}

async function tput(kind, addr, ops) {
  const inflight = 200;
  let c;
  if (kind === 'offheap') {
    c = require(BIN).connect(addr, { timeout: 5000 });
  } else {
    const Redis = require(path.join(BIN, 'node_modules/ioredis'));
    const [host, port] = addr.split(':');
    c = new Redis({ host, port: +port, enableAutoPipelining: kind === 'ioredis-auto', lazyConnect: false });
    await c.ping();
  }
  const v = value(1);
  const run = async (op) => {
    const t0 = performance.now();
    let n = 0;
    const worker = async () => {
      while (n < ops) { n++; await (op === 'set' ? c.set(`t:${n % 10000}`, v) : c.get(`t:${n % 10000}`)); }
    };
    await Promise.all(Array.from({ length: inflight }, worker));
    return Math.round(ops / ((performance.now() - t0) / 1000));
  };
  const set = await run('set');
  const get = await run('get');
  if (kind === 'offheap') c.close(); else c.disconnect();
  console.log(JSON.stringify({ kind, ops, inflight, set_ops_s: set, get_ops_s: get }));
}

const [mode, kind, servers, a, b, c] = process.argv.slice(2);
if (mode === 'heap') {
  heap(kind, servers, +(a || 1000000), +(b || 10), +(c || 20000));
} else {
  tput(kind, servers, +(a || 200000));
}
