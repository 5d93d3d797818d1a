// ESM import of offheap from an unrelated project, and a round trip.
import assert from 'node:assert/strict';
import offheap, { OffheapCache, connect, OffheapError } from 'offheap';
import KeyvOffheap from 'offheap/keyv';

assert.equal(offheap.OffheapCache, OffheapCache);
assert.equal(typeof KeyvOffheap, 'function');
const c = connect(process.env.OFFHEAP_SERVERS);
await c.set('esm:k', 'v');
assert.equal(await c.get('esm:k'), 'v');
const cache = new OffheapCache({ client: c });
assert.equal(await cache.get('esm:k'), 'v');
c.close();
await assert.rejects(c.get('x'), (e) => e instanceof OffheapError && e.code === 'OFFHEAP_CLOSED');
console.log('import ok');
