// Checks the JSON documents that `serve`, `connect` and `bench` wrote when scripts/test-windows.sh
// ran them with the Windows node.exe under Wine. Runs on the host (Linux node): node.exe cannot
// write to a pipe under Wine, so the commands' stdout went to files, which this reads.
//
//   node dist/test/windows_check.js connect|serve|bench FILE EXIT_CODE
//
// Prints one line of what it saw; exits 1 with the failed assertion otherwise.
import assert from 'node:assert/strict';
import fs from 'node:fs';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** What the harness sends with `connect --send 'hello-iocp\n'` (and the echo server returns). */
export const SENT = 'hello-iocp\n';

function read(file: string): Doc {
  const text = fs.readFileSync(file, 'utf8');
  try {
    return JSON.parse(text) as Doc;
  } catch {
    throw new Error(`${file} does not hold one JSON document:\n${text.slice(0, 500)}`);
  }
}

const checks: Record<string, (d: Doc) => string> = {
  connect(d) {
    assert.equal(d.schema, 'iocptls.connect/1');
    assert.equal(d.backend, 'iocp');
    assert.equal(d.target.ip, '127.0.0.1');
    assert.equal(d.negotiated.protocol, 'TLSv1.3');
    assert.equal(typeof d.negotiated.cipher, 'string');
    assert.ok(d.timings.handshakeMs > 0, 'handshake time measured');
    assert.equal(d.certificates[0].subject, 'CN=localhost', "the serve's ephemeral certificate");
    assert.equal(d.verification.enforced, false);
    // The echo server sent back what we sent, through IOCP on both ends.
    assert.equal(d.data.sent, SENT.length);
    assert.equal(d.data.received, SENT.length);
    return `${d.negotiated.protocol} ${d.negotiated.cipher} ${d.negotiated.group}, handshake ${d.timings.handshakeMs} ms, echoed ${d.data.received} bytes, backend ${d.backend}`;
  },
  serve(d) {
    assert.equal(d.schema, 'iocptls.serve/2');
    assert.equal(d.backend, 'iocp', 'auto must pick iocp on win32');
    assert.equal(d.mode, 'echo');
    assert.equal(d.connections.accepted, 1);
    assert.deepEqual(d.connections.acceptErrors, {});
    assert.equal(d.totals.handshakes, 1);
    assert.equal(d.totals.bytesIn, SENT.length);
    assert.equal(d.totals.bytesOut, SENT.length);
    assert.deepEqual(d.totals.errors, {});
    assert.deepEqual(d.leftover, { connections: 0, recvBuffers: 0, pendingOps: 0, listeners: 0 }, 'stopped cleanly');
    // The harness runs it with --duration 60 as a backstop and stops it with SIGINT (Ctrl-C).
    assert.ok(d.durationSec < 45, `serve stopped after ${d.durationSec} s: by its --duration, not by SIGINT`);
    return `accepted ${d.connections.accepted}, ${d.totals.handshakes} handshake, ${d.totals.bytesIn} bytes in / ${d.totals.bytesOut} out, ${d.workers} worker, backend ${d.backend}, stopped by SIGINT after ${d.durationSec.toFixed(1)} s`;
  },
  bench(d) {
    assert.equal(d.schema, 'iocptls.result/1');
    assert.equal(d.kind, 'handshake');
    assert.equal(d.backend, 'iocp');
    assert.equal(d.machine.platform, 'win32');
    assert.equal(d.target.embedded, true);
    assert.ok(d.totals.handshakes > 0, 'handshakes completed');
    assert.equal(d.totals.errors, 0);
    assert.deepEqual(d.errors, {});
    assert.equal(d.latency.handshake.count, d.totals.handshakes);
    return `${d.totals.handshakes} handshakes in ${d.duration} s (${Math.round(d.rates.handshakesPerSec.mean)}/s), p50 ${(d.latency.handshake.p50 / 1000).toFixed(1)} ms, 0 errors, backend ${d.backend}`;
  },
};

function main(argv: string[]): number {
  const [kind, file, rc] = argv;
  const check = checks[kind];
  if (!check || !file) {
    process.stderr.write(`usage: windows_check ${Object.keys(checks).join('|')} FILE EXIT_CODE\n`);
    return 2;
  }
  try {
    assert.equal(rc, '0', `${kind} exited ${rc}`);
    console.log(`ok ${kind}: ${check(read(file))}`);
    return 0;
  } catch (e) {
    console.log(`FAILED ${kind}: ${(e as Error).message}`);
    return 1;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
