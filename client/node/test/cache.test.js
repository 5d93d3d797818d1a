'use strict';
/* OffheapCache: the lru-cache-like API, its encoding, fetch() and its
 * lease across processes; errors; the Keyv store's basics (Keyv's own
 * suite runs against the packed tarball, in test/pack). */
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const path = require('node:path');
const v8 = require('node:v8');
const offheap = require('..');
const KeyvOffheap = require('../keyv');
const { startServer, stopServer, freePort } = require('./helpers');

const { OffheapCache } = offheap;
let srv;
let raw; /* a plain Client, as another application would write */

before(async () => {
  srv = await startServer();
  raw = offheap.connect(srv.addr);
});

after(async () => {
  raw.close();
  await stopServer(srv);
});

test('get/set/has/delete with JSON values, misses are undefined', async () => {
  const c = new OffheapCache({ servers: srv.addr, prefix: 't1:' });
  assert.equal(await c.get('u'), undefined);
  assert.equal(await c.set('u', { name: 'ada', tags: [1, 2] }), true);
  assert.deepEqual(await c.get('u'), { name: 'ada', tags: [1, 2] });
  for (const v of [0, 42.5, true, false, null, [1, 'x'], { a: { b: null } }]) {
    await c.set('v', v);
    assert.deepEqual(await c.get('v'), v);
  }
  assert.equal(await c.has('u'), true);
  assert.equal(await c.delete('u'), true);
  assert.equal(await c.delete('u'), false);
  assert.equal(await c.has('u'), false);
  await c.set('gone', 'x');
  await c.set('gone', undefined); /* as lru-cache: undefined deletes */
  assert.equal(await c.has('gone'), false);
  c.close();
});

test('strings and Buffers keep their type; other clients read strings as they are', async () => {
  const c = new OffheapCache({ servers: srv.addr });
  await c.set('str', 'héllo ✓');
  assert.equal(await raw.get('str'), 'héllo ✓');
  assert.equal(await c.get('str'), 'héllo ✓');
  const bin = Buffer.from([0, 1, 0xfe, 0xff, 10]);
  await c.set('bin', bin);
  assert.deepEqual(await c.get('bin'), bin);
  const utf8buf = Buffer.from('looks like text');
  await c.set('ubuf', utf8buf);
  assert.ok(Buffer.isBuffer(await c.get('ubuf')));
  assert.deepEqual(await c.get('ubuf'), utf8buf);
  /* strings that look like JSON stay strings */
  await c.set('js', '{"a":1}');
  assert.equal(await c.get('js'), '{"a":1}');
  await c.set('num', '42');
  assert.equal(await c.get('num'), '42');
  c.close();
});

test('values written by another client read back as those strings', async () => {
  const c = new OffheapCache({ servers: srv.addr });
  const cases = ['plain', '', '{"json":true}', '42', 'J', '\u00ffJ{}', 'ÿJ{"x":1}', '\u0000nul', '日本語'];
  for (const s of cases) {
    await raw.set('other', s);
    assert.equal(await c.get('other'), s, JSON.stringify(s));
  }
  /* bytes that are no string come back as a Buffer */
  const b = Buffer.from([0xc3, 0x28, 0xff]);
  await raw.set('otherbin', b);
  assert.deepEqual(await c.get('otherbin'), b);
  const tagless = Buffer.from([0xff, 0x01, 0x02]);
  await raw.set('otherff', tagless);
  assert.deepEqual(await c.get('otherff'), tagless);
  c.close();
});

test('redis-cli writes read back as strings', async (t) => {
  const cli = (...args) => new Promise((resolve, reject) => {
    execFile('redis-cli', ['--no-raw', '-p', String(srv.port), ...args], (e, out) => (e ? reject(e) : resolve(out)));
  });
  try { await cli('PING'); } catch { t.skip('no redis-cli'); return; }
  await cli('SET', 'fromcli', 'hello from redis-cli');
  const c = new OffheapCache({ servers: srv.addr });
  assert.equal(await c.get('fromcli'), 'hello from redis-cli');
  await c.set('tocli', { a: 1 });
  assert.match(await cli('GET', 'tocli'), /^"\\xffJ\{\\"a\\":1\}"/);
  c.close();
});

