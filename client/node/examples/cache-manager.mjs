// cache-manager 7 on offheapd, through the Keyv store offheap/keyv.
//   OFFHEAP_SERVERS=unix:/run/offheap/offheapd.sock node examples/cache-manager.mjs
import assert from 'node:assert/strict';
import { createCache } from 'cache-manager';
import { Keyv } from 'keyv';
import KeyvOffheap from 'offheap/keyv';

const servers = process.env.OFFHEAP_SERVERS || 'unix:/run/offheap/offheapd.sock';
const cache = createCache({
  stores: [new Keyv({ store: new KeyvOffheap(servers, { prefix: 'cm-example:' }) })],
  ttl: 60_000,
});

await cache.set('greeting', { hello: 'offheap' });
assert.deepEqual(await cache.get('greeting'), { hello: 'offheap' });

let loads = 0;
const load = async () => { loads++; return { at: Date.now() }; };
const a = await cache.wrap('report', load, 10_000);
const b = await cache.wrap('report', load, 10_000);
assert.deepEqual(a, b);
assert.equal(loads, 1);

assert.equal(await cache.del('greeting'), true);
assert.equal(await cache.get('greeting'), undefined);
await cache.disconnect();
console.log('cache-manager example: ok');
