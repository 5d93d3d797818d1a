'use strict';
/* After `npm pack`: removes what prepack.js generated, when packing from
 * the repository (there, builds use ../ and ../../proto again). */
const fs = require('node:fs');
const path = require('node:path');

const here = path.resolve(__dirname, '..');
if (fs.existsSync(path.join(here, '..', 'offheap.h'))) {
  fs.rmSync(path.join(here, 'lib-src'), { recursive: true, force: true });
  fs.rmSync(path.join(here, 'prebuilds'), { recursive: true, force: true });
}