test('serializer: v8 and a custom one', async () => {
  const c = new OffheapCache({ servers: srv.addr, serializer: 'v8' });
  const v = { when: new Date(0), m: new Map([[1, 'a']]), big: 10n ** 20n };
  await c.set('v8', v);
  assert.deepEqual(await c.get('v8'), v);
  await c.set('v8s', 'still a string');
  assert.equal(await raw.get('v8s'), 'still a string');
  const upper = {
    serialize: (x) => String(x.n).toUpperCase(),
    deserialize: (b) => ({ n: b.toString() }),
  };
  const d = new OffheapCache({ servers: srv.addr, serializer: upper });
  await d.set('cust', { n: 'abc' });
  assert.deepEqual(await d.get('cust'), { n: 'ABC' });
  /* a JSON value written by a default cache still reads in either */
  const j = new OffheapCache({ servers: srv.addr });
  await j.set('shared', [1, 2]);
  assert.deepEqual(await c.get('shared'), [1, 2]);
  assert.throws(() => new OffheapCache({ servers: srv.addr, serializer: 'xml' }), TypeError);
  await assert.rejects(j.set('fn', { big: 1n }), (e) => e instanceof offheap.SerializationError && e.code === 'OFFHEAP_SERIALIZE');
  c.close();
  d.close();
  j.close();
});

test('ttl: the default and per set; getRemainingTTL', async () => {
  const c = new OffheapCache({ servers: srv.addr, ttl: 60000 });
  await c.set('t', 1);
  const left = await c.getRemainingTTL('t');
  assert.ok(left > 59000 && left <= 60000, String(left));
  await c.set('t2', 1, { ttl: 60 });
  assert.ok((await c.getRemainingTTL('t2')) <= 60);
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(await c.get('t2'), undefined);
  assert.equal(await c.getRemainingTTL('t2'), 0);
  await c.set('forever', 1, { ttl: 0 });
  assert.equal(await c.getRemainingTTL('forever'), Infinity);
  assert.throws(() => new OffheapCache({ servers: srv.addr, ttl: -1 }), TypeError);
  c.close();
});

test('clear() removes this cache prefix only', async () => {
  const a = new OffheapCache({ servers: srv.addr, prefix: 'ca:' });
  const b = new OffheapCache({ servers: srv.addr, prefix: 'cb:' });
  for (let i = 0; i < 2500; i++) await a.set(`k${i}`, i);
  await b.set('k', 'keep');
  await a.clear();
  assert.equal(await a.get('k7'), undefined);
  assert.equal((await raw.command(['KEYS', 'ca:*'])).length, 0);
  assert.equal(await b.get('k'), 'keep');
  a.close();
  b.close();
});

test('fetch: a hit does not load; concurrent misses share one load', async () => {
  const c = new OffheapCache({ servers: srv.addr, prefix: 'f1:', ttl: 10000 });
  let loads = 0;
  const loader = async (k) => { loads++; await new Promise((r) => setTimeout(r, 50)); return { k }; };
  const vals = await Promise.all(Array.from({ length: 50 }, () => c.fetch('x', { loader })));
  assert.equal(loads, 1);
  assert.ok(vals.every((v) => v.k === 'x'));
  assert.deepEqual(await c.fetch('x', { loader }), { k: 'x' });
  assert.equal(loads, 1);
  await c.fetch('x', { loader, forceRefresh: true });
  assert.equal(loads, 2);
  /* the lease is gone once the value is stored */
  assert.equal(await raw.command(['EXISTS', 'f1:x\0lease'], 1), 0);
  /* the constructor's fetchMethod, lru-cache style */
  const d = new OffheapCache({ servers: srv.addr, prefix: 'f1:', fetchMethod: async (k, stale, { options }) => `m:${k}:${options.tag}` });
  assert.equal(await d.fetch('y', { tag: 'T' }), 'm:y:T');
  await assert.rejects(new OffheapCache({ servers: srv.addr }).fetch('z'), (e) => e instanceof offheap.FetchError);
  c.close();
  d.close();
});

