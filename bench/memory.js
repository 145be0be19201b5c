#!/usr/bin/env node
'use strict';
// Memory per idle TLS connection (issue 12): `iocptls serve -w 1` against nginx with one worker,
// side by side, held by an independent client (Python's ssl module, bench/lib/idle_client.py).
//
// Each server in turn (interleaved over rounds), pinned to CPU 0, the client to CPU 1:
//   1. a warm-up wave of 200 connections comes and goes; 3 s of quiet; baseline = the server's RSS;
//   2. --waves times: N TLS 1.3 connections are opened (100 handshakes at a time), send nothing, and are
//      held; after --settle s the server's RSS is read (held); then all close (close_notify) and, after
//      --settle s, the RSS is read again (after). Each wave binds its own source address (127.0.0.2,
//      .3, ...) so waves do not wait for TIME_WAIT ports.
// Per idle connection = (held - baseline) / N of the first wave; "after" shows whether the memory came
// back. RSS is VmRSS of the server's processes (nginx: master + worker; iocptls: its one process, all
// worker threads). Both: ECDSA P-256 certificate, TLS 1.3 only, no tickets, no session cache; nginx's
// client_header_timeout is raised so it keeps connections that never send a request; iocptls serves echo.
// For iocptls the native memory it holds (serve --stats: receive buffers, BIO pairs, scratch) is shown too.
// Medians over rounds; ratios iocptls ÷ nginx. Needs ulimit -n above N + some (the hard limit is used).
//
//   node bench/memory.js [--connections 10000] [--waves 3] [--rounds 1] [--settle 3] [--io io_uring]
const fs = require('node:fs');
const path = require('node:path');
const C = require('./lib/common');

const USAGE = `usage: node bench/memory.js [options]
  --connections N   idle connections per wave [10000]
  --waves K         waves per server (RSS after each shows whether memory comes back) [3]
  --rounds R        interleaved rounds (medians over them) [1]
  --settle S        seconds of quiet before each RSS reading [3]
  --io BACKEND      iocptls serve --io (io_uring, epoll) [auto]
  --json FILE       also write all raw measurements to FILE
`;
const opt = C.parseArgs(process.argv.slice(2), {
  connections: { type: 'number', default: 10000 },
  waves: { type: 'number', default: 3 },
  rounds: { type: 'number', default: 1 },
  settle: { type: 'number', default: 3 },
  io: { type: 'string', default: '' },
  json: { type: 'string', default: '' },
}, USAGE);
const CLIENT = path.join(__dirname, 'lib', 'idle_client.py');

/** One wave: the Python client opens n connections from `source`, holds them; `whileHeld` runs; then they close. */
async function wave(port, n, source, whileHeld) {
  const client = C.spawnPinned(1, 'python3', [CLIENT, '127.0.0.1', String(port), String(n), '100', source], { stdin: true });
  const t0 = Date.now();
  while (!/held \d+ \d+/.test(client.stdout)) {
    if (!C.alive(client.pid)) throw new Error(`the client exited: ${client.stderr.trim()}`);
    if (Date.now() - t0 > 600_000) throw new Error('the client took more than 10 minutes to open its connections');
    await C.sleep(100);
  }
  const rampS = (Date.now() - t0) / 1000;
  const [, ok, failed, reasons] = /held (\d+) (\d+) ?(\S*)/.exec(client.stdout);
  const during = await whileHeld(Number(ok));
  client.child.stdin.write('go\n');
  const t1 = Date.now();
  while (!/closed/.test(client.stdout)) {
    if (!C.alive(client.pid)) break;
    if (Date.now() - t1 > 180_000) throw new Error('the client did not close its connections within 3 minutes');
    await C.sleep(100);
  }
  await client.done;
  return { ok: Number(ok), failed: Number(failed), reasons, rampS, ...during };
}

/** The last `native ...` of iocptls serve --stats (stderr): what its loops hold, bytes as printed. */
function lastNative(stderr) {
  const lines = stderr.trim().split('\n').filter((l) => l.startsWith('open '));
  const l = lines[lines.length - 1] || '';
  const m = /open (\d+).*native (\S+ \S+) \(pairs (\S+) (\S+ \S+), recv (\S+ \S+)\)/.exec(l);
  return m ? { open: Number(m[1]), native: m[2], pairs: `${m[3]} ${m[4]}`, recv: m[5] } : undefined;
}

async function measure(server, n) {
  const out = { name: server.name, waves: [] };
  // Warm-up: what is allocated once (JIT, the first slab, OpenSSL's tables) is not per connection.
  await wave(server.port, 200, '127.0.0.1', async () => ({}));
  await C.sleep(opt.settle * 1000);
  out.baseline = C.treeRss(server.proc.pid);
  out.baselineNative = server.native?.();
  for (let w = 0; w < opt.waves; w++) {
    const r = await wave(server.port, n, `127.0.0.${2 + w}`, async () => {
      await C.sleep(opt.settle * 1000);
      return { held: C.treeRss(server.proc.pid), native: server.native?.(), serverOpen: await server.open() };
    });
    // Per connection the server itself held: the client counts what it opened, not what was kept.
    if (r.serverOpen !== r.ok) C.log(`  warning: ${server.name} says ${r.serverOpen} open while the client holds ${r.ok}`);
    await C.sleep(opt.settle * 1000);
    r.after = C.treeRss(server.proc.pid);
    r.afterNative = server.native?.();
    r.perConnection = (r.held - out.baseline) / (r.serverOpen > 0 ? r.serverOpen : r.ok);
    C.log(`  ${server.name} wave ${w + 1}: ${r.ok} held (server: ${r.serverOpen} open) (${r.failed} failed ${r.reasons}) in ${r.rampS.toFixed(1)} s; RSS ${mb(out.baseline)} -> ${mb(r.held)} -> ${mb(r.after)}; ${(r.perConnection / 1024).toFixed(1)} KiB per connection${r.native ? `; native held ${r.native.native} (pairs ${r.native.pairs}, recv ${r.native.recv}), after ${r.afterNative?.native}` : ''}`);
    out.waves.push(r);
  }
  return out;
}

