// Compiled with tsc --noEmit --strict: the declarations match the API.
import { OffheapCache, connect, OffheapError, TimeoutError, type Client } from 'offheap';
import KeyvOffheap = require('offheap/keyv');

interface User { name: string; }
async function main(): Promise<void> {
  const cache = new OffheapCache<string, User>({ servers: 'unix:/run/offheap/offheapd.sock', ttl: 60_000, serializer: 'v8' });
  await cache.set('user:1', { name: 'ada' }, { ttl: 1000 });
  const u: User | undefined = await cache.get('user:1');
  const fetched = await cache.fetch('user:2', { loader: async (key) => ({ name: key }) });
  const left: number = await cache.getRemainingTTL('user:1');
  const ok: boolean = (await cache.has('user:1')) && (await cache.delete('user:1'));
  await cache.clear();
  for await (const [k, v] of cache.entries()) console.log(k, v.name);
  const c: Client = connect('127.0.0.1:6388', { prefix: 'app:' });
  const s: string | null = await c.get('k');
  const b: Buffer | null = await c.get('k', { buffer: true });
  try { await c.incr('k'); } catch (e) {
    if (e instanceof TimeoutError) console.log(e.code);
    else if (e instanceof OffheapError) console.log(e.code, e.rc);
  }
  const store = new KeyvOffheap('unix:/run/offheap/offheapd.sock', { prefix: 'kv:' });
  await store.set('a', 'b', 1000);
  console.log(u, fetched, left, ok, s, b, store.namespace);
  cache.close();
}
void main;
