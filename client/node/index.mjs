// ESM entry of offheap: the same objects as require('offheap').
//   import { OffheapCache, connect } from 'offheap';
//   import offheap from 'offheap';   // the whole module, as require() gives it
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const offheap = require('./index.js');

export const {
  connect, Client, OffheapCache, HASH_FNV1A_64, HASH_MD5, addonFile,
  OffheapError, ConnectionError, TimeoutError, ServerError, ClosedError,
  SerializationError, FetchError,
} = offheap;
export default offheap;
