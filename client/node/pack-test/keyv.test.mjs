// Keyv's own test suite (@keyv/test-suite), against offheap/keyv as
// installed from the tarball, with a live offheapd at $OFFHEAP_SERVERS.
import * as test from 'vitest';
import keyvTestSuite, { keyvIteratorTests } from '@keyv/test-suite';
import Keyv from 'keyv';
import KeyvOffheap from 'offheap/keyv';

const servers = process.env.OFFHEAP_SERVERS;
if (!servers) throw new Error('set OFFHEAP_SERVERS');
const store = () => new KeyvOffheap(servers, { prefix: 'keyv-suite:' });

keyvTestSuite(test, Keyv, store);
keyvIteratorTests(test, Keyv, store);
