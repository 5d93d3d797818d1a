// ESM entry of offheap/keyv.
//   import KeyvOffheap from 'offheap/keyv';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const KeyvOffheap = require('./keyv.js');

export { KeyvOffheap };
export default KeyvOffheap;
