#!/usr/bin/env node
'use strict';
// Client memory per held connection (issue 25): `iocptls bench connections -c N` against one nginx
// worker (TLS 1.3, ECDSA P-256, nginx's default tickets, client_header_timeout raised so it keeps
// connections that never send a request). The figure is the document's own
// connections.memory.perConnectionBytes: the client process's peak RSS over its baseline before any
// connection, ÷ connections reached. A run where connections failed is reported but its figure is
// not used (failed attempts leave garbage behind and divide by fewer).
//
// --compare RUN_JS runs another build's bin/run.js (e.g. a checkout of the previous commit) in turn
// with this one, interleaved, so the two medians come from the same load. nginx on CPU 0, the
// client on CPU 1.
//
//   node bench/client_memory.js [--connections 4000] [--ramp 200] [--rounds 3] [--compare /other/bin/run.js]
const fs = require('node:fs');
const C = require('./lib/common');

const USAGE = `usage: node bench/client_memory.js [options]
  --connections N   connections held [4000]
  --ramp R          connections opened per second (too fast for the machine and handshakes time out) [200]
  --hold S          seconds held once all were tried [5]
  --rounds K        interleaved rounds (medians and ranges over them) [3]
  --compare RUN_JS  also run this bin/run.js (another build), interleaved
  --json FILE       also write all raw measurements to FILE
`;
const opt = C.parseArgs(process.argv.slice(2), {
  connections: { type: 'number', default: 4000 },
  ramp: { type: 'number', default: 200 },
  hold: { type: 'number', default: 5 },
  rounds: { type: 'number', default: 3 },
  compare: { type: 'string', default: '' },
  json: { type: 'string', default: '' },
}, USAGE);

async function main() {
  if (!C.which('nginx')) throw new Error('nginx is missing: apt-get install -y nginx');
  C.log(C.machineLine());
  const dir = C.tempDir('iocptls-client-memory-');
  fs.chmodSync(dir, 0o755);
  const ec = C.makeCerts(dir)['ecdsa-p256'];
  const [pStatus, port] = await C.freePorts(2);
  const conf = C.writeNginxConf(dir, {
    statusPort: pStatus,
    workerConnections: opt.connections + 1000,
    httpServers: [`  server { listen 127.0.0.1:${port} ssl; ssl_certificate ${ec.cert}; ssl_certificate_key ${ec.key}; ssl_protocols TLSv1.3; client_header_timeout 600s; location / { return 200 "ok"; } }`],
  });
  const nginx = await C.startNginx(dir, conf.file, [pStatus, port]);
  const builds = [{ name: 'this build', runJs: C.RUN_JS }];
  if (opt.compare) builds.push({ name: opt.compare, runJs: opt.compare });
  const runs = new Map(builds.map((b) => [b.name, []]));
  for (let r = 0; r < opt.rounds; r++) {
    const order = r % 2 ? [...builds].reverse() : builds;
    for (const b of order) {
      const args = [b.runJs, 'bench', 'connections', `127.0.0.1:${port}`, '-c', String(opt.connections), '--ramp', String(opt.ramp), '-d', String(opt.hold), '--json'];
      const p = C.spawnPinned(1, process.execPath, args);
      const res = await p.done;
      let run = { ok: false };
      try {
        const d = JSON.parse(res.stdout);
        const m = d.connections.memory;
        run = { ok: d.totals.errors === 0, reached: d.connections.reached, errors: d.totals.errors, perConnectionBytes: m.perConnectionBytes, baselineRssBytes: m.baselineRssBytes, peakRssBytes: m.peakRssBytes, cHeapAtEndBytes: m.cHeapAtEndBytes };
      } catch {
        run.error = (res.stderr || res.stdout).trim().split('\n').pop();
      }
      runs.get(b.name).push(run);
      C.log(`round ${r + 1} ${b.name}: ${run.perConnectionBytes !== undefined ? `${(run.perConnectionBytes / 1000).toFixed(1)} kB per connection, reached ${run.reached}, errors ${run.errors}` : `failed: ${run.error}`}`);
    }
  }
  await C.stopChild(nginx, 'SIGTERM');
  const rows = builds.map((b) => {
    const ok = runs.get(b.name).filter((x) => x.ok).map((x) => x.perConnectionBytes / 1000);
    return [b.name, ok.length ? C.fmt(C.median(ok), 1) : '-', ok.length ? `${C.fmt(Math.min(...ok), 1)}–${C.fmt(Math.max(...ok), 1)}` : '-', `${ok.length}/${opt.rounds}`];
  });
  let out = `\n# Client memory per held connection: bench connections -c ${opt.connections} --ramp ${opt.ramp} against nginx (1 worker, TLS 1.3 ECDSA)\n${C.machineLine()}\n`;
  out += C.table(['build', 'kB per connection (median)', 'range', 'runs without errors'], rows);
  process.stdout.write(out);
  if (opt.json) fs.writeFileSync(opt.json, JSON.stringify({ opt, runs: Object.fromEntries(runs) }, null, 2));
  C.cleanup();
}

main().catch((e) => {
  C.log(e && e.stack ? e.stack : String(e));
  C.cleanup();
  process.exit(1);
});
