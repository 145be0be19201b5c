'use strict';
// Node.js `tls` peers for the benchmarks (run as a child process, pinned by the caller):
//   hs-client      --port P -c N --seconds S [--resume] [--tls-max 1.2|1.3]
//                  tls.connect loop with one shared SecureContext; with --resume it offers the latest
//                  session and (TLS 1.3) waits for the ticket before closing, so it really resumes.
//                  Prints {"handshakes","resumed","full","errors","seconds"}.
//   source-server  --port P --cert F --key F      streams 16 KiB writes to every connection
//   sink-client    --port P --seconds S [--warmup W] [--get PATH]
//                  one connection, reads as fast as it can (with --get: pipelined HTTP/1.1 GETs of PATH);
//                  prints {"bytes","seconds","gbps","cpuUsPerMiB","cipher","protocol"} of the measured window.
const fs = require('node:fs');
const tls = require('node:tls');

const argv = process.argv.slice(2);
const mode = argv.shift();
const opt = {};
for (let i = 0; i < argv.length; i++) {
  const k = argv[i].replace(/^-+/, '');
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) opt[k] = true;
  else {
    opt[k] = v;
    i++;
  }
}
const port = Number(opt.port);
const host = '127.0.0.1';

if (mode === 'hs-client') {
  const conns = Number(opt.c || 64);
  const seconds = Number(opt.seconds || 5);
  const maxVersion = opt['tls-max'] === '1.2' ? 'TLSv1.2' : 'TLSv1.3';
  const secureContext = tls.createSecureContext({ maxVersion, minVersion: 'TLSv1.2' });
  const st = { handshakes: 0, resumed: 0, full: 0, errors: 0 };
  let session;
  let stopping = false;
  const t0 = process.hrtime.bigint();
  const one = () => {
    if (stopping) return;
    let done = false;
    const s = tls.connect({ host, port, secureContext, rejectUnauthorized: false, session: opt.resume ? session : undefined });
    const finish = () => {
      if (done) return;
      done = true;
      s.destroy();
      setImmediate(one);
    };
    let shook = false;
    let ticket = false;
    s.on('session', (sess) => {
      if (opt.resume) session = sess;
      ticket = true;
      if (shook) finish();
    });
    s.on('secureConnect', () => {
      shook = true;
      st.handshakes++;
      if (s.isSessionReused()) st.resumed++;
      else st.full++;
      // TLS 1.3 tickets arrive after the handshake: wait for one (bounded) so the next connection can resume.
      if (!opt.resume || ticket || s.getProtocol() !== 'TLSv1.3') finish();
      else setTimeout(finish, 200);
    });
    s.on('error', () => {
      if (!shook) st.errors++;
      finish();
    });
    s.on('close', finish);
  };
  for (let i = 0; i < conns; i++) one();
  setTimeout(() => {
    stopping = true;
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    process.stdout.write(JSON.stringify({ ...st, seconds: secs }) + '\n');
    process.exit(0);
  }, seconds * 1000);
} else if (mode === 'source-server') {
  const chunk = Buffer.alloc(16 * 1024, 0x61);
  const srv = tls.createServer({ cert: fs.readFileSync(opt.cert), key: fs.readFileSync(opt.key), minVersion: 'TLSv1.2' }, (s) => {
    s.on('error', () => {});
    const pump = () => {
      while (s.write(chunk));
    };
    s.on('drain', pump);
    pump();
  });
  srv.listen(port, host);
  process.on('SIGTERM', () => process.exit(0));
} else if (mode === 'sink-client') {
  const seconds = Number(opt.seconds || 5);
  const warmup = Number(opt.warmup ?? 1);
  let bytes = 0;
  let markBytes = 0;
  let markAt = 0n;
  const s = tls.connect({ host, port, rejectUnauthorized: false, highWaterMark: 256 * 1024 }, () => {
    if (opt.get) {
      // Keep a few requests in flight so the server never waits for the next one.
      const req = Buffer.from(`GET ${opt.get} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
      const more = (n) => s.write(Buffer.concat(Array(n).fill(req)));
      more(8);
      setInterval(() => more(4), 1000).unref();
    }
    setTimeout(() => {
      markBytes = bytes;
      markAt = process.hrtime.bigint();
      const cpu0 = process.cpuUsage();
      setTimeout(() => {
        const secs = Number(process.hrtime.bigint() - markAt) / 1e9;
        const b = bytes - markBytes;
        const cpu = process.cpuUsage(cpu0);
        // The process's CPU (all its threads) over the window, per MiB received: what bench/bulk.js sets beside iocptls's.
        const cpuUsPerMiB = (cpu.user + cpu.system) / (b / 1048576);
        process.stdout.write(JSON.stringify({ bytes: b, seconds: secs, gbps: (b * 8) / secs / 1e9, cpuUsPerMiB, cipher: s.getCipher().standardName, protocol: s.getProtocol() }) + '\n');
        process.exit(0);
      }, seconds * 1000);
    }, warmup * 1000);
  });
  s.on('data', (d) => (bytes += d.length));
  s.on('error', (e) => {
    process.stderr.write(`sink-client: ${e.message}\n`);
    process.exit(1);
  });
} else {
  process.stderr.write('usage: node_tls.js hs-client|source-server|sink-client ...\n');
  process.exit(2);
}
