#!/usr/bin/env node
'use strict';
// A plain (no TLS) echo server on a Unix socket: nginx's stream module terminates TLS and has no
// echo of its own, so bench/c100k.js proxies each connection to a few of these. Unix sockets use no
// ephemeral ports, and each process stays under the descriptor limit (ulimit -Hn) with its share.
// Prints "listening" once ready, then "open N" every 5 s (how many upstream connections it holds).
//
//   node bench/lib/echo_unix.js SOCKET_PATH
const fs = require('node:fs');
const net = require('node:net');

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: echo_unix.js SOCKET_PATH\n');
  process.exit(2);
}
let open = 0;
const server = net.createServer((s) => {
  open++;
  s.on('data', (d) => s.write(d));
  s.on('error', () => {});
  s.on('close', () => open--);
});
server.maxConnections = Infinity;
server.listen({ path: file, backlog: 4096 }, () => {
  // nginx's workers run as another user (nobody) when the master is root: they must be able to connect.
  fs.chmodSync(file, 0o777);
  process.stdout.write('listening\n');
});
setInterval(() => process.stdout.write(`open ${open}\n`), 5000).unref();
process.on('SIGTERM', () => process.exit(0));
