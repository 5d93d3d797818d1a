'use strict';
/* Local reads from Node: get and getSync on a Unix-socket connection read
 * offheapd's shared mapping (INFO's local_read_hits moves, the socket does
 * not), get's Promise settles in the same tick, values of every kind come
 * back as they went in, large values and localReads: false go over the
 * socket, and a restarted server is mapped anew. */
const test = require('node:test');
const assert = require('node:assert');
const offheap = require('..');
const { startServer, stopServer } = require('./helpers');

let srv;
test.before(async () => { srv = await startServer(); });
test.after(async () => { await stopServer(srv); });

async function stat(c, name) {
  const info = await c.command(['INFO', 'stats']);
  const m = new RegExp(`^${name}:(\\d+)`, 'm').exec(info);
  return m ? Number(m[1]) : NaN;
}

/* Waits a tick of the server (it takes the clients' counters each tick). */
const tick = () => new Promise((r) => setTimeout(r, 50));

test('get and getSync read the mapping; the socket is not asked', async () => {
  const c = offheap.connect(srv.unix);
  const tcp = offheap.connect(srv.addr);
  await c.set('lr:a', 'héllo');
  await c.set('lr:b', Buffer.from([0, 1, 2, 255]));
  assert.equal(c.getSync('lr:a'), 'héllo');
  await tick();
  const before = await stat(tcp, 'local_read_hits');
  const cmds = await stat(tcp, 'total_commands_processed');
  for (let i = 0; i < 1000; i++) {
    assert.equal(c.getSync('lr:a'), 'héllo');
    assert.equal(await c.get('lr:a'), 'héllo');
  }
  assert.deepEqual(c.getSync('lr:b', { buffer: true }), Buffer.from([0, 1, 2, 255]));
  assert.equal(await c.get('lr:missing'), null);
  await tick();
  assert.ok(await stat(tcp, 'local_read_hits') >= before + 2001);
  /* only the two INFO calls reached the server */
  assert.ok(await stat(tcp, 'total_commands_processed') <= cmds + 2);
  c.close();
  tcp.close();
});

test("get's Promise settles in the same tick, before later microtasks", async () => {
  const c = offheap.connect(srv.unix);
  await c.set('lr:tick', 'v');
  c.getSync('lr:tick'); // maps now
  const order = [];
  const p = c.get('lr:tick').then((v) => order.push(`get ${v}`));
  Promise.resolve().then(() => order.push('later'));
  await p;
  assert.deepEqual(order, ['get v', 'later']);
  c.close();
});

test('large values and localReads: false go over the socket', async () => {
  const c = offheap.connect(srv.unix);
  const s = offheap.connect(srv.unix, { localReads: false });
  const big = 'x'.repeat(400000);
  await c.set('lr:big', big);
  assert.equal(c.getSync('lr:big'), big);
  assert.equal(await c.get('lr:big'), big);
  await c.set('lr:s', 'w');
  await tick();
  const before = await stat(c, 'local_read_hits');
  assert.equal(await s.get('lr:s'), 'w');
  assert.equal(s.getSync('lr:s'), 'w');
  await tick();
  assert.equal(await stat(c, 'local_read_hits'), before);
  c.close();
  s.close();
});

test('a write is visible to the next local read, a delete too', async () => {
  const c = offheap.connect(srv.unix);
  for (let i = 0; i < 200; i++) {
    await c.set('lr:w', `v${i}`);
    assert.equal(c.getSync('lr:w'), `v${i}`);
  }
  await c.del('lr:w');
  assert.equal(c.getSync('lr:w'), null);
  c.close();
});

test('a restarted server is mapped anew (the stale mapping is dropped)', async () => {
  const s2 = await startServer();
  const c = offheap.connect(s2.unix, { timeout: 2000 });
  await c.set('lr:r', 'old');
  assert.equal(c.getSync('lr:r'), 'old');
  s2.proc.kill('SIGKILL');
  await new Promise((r) => s2.proc.on('exit', r));
  /* the mapping of the dead server must not answer */
  assert.throws(() => c.getSync('lr:r'), (e) => e instanceof Error && /^OFFHEAP_/.test(e.code));
  c.close();
  require('node:fs').rmSync(s2.dir, { recursive: true, force: true });
});