test('fetch: a failing loader rejects every waiter and releases the lease', async () => {
  const c = new OffheapCache({ servers: srv.addr, prefix: 'f2:' });
  const boom = async () => { throw new Error('db down'); };
  const r = await Promise.allSettled([c.fetch('k', { loader: boom }), c.fetch('k', { loader: boom })]);
  assert.ok(r.every((x) => x.status === 'rejected' && /db down/.test(x.reason.message)));
  await c._releases;
  assert.equal(await raw.command(['EXISTS', 'f2:k\0lease'], 1), 0);
  assert.equal(await c.fetch('k', { loader: async () => 'ok' }), 'ok');
  c.close();
});

test('fetch: the lease is deleted only by its holder', async () => {
  const c = new OffheapCache({ servers: srv.addr, prefix: 'f3:', lease: { ttl: 300 } });
  let release;
  const slow = c.fetch('k', { loader: () => new Promise((r) => { release = r; }) });
  while (!release) await new Promise((r) => setTimeout(r, 5)); /* the loader runs: the lease is taken */
  assert.notEqual(await raw.get('f3:k\0lease'), null);
  await new Promise((r) => setTimeout(r, 400)); /* the lease expired ... */
  assert.equal(await raw.get('f3:k\0lease'), null);
  await raw.set('f3:k\0lease', 'someone-else', { ttl: 5000 }); /* ... and another process took it */
  release('v');
  assert.equal(await slow, 'v');
  await c._releases;
  assert.equal(await raw.get('f3:k\0lease'), 'someone-else');
  c.close();
});

const CHILD = `
const { OffheapCache } = require(${JSON.stringify(path.resolve(__dirname, '..'))});
const [addr, start] = process.argv.slice(1);
const c = new OffheapCache({ servers: addr, prefix: 'xp:', ttl: 30000 });
setTimeout(async () => {
  const v = await c.fetch('hot', { loader: async () => {
    await c.client.incr('loads');
    await new Promise((r) => setTimeout(r, 300));
    return { from: process.pid };
  } });
  console.log(JSON.stringify(v));
  c.close();
}, Number(start) - Date.now());
`;

test('fetch across processes: one load, the others wait for its value', async () => {
  await raw.del('xp:loads');
  await raw.del('xp:hot');
  const start = Date.now() + 400;
  const run = () => new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', CHILD, srv.addr, String(start)], { timeout: 15000 },
      (e, out) => (e ? reject(e) : resolve(JSON.parse(out))));
  });
  const vals = await Promise.all([run(), run(), run(), run()]);
  assert.equal(await raw.get('xp:loads'), '1');
  assert.ok(vals.every((v) => v.from === vals[0].from), JSON.stringify(vals));
});

