'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const offheap = require('..');
const { startServer, stopServer, freePort } = require('./helpers');

let srv;
let c;

before(async () => {
  srv = await startServer();
  c = offheap.connect(srv.addr, { timeout: 2000 });
});

after(async () => {
  c.close();
  await stopServer(srv);
});

test('set and get strings, Buffers and misses', async () => {
  assert.equal(await c.set('user:1', JSON.stringify({ name: 'ada' })), true);
  assert.deepEqual(JSON.parse(await c.get('user:1')), { name: 'ada' });
  const bin = Buffer.from([0, 1, 2, 0xff, 13, 10]);
  await c.set(Buffer.from('bin\0key'), bin);
  assert.deepEqual(await c.get(Buffer.from('bin\0key'), { buffer: true }), bin);
  assert.equal(await c.get('no-such-key'), null);
  await c.set('utf', 'héllo ✓');
  assert.equal(await c.get('utf'), 'héllo ✓');
  await c.set('n', 42);
  assert.equal(await c.get('n'), '42');
});

test('ttl, expire, del, incr', async () => {
  await c.set('t', 'v', { ttl: 60000 });
  const ttl = await c.ttl('t');
  assert.ok(ttl > 59000 && ttl <= 60000, `ttl ${ttl}`);
  assert.equal(await c.expire('t', 5000), true);
  assert.ok((await c.ttl('t')) <= 5000);
  assert.equal(await c.expire('missing', 5000), false);
  assert.equal(await c.ttl('missing'), null);
  assert.equal(await c.del('t'), 1);
  assert.equal(await c.del('t'), 0);
  await c.del('ctr');
  assert.equal(await c.incr('ctr'), 1);
  assert.equal(await c.incr('ctr', 41), 42);
  await c.set('short', 'x', { ttl: 50 });
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(await c.get('short'), null);
});

test('nx and xx', async () => {
  await c.del('cond');
  assert.equal(await c.set('cond', '1', { xx: true }), false);
  assert.equal(await c.set('cond', '1', { nx: true }), true);
  assert.equal(await c.set('cond', '2', { nx: true }), false);
  assert.equal(await c.get('cond'), '1');
});

test('mget keeps key order and misses', async () => {
  await c.set('m1', 'a');
  await c.set('m3', 'c');
  assert.deepEqual(await c.mget(['m1', 'm2', 'm3']), ['a', null, 'c']);
});

test('prefixes keep applications apart', async () => {
  const a = offheap.connect(srv.addr, { prefix: 'app1:' });
  const b = offheap.connect(srv.addr, { prefix: 'app2:' });
  await a.set('k', 'A');
  await b.set('k', 'B');
  assert.equal(await a.get('k'), 'A');
  assert.equal(await b.get('k'), 'B');
  assert.equal(await c.get('app1:k'), 'A');
  a.close();
  b.close();
});

test('getSync and setSync on the Unix socket', () => {
  const u = offheap.connect(srv.unix);
  u.setSync('sync:1', 'one');
  assert.equal(u.getSync('sync:1'), 'one');
  assert.deepEqual(u.getSync('sync:1', { buffer: true }), Buffer.from('one'));
  assert.equal(u.getSync('sync:none'), null);
  assert.equal(u.delSync('sync:1'), true);
  assert.equal(u.getSync('sync:1'), null);
  u.close();
});

test('many calls in flight do not block the event loop', async () => {
  let ticks = 0;
  const timer = setInterval(() => { ticks++; }, 1);
  const n = 20000;
  const ps = [];
  for (let i = 0; i < n; i++) ps.push(c.set(`f:${i % 500}`, `v${i}`));
  await Promise.all(ps);
  const gets = [];
  for (let i = 0; i < n; i++) gets.push(c.get(`f:${i % 500}`));
  const vals = await Promise.all(gets);
  clearInterval(timer);
  assert.equal(vals.length, n);
  assert.ok(vals.every((v) => typeof v === 'string'));
  assert.ok(ticks > 0, 'timers ran while calls were in flight');
});

test('server errors reject with the server text', async () => {
  await c.set('str', 'abc');
  await assert.rejects(c.incr('str'), /not an integer/);
  assert.equal(await c.get('str'), 'abc');
});

test('a dead server rejects with a readable error', async () => {
  const port = await freePort();
  const d = offheap.connect(`127.0.0.1:${port}`, { timeout: 500 });
  await assert.rejects(d.get('k'), (e) => /refused|down/.test(e.message) && /^OFFHEAP_/.test(e.code));
  assert.throws(() => d.getSync('k'), /refused|down/);
  d.close();
});

test('a passed deadline rejects, then the client recovers', async () => {
  const t = offheap.connect(srv.addr, { timeout: 100 });
  const slow = t.command(['DEBUG', 'SLEEP', '0.3']);
  await assert.rejects(slow, /deadline/);
  await new Promise((r) => setTimeout(r, 300));
  await t.set('after', 'ok');
  assert.equal(await t.get('after'), 'ok');
  t.close();
});

test('close rejects pending calls', async () => {
  const t = offheap.connect(srv.addr);
  const p = t.get('x');
  t.close();
  await assert.rejects(p, /closed/);
  await assert.rejects(t.get('x'), /closed/);
});

test('bad arguments throw', () => {
  assert.throws(() => offheap.connect(''), TypeError);
  assert.throws(() => offheap.connect('nonsense'), /bad servers/);
  assert.throws(() => c.get({}), TypeError);
});

test('an idle client does not keep the process alive', () => {
  const script = `const o = require(${JSON.stringify(path.resolve(__dirname, '..'))});
    const c = o.connect(${JSON.stringify(srv.addr)});
    c.set('exit', '1').then(() => c.get('exit')).then((v) => console.log('got', v));`;
  const out = execFileSync(process.execPath, ['-e', script], { timeout: 5000 }).toString();
  assert.match(out, /got 1/);
});

test('several servers: keys spread by ketama, and each is found', async () => {
  const s2 = await startServer();
  const ring = offheap.connect(`${srv.addr},${s2.addr}`);
  const seen = new Set();
  const keys = Array.from({ length: 200 }, (_, i) => `${i}:ring`);
  await Promise.all(keys.map((k) => ring.set(k, k)));
  for (const k of keys) seen.add(ring.serverOf(k));
  assert.equal(seen.size, 2);
  assert.deepEqual(await ring.mget(keys), keys);
  const only2 = offheap.connect(s2.addr);
  for (const k of keys.slice(0, 40)) {
    assert.equal((await only2.get(k)) !== null, ring.serverOf(k) === 1, k);
  }
  only2.close();
  ring.close();
  await stopServer(s2);
});
