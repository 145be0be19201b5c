#!/usr/bin/env node
'use strict';
// One-connection bulk throughput (issue 12 item 4), side by side in interleaved rounds: iocptls's
// client and server against a Node.js tls pair and plain TCP over loopback (iperf3), all TLS 1.3 with
// TLS_AES_256_GCM_SHA384 and an ECDSA P-256 certificate; server pinned to CPU 0, client to CPU 1.
//   iocptls client <- iocptls serve --mode source        (bench throughput --direction down)
//   iocptls client -> iocptls serve --mode sink          (bench throughput --direction up)
//   iocptls client <- Node tls source server
//   Node tls client <- Node tls source server            (bench/lib/node_tls.js)
//   iperf3 -c <- iperf3 -s, plain TCP                    (the loopback's ceiling)
// For the upload row the sends the client made are printed too (count and mean size): a send
// kept in flight and batched writes show as fewer, larger sends. Medians over rounds (and their
// range); ratios against Node tls <- Node tls and against plain TCP. Downloading, the client's CPU
// per MiB received too (iocptls's own accounting of its workers, Node's process.cpuUsage over the
// same window): on a shared machine the rates follow how much of a core each side was given, the
// CPU per MiB much less.
//
//   node bench/bulk.js [--rounds 3] [--seconds 5]
const fs = require('node:fs');
const path = require('node:path');
const C = require('./lib/common');

const USAGE = `usage: node bench/bulk.js [options]
  --rounds N     interleaved rounds (medians over them) [3]
  --seconds S    length of each run [5]
`;
const opt = C.parseArgs(process.argv.slice(2), {
  rounds: { type: 'number', default: 3 },
  seconds: { type: 'number', default: 5 },
}, USAGE);
const S = opt.seconds;
const NODE_TLS = path.join(__dirname, 'lib', 'node_tls.js');