test('staleWhileRevalidate: a miss returns the stale copy while one process refreshes', async () => {
  const c = new OffheapCache({ servers: srv.addr, prefix: 's1:', ttl: 60, staleWhileRevalidate: 10000 });
  let n = 0;
  const loader = async () => { n++; await new Promise((r) => setTimeout(r, 20)); return `v${n}`; };
  assert.equal(await c.fetch('k', { loader }), 'v1');
  await new Promise((r) => setTimeout(r, 150)); /* the entry expired; its stale copy did not */
  assert.equal(await c.get('k'), undefined);
  assert.equal(await c.fetch('k', { loader, ttl: 10000 }), 'v1'); /* stale, at once */
  assert.equal(n, 2); /* and the refresh started */
  let fresh;
  for (let i = 0; i < 200 && (fresh = await c.get('k')) === undefined; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(fresh, 'v2'); /* refreshed in the background */
  for (let i = 0; i < 200 && (await raw.command(['EXISTS', 's1:k\0lease'], 1)) === 1; i++) {
    await new Promise((r) => setTimeout(r, 10)); /* its lease is released after the value is stored */
  }
  assert.equal(await c.fetch('k', { loader, allowStale: false, forceRefresh: true }), 'v3');
  assert.equal(await c.delete('k'), true);
  assert.equal(await raw.get('s1:k\0stale'), null);
  c.close();
});

test('errors are Error subclasses with a code', async () => {
  const port = await freePort();
  const c = new OffheapCache({ servers: `127.0.0.1:${port}`, timeout: 300 });
  await assert.rejects(c.get('k'), (e) => e instanceof offheap.ConnectionError &&
    e instanceof offheap.OffheapError && e instanceof Error && /^OFFHEAP_(IO|DOWN)$/.test(e.code));
  c.close();
  await assert.rejects(c.get('k'), (e) => e instanceof offheap.ClosedError && e.code === 'OFFHEAP_CLOSED');
  await raw.set('notint', 'abc');
  await assert.rejects(raw.incr('notint'), (e) => e instanceof offheap.ServerError && e.code === 'OFFHEAP_SERVER' && /not an integer/.test(e.message));
  const t = offheap.connect(srv.addr, { timeout: 50 });
  await assert.rejects(t.command(['DEBUG', 'SLEEP', '0.2']), (e) => e instanceof offheap.TimeoutError && e.code === 'OFFHEAP_TIMEOUT');
  t.close();
  assert.throws(() => offheap.connect('nonsense'), (e) => e instanceof offheap.OffheapError && e.code === 'OFFHEAP_INVAL');
  const d = offheap.connect(`127.0.0.1:${port}`, { timeout: 200 });
  assert.throws(() => d.getSync('k'), (e) => e instanceof offheap.ConnectionError);
  d.close();
  await new Promise((r) => setTimeout(r, 250));
});

test('the Keyv store: namespaced keys, clear() of its namespace only', async () => {
  const s1 = new KeyvOffheap(srv.addr, { prefix: 'kv:' });
  const s2 = new KeyvOffheap({ servers: srv.addr, prefix: 'kv:' });
  s1.namespace = 'one';
  s2.namespace = 'two';
  assert.equal(await s1.set('one:a', '{"value":1}', 1000), true);
  await s2.set('two:a', '{"value":2}');
  assert.equal(await s1.get('one:a'), '{"value":1}');
  assert.deepEqual(await s1.getMany(['one:a', 'one:b']), ['{"value":1}', undefined]);
  assert.equal(await s1.has('one:a'), true);
  const seen = [];
  for await (const [k, v] of s1.iterator('one')) seen.push([k, v]);
  assert.deepEqual(seen, [['one:a', '{"value":1}']]);
  await s1.clear();
  assert.equal(await s1.get('one:a'), undefined);
  assert.equal(await s2.get('two:a'), '{"value":2}');
  assert.equal(await s2.delete('two:a'), true);
  await s1.disconnect();
  await s2.disconnect();
});

test('v8 serializer value round trips through a Buffer header', async () => {
  const c = new OffheapCache({ servers: srv.addr, serializer: 'v8' });
  await c.set('hdr', new Set([1]));
  const stored = await raw.get('hdr', { buffer: true });
  assert.deepEqual(stored.subarray(0, 2), Buffer.from([0xff, 0x56]));
  assert.deepEqual(stored.subarray(2), v8.serialize(new Set([1])));
  c.close();
});

test('several servers: entries, clear and fetch leases on each server', async (t) => {
  const s2 = await startServer();
  /* md5: fnv1a_64 (the default, as twemproxy's) can put a run of short
   * sequential keys on one server */
  const c = new OffheapCache({ servers: `${srv.addr},${s2.addr}`, prefix: 'ring:', hash: offheap.HASH_MD5 });
  const other = offheap.connect(s2.addr);
  t.after(async () => { other.close(); c.close(); await stopServer(s2); });
  const keys = Array.from({ length: 100 }, (_, i) => `k${i}`);
  await Promise.all(keys.map((k, i) => c.set(k, { i })));
  assert.equal(new Set(keys.map((k) => c.client.serverOf(k))).size, 2);
  const seen = [];
  for await (const k of c.keys()) seen.push(k);
  assert.deepEqual(seen.sort(), [...keys].sort());
  let loads = 0;
  const got = await Promise.all(keys.map((k) => c.fetch(`f${k}`, { loader: async () => ++loads })));
  assert.equal(loads, 100);
  assert.equal(new Set(got).size, 100);
  await c._releases;
  assert.deepEqual(await other.command(['KEYS', '*lease*']), []);
  assert.deepEqual(await raw.command(['KEYS', 'ring:*lease*']), []);
  await c.clear();
  assert.deepEqual(await other.command(['KEYS', 'ring:*']), []);
  assert.deepEqual(await raw.command(['KEYS', 'ring:*']), []);
});
