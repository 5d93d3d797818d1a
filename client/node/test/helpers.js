'use strict';
/* Starts offheapd ($OFFHEAPD, default ../../build/offheapd) on a free port
 * and a Unix socket, and stops it. */
const { spawn } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');

const BIN = process.env.OFFHEAPD || path.resolve(__dirname, '../../../build/offheapd');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function ping(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => { sock.destroy(); resolve(d.toString().startsWith('+PONG') || d.toString().startsWith('-NOAUTH')); });
    sock.on('error', () => resolve(false));
  });
}

async function startServer(extra = []) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ohnode-'));
    const sock = path.join(dir, 'offheapd.sock');
    const proc = spawn(BIN, ['--port', String(port), '--unixsocket', sock,
      '--unixsocketperm', '700', '--loglevel', 'warning', '--dir', dir, ...extra], { stdio: 'ignore' });
    let exited = false;
    proc.on('exit', () => { exited = true; });
    for (let i = 0; i < 100 && !exited; i++) {
      if (await ping(port)) {
        return { port, sock, addr: `127.0.0.1:${port}`, unix: `unix:${sock}`, proc, dir };
      }
      await new Promise((r) => setTimeout(r, 30));
    }
    proc.kill('SIGKILL');
  }
  throw new Error(`${BIN} did not start`);
}

function stopServer(s) {
  return new Promise((resolve) => {
    if (s.proc.exitCode !== null) { resolve(); return; }
    s.proc.on('exit', () => { fs.rmSync(s.dir, { recursive: true, force: true }); resolve(); });
    s.proc.kill('SIGTERM');
  });
}

module.exports = { startServer, stopServer, freePort, BIN };
