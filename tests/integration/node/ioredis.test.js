// ioredis.test.js: offheapd through ioredis 6, with its default RESP3
// handshake (HELLO 3) and with RESP2 (protocol: 2). ioredis's ready check
// reads INFO and waits for loading:0.
'use strict';

const { describe, test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const Redis = require('ioredis');
const server = require('./server');

let srv;

before(async () => {
  srv = await server.start();
});

after(async () => {
  await srv.stop();
});

function connect(opts) {
  return new Redis({
    host: srv.host,
    port: srv.port,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    ...opts,
  });
}

for (const [label, opts] of [
  ['default (RESP3)', {}],
  ['protocol 2', { protocol: 2 }],
]) {
  describe(`ioredis ${label}`, () => {
    let r;

    before(async () => {
      r = connect(opts);
      await new Promise((resolve, reject) => {
        r.once('ready', resolve);
        r.once('error', reject);
      });
    });

    after(async () => {
      await r.quit();
    });

    beforeEach(async () => {
      await r.flushall();
    });

    test('passes the ready check and answers PING', async () => {
      assert.equal(r.status, 'ready');
      assert.equal(await r.ping(), 'PONG');
      assert.equal(await r.echo('héllo'), 'héllo');
    });

    test('strings: set, get, missing, overwrite', async () => {
      assert.equal(await r.set('s', 'value'), 'OK');
      assert.equal(await r.get('s'), 'value');
      assert.equal(await r.get('missing'), null);
      assert.equal(await r.set('s', ''), 'OK');
      assert.equal(await r.get('s'), '');
      assert.equal(await r.set('s', 'x', 'NX'), null);
      assert.equal(await r.set('s', 'y', 'XX', 'GET'), '');
      assert.equal(await r.getdel('s'), 'y');
      assert.equal(await r.exists('s'), 0);
    });

    test('Buffers: binary keys and values round-trip', async () => {
      const key = Buffer.from([0x6b, 0x00, 0x0d, 0x0a, 0xff]);
      const val = Buffer.alloc(70000);
      for (let i = 0; i < val.length; i++) val[i] = (i * 7) & 0xff;
      assert.equal(await r.set(key, val), 'OK');
      const got = await r.getBuffer(key);
      assert.ok(Buffer.isBuffer(got));
      assert.ok(got.equals(val));
      assert.equal(await r.strlen(key), val.length);
      assert.equal(await r.getBuffer('missing'), null);
    });

    test('pipeline of 1000 commands', async () => {
      const p = r.pipeline();
      for (let i = 0; i < 1000; i++) p.set(`p:${i}`, String(i));
      const res = await p.exec();
      assert.equal(res.length, 1000);
      for (const [err, v] of res) {
        assert.equal(err, null);
        assert.equal(v, 'OK');
      }
      const q = r.pipeline();
      for (let i = 0; i < 1000; i++) q.incr(`p:${i}`);
      const incs = await q.exec();
      incs.forEach(([err, v], i) => {
        assert.equal(err, null);
        assert.equal(v, i + 1);
      });
      assert.equal(await r.dbsize(), 1000);
    });

    test('multi/exec, including a runtime error', async () => {
      await r.set('str', 'abc');
      const res = await r.multi().set('a', '1').incr('a').get('a').incr('str').exec();
      assert.equal(res.length, 4);
      assert.deepEqual(res.slice(0, 3), [
        [null, 'OK'],
        [null, 2],
        [null, '2'],
      ]);
      assert.ok(res[3][0] instanceof Error);
      assert.match(res[3][0].message, /not an integer/);
    });

    test('watch: a concurrent write aborts exec', async () => {
      const other = connect(opts);
      try {
        await r.set('w', '1');
        await r.watch('w');
        await other.set('w', '2');
        const res = await r.multi().set('w', '3').exec();
        assert.equal(res, null);
        assert.equal(await r.get('w'), '2');
      } finally {
        await other.quit();
      }
    });

    test('expire and ttl', async () => {
      await r.set('e', 'v', 'EX', 100);
      const ttl = await r.ttl('e');
      assert.ok(ttl >= 99 && ttl <= 100, `ttl ${ttl}`);
      assert.equal(await r.pexpire('e', 50000), 1);
      const pttl = await r.pttl('e');
      assert.ok(pttl > 49000 && pttl <= 50000, `pttl ${pttl}`);
      assert.equal(await r.persist('e'), 1);
      assert.equal(await r.ttl('e'), -1);
      assert.equal(await r.ttl('missing'), -2);
      await r.set('short', 'v', 'PX', 50);
      await server.sleep(100);
      assert.equal(await r.get('short'), null);
      assert.equal(await r.exists('short'), 0);
    });

    test('mset and mget', async () => {
      assert.equal(await r.mset({ a: '1', b: '2' }), 'OK');
      assert.equal(await r.mset('c', '3', 'd', '4'), 'OK');
      assert.deepEqual(await r.mget('a', 'b', 'nope', 'c', 'd'), ['1', '2', null, '3', '4']);
      assert.equal(await r.msetnx('a', 'x', 'z', 'y'), 0);
      assert.equal(await r.exists('z'), 0);
    });

    test('incr family', async () => {
      assert.equal(await r.incr('n'), 1);
      assert.equal(await r.incrby('n', 41), 42);
      assert.equal(await r.decr('n'), 41);
      assert.equal(await r.decrby('n', 40), 1);
      assert.equal(await r.incrbyfloat('f', '1.5'), '1.5');
      assert.equal(await r.incrbyfloat('f', '0.25'), '1.75');
      await r.set('s', 'abc');
      await assert.rejects(r.incr('s'), /ERR value is not an integer or out of range/);
    });

    test('scanStream visits every key', async () => {
      const p = r.pipeline();
      for (let i = 0; i < 500; i++) p.set(`scan:${i}`, 'v');
      for (let i = 0; i < 50; i++) p.set(`other:${i}`, 'v');
      await p.exec();
      const seen = new Set();
      const stream = r.scanStream({ match: 'scan:*', count: 37 });
      for await (const keys of stream) {
        for (const k of keys) seen.add(k);
      }
      assert.equal(seen.size, 500);
      for (const k of seen) assert.ok(k.startsWith('scan:'));
    });

    test('errors reach the caller', async () => {
      await assert.rejects(r.call('get'), /ERR wrong number of arguments for 'get' command/);
      await assert.rejects(r.call('nosuchcommand', 'x'), /ERR unknown command 'nosuchcommand'/);
      assert.equal(await r.ping(), 'PONG');
    });

    test('info, dbsize, client setname', async () => {
      const info = await r.info('server');
      assert.match(info, /^# Server/);
      await r.set('k', 'v');
      assert.equal(await r.dbsize(), 1);
      assert.equal(await r.client('SETNAME', 'ioredis-test'), 'OK');
      assert.equal(await r.client('GETNAME'), 'ioredis-test');
    });
  });
}