async function main() {
  if (!C.which('taskset')) throw new Error('taskset (util-linux) is required');
  if (!fs.existsSync(path.join(C.ROOT, 'dist', 'src', 'commands', 'serve.js'))) throw new Error('dist/ is missing: run `npx tsc -p tsconfig.json` first');
  const haveIperf = !!C.which('iperf3');
  if (!haveIperf) C.log('MISSING: iperf3 (apt-get install -y iperf3): the plain TCP row is skipped');
  C.log(C.machineLine());
  const dir = C.tempDir('iocptls-bulk-');
  const ec = C.makeCerts(dir)['ecdsa-p256'];
  const [pSrc, pSink, pNode] = await C.freePorts(3);
  const cert = ['--cert', ec.cert, '--key', ec.key];
  const servers = [
    C.spawnPinned(0, process.execPath, [C.RUN_JS, 'serve', '-p', String(pSrc), '-w', '1', '--mode', 'source', '--body-size', '16384', ...cert]),
    C.spawnPinned(0, process.execPath, [C.RUN_JS, 'serve', '-p', String(pSink), '-w', '1', '--mode', 'sink', ...cert]),
    C.spawnPinned(0, process.execPath, [NODE_TLS, 'source-server', '--port', String(pNode), ...cert]),
  ];
  await C.waitForPort(pSrc, 20000, servers[0]);
  await C.waitForPort(pSink, 20000, servers[1]);
  await C.waitForPort(pNode, 20000, servers[2]);

  const ioc = (port, direction) => async () => {
    const r = await C.spawnPinned(1, process.execPath, [C.RUN_JS, 'bench', 'throughput', `127.0.0.1:${port}`, '-c', '1', '-w', '1', '--direction', direction, '-d', String(S), '--warmup', '1', '--ciphersuites', 'TLS_AES_256_GCM_SHA384', '--json']).done;
    const d = JSON.parse(r.stdout);
    const rate = direction === 'up' ? d.rates.bitsOutPerSec : d.rates.bitsInPerSec;
    // The client's sends carry the data only uploading (downloading, they are its handshake flights).
    // Its CPU per MiB (the bench's own accounting: workers' CPU over the window) is what the
    // machine's load disturbs least: a rate depends on how much of a core each side was given.
    return { gbps: rate.mean / 1e9, sends: direction === 'up' ? d.sends : undefined, cpu: d.client?.cpuUsPerOp };
  };
  const nodeTls = async () => {
    const r = await C.spawnPinned(1, process.execPath, [NODE_TLS, 'sink-client', '--port', String(pNode), '--seconds', String(S), '--warmup', '1']).done;
    const d = JSON.parse(r.stdout.trim().split('\n').pop());
    return { gbps: d.gbps, cpu: d.cpuUsPerMiB };
  };
  const tcp = async () => {
    const [port] = await C.freePorts(1);
    // Not waitForPort: its probe connection would be taken for the one test of `-1`.
    const srv = C.spawnPinned(0, 'iperf3', ['-s', '-1', '-B', '127.0.0.1', '-p', String(port)]);
    for (let i = 0; i < 100 && !/Server listening/.test(srv.stdout); i++) await C.sleep(50);
    // -R: the server sends, as the TLS sources do; -O 1: the first second is left out (warmup).
    const r = await C.spawnPinned(1, 'iperf3', ['-c', '127.0.0.1', '-p', String(port), '-t', String(S + 1), '-O', '1', '-R', '-J']).done;
    await srv.done;
    return { gbps: JSON.parse(r.stdout).end.sum_received.bits_per_second / 1e9 };
  };
  const rows = [
    { key: 'ioc-down', name: 'iocptls client <- iocptls serve (down)', run: ioc(pSrc, 'down') },
    { key: 'ioc-up', name: 'iocptls client -> iocptls serve (up)', run: ioc(pSink, 'up') },
    { key: 'ioc-node', name: 'iocptls client <- Node tls server', run: ioc(pNode, 'down') },
    { key: 'node-node', name: 'Node tls client <- Node tls server', run: nodeTls },
  ];
  if (haveIperf) rows.push({ key: 'tcp', name: 'plain TCP, iperf3 -R (no TLS)', run: tcp });

  const res = {};
  for (let r = 0; r < opt.rounds; r++) {
    C.log(`round ${r + 1}/${opt.rounds}`);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[(i + r) % rows.length];
      try {
        const x = await row.run();
        (res[row.key] ||= []).push(x);
        C.log(`  ${row.name.padEnd(40)} ${x.gbps.toFixed(2)} Gbit/s${x.cpu ? `  client ${Math.round(x.cpu)} µs CPU/MiB` : ''}${x.sends ? `  (${x.sends.count} sends, mean ${x.sends.meanBytes} B, ${x.sends.vectored} vectored)` : ''}`);
      } catch (e) {
        C.log(`  ${row.name}: ${e.message}`);
      }
    }
  }
  for (const s of servers) await C.stopChild(s);

  const g = (k) => C.median((res[k] || []).map((x) => x.gbps));
  const range = (k) => {
    const xs = (res[k] || []).map((x) => x.gbps);
    return xs.length ? `${C.fmt(Math.min(...xs), 2)}–${C.fmt(Math.max(...xs), 2)}` : '-';
  };
  const cpu = (k) => C.median((res[k] || []).map((x) => x.cpu).filter((v) => Number.isFinite(v)));
  const node = g('node-node');
  const plain = g('tcp');
  const nodeCpu = cpu('node-node');
  const table = rows.map((row) => {
    const sends = (res[row.key] || []).map((x) => x.sends).filter(Boolean);
    const mean = sends.length ? C.median(sends.map((s) => s.meanBytes)) : NaN;
    const c = cpu(row.key);
    // Per MiB received: only downloads (an upload's client CPU is per MiB sent).
    const down = row.key !== 'ioc-up' && row.key !== 'tcp';
    return [
      row.name,
      `${C.fmt(g(row.key), 2)} Gbit/s`,
      range(row.key),
      C.ratio(g(row.key), node),
      C.ratio(g(row.key), plain),
      down && Number.isFinite(c) ? `${C.fmt(c)} µs` : '-',
      down && Number.isFinite(c) ? C.ratio(nodeCpu, c) : '-',
      Number.isFinite(mean) ? `${C.fmt(mean)} B` : '-',
    ];
  });
  process.stdout.write(
    `\n${C.table(['one connection, TLS 1.3 AES-256-GCM', 'median', 'range', '÷ Node tls pair', '÷ plain TCP', 'client CPU per MiB', 'Node client CPU ÷ this', 'client mean send'], table)}`
  );
  process.stdout.write(`\nmedians of ${opt.rounds} interleaved rounds of ${S} s (after 1 s of warmup); shared machine: read the ratios. Targets (issue 12): iocptls ≥ 1.4× the Node tls pair, ≥ 0.70× plain TCP.\n`);
}

main()
  .catch((e) => {
    C.log(`bench/bulk.js: ${e.message}`);
    process.exitCode = 1;
  })
  .finally(() => C.cleanup());