const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;

async function main() {
  for (const t of ['nginx', 'taskset', 'python3']) if (!C.which(t)) throw new Error(`${t} is required (apt-get install -y nginx util-linux python3)`);
  if (!fs.existsSync(path.join(C.ROOT, 'dist', 'src', 'commands', 'serve.js'))) throw new Error('dist/ is missing: run `npx tsc -p tsconfig.json` first');
  C.log(C.machineLine());
  const n = opt.connections;
  const dir = C.tempDir('iocptls-memory-');
  fs.chmodSync(dir, 0o755);
  const ec = C.makeCerts(dir)['ecdsa-p256'];

  const servers = {
    iocptls: async () => {
      const [port] = await C.freePorts(1);
      const args = [C.RUN_JS, 'serve', '-p', String(port), '-w', '1', '--mode', 'echo', '--tls-min', '1.3', '--no-tickets', '--no-session-cache', '--stats', '--cert', ec.cert, '--key', ec.key];
      if (opt.io) args.push('--io', opt.io);
      const proc = C.spawnPinned(0, process.execPath, args);
      await C.waitForPort(port, 20000, proc);
      return { name: 'iocptls serve -w 1', port, proc, native: () => lastNative(proc.stderr), open: async () => lastNative(proc.stderr)?.open ?? NaN };
    },
    nginx: async () => {
      const [port, status] = await C.freePorts(2);
      const tls13 = 'ssl_protocols TLSv1.3; ssl_session_tickets off; ssl_session_cache off;';
      // Room for all N: with fewer, nginx closes idle connections to make room (ngx_drain_connections)
      // while the client, which never reads, still counts them as held (a 19k run here held 16k).
      const conf = C.writeNginxConf(dir, {
        statusPort: status,
        workerConnections: n + 1024,
        httpServers: [`  server { listen 127.0.0.1:${port} ssl backlog=4096; ssl_certificate ${ec.cert}; ssl_certificate_key ${ec.key}; ${tls13} client_header_timeout 3600s; keepalive_timeout 3600s; location = / { return 200 "ok"; } }`],
      });
      const proc = await C.startNginx(dir, conf.file, [port, status]);
      // The status request is itself one of the active connections.
      return { name: 'nginx (1 worker)', port, proc, open: async () => (await C.stubStatus(status)).active - 1 };
    },
  };

  const results = { iocptls: [], nginx: [] };
  for (let r = 0; r < opt.rounds; r++) {
    const order = r % 2 === 0 ? ['iocptls', 'nginx'] : ['nginx', 'iocptls'];
    for (const k of order) {
      C.log(`round ${r + 1}: ${k}`);
      const s = await servers[k]();
      try {
        results[k].push(await measure(s, n));
      } finally {
        await C.stopChild(s.proc);
      }
    }
  }

  const med = (k, f) => C.median(results[k].map(f));
  const perConn = (k) => med(k, (x) => x.waves[0].perConnection);
  const rows = [];
  for (const k of ['iocptls', 'nginx']) {
    const base = med(k, (x) => x.baseline);
    const row = [results[k][0].name, `${(perConn(k) / 1024).toFixed(1)} KiB`, mb(base)];
    for (let w = 0; w < opt.waves; w++) row.push(`${mb(med(k, (x) => x.waves[w].held))} / ${mb(med(k, (x) => x.waves[w].after))}`);
    row.push(`${(((med(k, (x) => x.waves[x.waves.length - 1].after) - base) / 1e6)).toFixed(1)} MB`);
    rows.push(row);
  }
  const head = ['server', `RSS per idle connection (wave 1, ${n})`, 'RSS baseline'];
  for (let w = 0; w < opt.waves; w++) head.push(`wave ${w + 1} held / after`);
  head.push('after last wave - baseline');
  process.stdout.write(`\n${C.table(head, rows)}`);
  process.stdout.write(`\nRSS per idle connection, iocptls ÷ nginx: ${C.ratio(perConn('iocptls'), perConn('nginx'))} (median of ${opt.rounds} round${opt.rounds > 1 ? 's' : ''}; shared machine: ratios, not absolute figures)\n`);
  const last = results.iocptls[0].waves[opt.waves - 1];
  if (last.native) process.stdout.write(`iocptls native memory of its own (serve --stats): held ${last.native.native} with ${last.native.open} open (pairs ${last.native.pairs}, recv ${last.native.recv}); after the last wave ${last.afterNative?.native}\n`);
  if (opt.json) fs.writeFileSync(opt.json, JSON.stringify({ options: opt, results }, null, 2));
}

main()
  .catch((e) => {
    C.log(`bench/memory.js: ${e.message}`);
    process.exitCode = 1;
  })
  .finally(() => C.cleanup());
