// server.js: starts offheapd for the Node client tests, or uses the server
// named by OH_TEST_SERVER=host:port (then nothing is spawned).
//
// OFFHEAPD names the binary (default: build/offheapd at the repository
// root). The server gets a free loopback port and a temp directory, and is
// stopped with SIGTERM (SIGKILL after 5 s) by stop().
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const READY_MS = 5000; // ms to wait for PING after start
const STOP_MS = 5000; // ms to wait after SIGTERM

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Sends PING on a raw socket; resolves true on +PONG (or -NOAUTH).
function ping(host, port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let buf = '';
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\r\n')) {
        done(buf.startsWith('+PONG') || buf.startsWith('-NOAUTH'));
      }
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts a server (extra: more arguments). Resolves { host, port, stop() }.
async function start(extra = []) {
  const ext = process.env.OH_TEST_SERVER;
  if (ext) {
    const i = ext.lastIndexOf(':');
    const host = ext.slice(0, i) === 'localhost' ? '127.0.0.1' : ext.slice(0, i);
    return { host, port: Number(ext.slice(i + 1)), external: true, stop: async () => {} };
  }
  const bin = process.env.OFFHEAPD || path.resolve(__dirname, '../../../build/offheapd');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oh-node-'));
  const log = path.join(dir, 'offheapd.log');
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const fd = fs.openSync(log, 'a');
    const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...extra], {
      stdio: ['ignore', fd, fd],
    });
    fs.closeSync(fd);
    let exited = false;
    child.on('exit', () => {
      exited = true;
    });
    child.on('error', () => {
      exited = true;
    });
    const deadline = Date.now() + READY_MS;
    while (!exited && Date.now() < deadline) {
      if (await ping('127.0.0.1', port)) {
        return {
          host: '127.0.0.1',
          port,
          external: false,
          stop: () => stop(child, dir, log),
        };
      }
      await sleep(20);
    }
    if (!exited) {
      child.kill('SIGKILL');
      break;
    }
  }
  const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
  fs.rmSync(dir, { recursive: true, force: true });
  throw new Error(`${bin} did not answer PING within ${READY_MS} ms; log:\n${text}`);
}

// Stops a spawned server; rejects if it exited badly (crash, non-zero).
function stop(child, dir, log) {
  return new Promise((resolve, reject) => {
    let timer = null;
    const finish = (code, signal) => {
      clearTimeout(timer);
      const text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
      fs.rmSync(dir, { recursive: true, force: true });
      if (code === 0 || signal === 'SIGTERM') {
        resolve();
      } else {
        reject(new Error(`server exited with code ${code} signal ${signal}; log:\n${text}`));
      }
    };
    if (child.exitCode !== null || child.signalCode !== null) {
      finish(child.exitCode, child.signalCode);
      return;
    }
    timer = setTimeout(() => child.kill('SIGKILL'), STOP_MS);
    child.once('exit', finish);
    child.kill('SIGTERM');
  });
}

module.exports = { start, sleep };
