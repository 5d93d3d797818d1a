// require('offheap') from an unrelated project, and a round trip.
const assert = require('node:assert/strict');
const offheap = require('offheap');
const KeyvOffheap = require('offheap/keyv');

(async () => {
  assert.equal(typeof offheap.OffheapCache, 'function');
  assert.equal(typeof KeyvOffheap, 'function');
  const cache = new offheap.OffheapCache({ servers: process.env.OFFHEAP_SERVERS, prefix: 'smoke:', ttl: 60000 });
  await cache.set('user:1', { name: 'ada' });
  assert.deepEqual(await cache.get('user:1'), { name: 'ada' });
  await cache.set('s', 'plain');
  assert.equal(await cache.client.get('smoke:s'), null); /* the client has the prefix */
  assert.equal(await cache.get('s'), 'plain');
  let loads = 0;
  const v = await Promise.all([1, 2, 3].map(() => cache.fetch('f', { loader: async () => ++loads })));
  assert.deepEqual(v, [1, 1, 1]);
  cache.close();
  console.log(`require ok: ${offheap.addonFile}`);
})().catch((e) => { console.error(e); process.exit(1); });
