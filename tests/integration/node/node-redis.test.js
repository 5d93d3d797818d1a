// node-redis.test.js: offheapd through node-redis (redis@6), with its
// default handshake (HELLO 3, RESP3) and with RESP: 2.
'use strict';

const { describe, test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const { createClient, RESP_TYPES } = require('redis');
const server = require('./server');

let srv;

before(async () => {
  srv = await server.start();
});

after(async () => {
  await srv.stop();
});

async function connect(opts) {
  const c = createClient({
    socket: { host: srv.host, port: srv.port, reconnectStrategy: false },
    ...opts,
  });
  c.on('error', () => {});
  await c.connect();
  return c;
}

for (const [label, opts] of [
  ['default (RESP3)', {}],
  ['RESP 2', { RESP: 2 }],
]) {
  describe(`node-redis ${label}`, () => {
    let c;

    before(async () => {
      c = await connect(opts);
    });

    after(async () => {
      await c.close();
    });

    beforeEach(async () => {
      await c.flushAll();
    });

    test('connects and answers PING', async () => {
      assert.equal(c.isReady, true);
      assert.equal(await c.ping(), 'PONG');
      assert.equal(await c.echo('héllo'), 'héllo');
    });

    test('strings: set, get, missing, options', async () => {
      assert.equal(await c.set('s', 'value'), 'OK');
      assert.equal(await c.get('s'), 'value');
      assert.equal(await c.get('missing'), null);
      assert.equal(await c.set('s', 'x', { condition: 'NX' }), null);
      assert.equal(await c.set('s', 'y', { condition: 'XX', GET: true }), 'value');
      assert.equal(await c.getDel('s'), 'y');
      assert.equal(await c.exists('s'), 0);
    });

    test('Buffers: binary keys and values round-trip', async () => {
      const key = Buffer.from([0x6b, 0x00, 0x0d, 0x0a, 0xff]);
      const val = Buffer.alloc(70000);
      for (let i = 0; i < val.length; i++) val[i] = (i * 13) & 0xff;
      assert.equal(await c.set(key, val), 'OK');
      const bc = c.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
      const got = await bc.get(key);
      assert.ok(Buffer.isBuffer(got));
      assert.ok(got.equals(val));
      assert.equal(await c.strLen(key), val.length);
      assert.equal(await bc.get('missing'), null);
    });

    test('1000 commands pipelined', async () => {
      const sets = [];
      for (let i = 0; i < 1000; i++) sets.push(c.set(`p:${i}`, String(i)));
      assert.deepEqual(await Promise.all(sets), Array(1000).fill('OK'));
      const m = c.multi();
      for (let i = 0; i < 1000; i++) m.incr(`p:${i}`);
      const res = await m.execAsPipeline();
      assert.deepEqual(
        res,
        Array.from({ length: 1000 }, (_, i) => i + 1),
      );
      assert.equal(await c.dbSize(), 1000);
    });

    test('multi/exec', async () => {
      const res = await c.multi().set('a', '1').incr('a').get('a').get('missing').exec();
      assert.deepEqual(res, ['OK', 2, '2', null]);
    });

    test('watch: a concurrent write aborts exec', async () => {
      const iso = await connect(opts);
      const other = await connect(opts);
      try {
        await iso.set('w', '1');
        await iso.watch('w');
        await other.set('w', '2');
        await assert.rejects(iso.multi().set('w', '3').exec(), (err) => err.constructor.name === 'WatchError');
        assert.equal(await iso.get('w'), '2');
      } finally {
        await iso.close();
        await other.close();
      }
    });

    test('expire and ttl', async () => {
      await c.set('e', 'v', { expiration: { type: 'EX', value: 100 } });
      const ttl = await c.ttl('e');
      assert.ok(ttl >= 99 && ttl <= 100, `ttl ${ttl}`);
      assert.equal(await c.pExpire('e', 50000), 1);
      const pttl = await c.pTTL('e');
      assert.ok(pttl > 49000 && pttl <= 50000, `pttl ${pttl}`);
      assert.equal(await c.persist('e'), 1);
      assert.equal(await c.ttl('e'), -1);
      assert.equal(await c.ttl('missing'), -2);
      await c.set('short', 'v', { expiration: { type: 'PX', value: 50 } });
      await server.sleep(100);
      assert.equal(await c.get('short'), null);
      assert.equal(await c.exists('short'), 0);
    });

    test('mSet and mGet', async () => {
      assert.equal(await c.mSet({ a: '1', b: '2' }), 'OK');
      assert.equal(await c.mSet([['c', '3'], ['d', '4']]), 'OK');
      assert.deepEqual(await c.mGet(['a', 'b', 'nope', 'c', 'd']), ['1', '2', null, '3', '4']);
      assert.equal(await c.mSetNX({ a: 'x', z: 'y' }), 0);
      assert.equal(await c.exists('z'), 0);
    });

    test('incr family', async () => {
      assert.equal(await c.incr('n'), 1);
      assert.equal(await c.incrBy('n', 41), 42);
      assert.equal(await c.decr('n'), 41);
      assert.equal(await c.decrBy('n', 40), 1);
      assert.equal(String(await c.incrByFloat('f', 1.5)), '1.5');
      assert.equal(String(await c.incrByFloat('f', 0.25)), '1.75');
      await c.set('s', 'abc');
      await assert.rejects(c.incr('s'), /ERR value is not an integer or out of range/);
    });

    test('scanIterator visits every key', async () => {
      const m = c.multi();
      for (let i = 0; i < 500; i++) m.set(`scan:${i}`, 'v');
      for (let i = 0; i < 50; i++) m.set(`other:${i}`, 'v');
      await m.execAsPipeline();
      const seen = new Set();
      for await (const keys of c.scanIterator({ MATCH: 'scan:*', COUNT: 37 })) {
        for (const k of keys) seen.add(k);
      }
      assert.equal(seen.size, 500);
      for (const k of seen) assert.ok(k.startsWith('scan:'));
    });

    test('errors reach the caller', async () => {
      await assert.rejects(c.sendCommand(['GET']), /ERR wrong number of arguments for 'get' command/);
      await assert.rejects(c.sendCommand(['NOSUCHCOMMAND', 'x']), /ERR unknown command 'NOSUCHCOMMAND'/);
      assert.equal(await c.ping(), 'PONG');
    });

    test('info, dbSize, client name, config get', async () => {
      const info = await c.info('server');
      assert.match(String(info), /^# Server/);
      await c.set('k', 'v');
      assert.equal(await c.dbSize(), 1);
      assert.equal(await c.clientSetName('node-redis-test'), 'OK');
      assert.equal(await c.clientGetName(), 'node-redis-test');
      const cfg = await c.configGet('timeout');
      assert.equal(typeof cfg.timeout, 'string');
    });
  });
}
