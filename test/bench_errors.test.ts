// Error accounting: every failed attempt is counted once, under a reason that says what happened
// (refused, reset, the TLS alert), and a run where nothing succeeded exits non-zero while still
// printing its report.
import assert from 'node:assert/strict';
import { dump, runCli, runCliJson } from './helpers/cli';
import { CountingServer, startCountingServer, startResettingServer } from './helpers/bench_peers';
import { closedPort } from './helpers/free_port';

describe('bench error accounting', function () {
  this.timeout(30_000);
  let server: CountingServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('a closed port: every attempt is "refused"; nothing succeeded, so exit 1 with the report', async () => {
    const port = await closedPort();
    const r = await runCliJson(['bench', 'handshake', `127.0.0.1:${port}`, '-n', '100', '-c', '4']);
    console.log(`      refused: exit ${r.code}, errors ${JSON.stringify(r.doc.errors)}, stderr: ${r.stderr.trim()}`);
    assert.equal(r.code, 1, dump(r));
    assert.deepEqual(r.doc.errors, { refused: 100 });
    assert.equal(r.doc.totals.errors, 100);
    assert.equal(r.doc.totals.handshakes, 0);
    assert.equal(r.doc.totals.connects, 0);
    assert.match(r.stderr, /no handshake succeeded \(100 errors, mostly 'refused'\)/);
  });

  it('a closed port, human output: the error table is printed, exit 1', async () => {
    const port = await closedPort();
    const r = await runCli(['bench', 'handshake', `127.0.0.1:${port}`, '-d', '1', '--warmup', '0', '-c', '2', '--no-plot']);
    assert.equal(r.code, 1, dump(r));
    assert.match(r.out, /│ Error\s+│\s+Count\s+│\s+Share/);
    assert.match(r.out, /│ refused\s+│\s+[\d,]+\s+│\s+100\.0%/);
  });

  it('a server that resets every connection: "reset", counted once per attempt', async () => {
    server = await startResettingServer(1);
    const r = await runCliJson(['bench', 'handshake', `127.0.0.1:${server.port}`, '-n', '60', '-c', '2']);
    console.log(`      reset all: exit ${r.code}, errors ${JSON.stringify(r.doc.errors)}`);
    assert.equal(r.code, 1, dump(r));
    assert.deepEqual(Object.keys(r.doc.errors), ['reset'], JSON.stringify(r.doc.errors));
    assert.equal(r.doc.totals.errors, 60);
    assert.equal(r.doc.totals.handshakes, 0);
  });

  it('a server that resets every second connection: errors and handshakes add up to the attempts; 50% > --max-error-rate 1% (default): exit 1', async () => {
    const s = await startResettingServer(2);
    server = s;
    const r = await runCliJson(['bench', 'handshake', `127.0.0.1:${s.port}`, '-n', '100', '-c', '2']);
    await s.idle();
    console.log(`      reset half: exit ${r.code}, handshakes ${r.doc.totals.handshakes}, errors ${JSON.stringify(r.doc.errors)}; server: ${s.resets} resets, ${s.handshakes} handshakes`);
    assert.equal(r.code, 1, dump(r));
    assert.match(r.stderr, /50\.0% of attempts failed \(more than --max-error-rate 1%\)/);
    assert.equal(r.doc.totals.handshakes + r.doc.totals.errors, 100);
    assert.deepEqual(r.doc.errorRate, { ratio: 0.5, max: 0.01 });
    assert.deepEqual(
      { started: r.doc.accounting.started, succeeded: r.doc.accounting.succeeded, failed: r.doc.accounting.failed, cutOff: r.doc.accounting.cutOff },
      { started: 100, succeeded: 50, failed: 50, cutOff: 0 }
    );
    assert.equal(r.doc.errors.reset, s.resets);
    assert.equal(r.doc.totals.handshakes, s.handshakes);
    assert.equal(s.resets, 50);
  });

  it('the same with --max-error-rate 60: the errors are a result, exit 0', async () => {
    const s = await startResettingServer(2);
    server = s;
    const r = await runCliJson(['bench', 'handshake', `127.0.0.1:${s.port}`, '-n', '100', '-c', '2', '--max-error-rate', '60']);
    await s.idle();
    assert.equal(r.code, 0, dump(r));
    assert.equal(r.doc.totals.errors, 50);
  });

  it('--max-error-rate must be a percentage: a one-line error, exit 2', async () => {
    const r = await runCli(['bench', 'handshake', '127.0.0.1:1', '-n', '1', '--max-error-rate', 'lots']);
    assert.equal(r.code, 2, dump(r));
    assert.equal(r.stderr.trim(), "iocptls: --max-error-rate must be a percentage from 0 to 100, not 'lots'");
  });

  it('--tls-max 1.2 against a TLS 1.3-only server: one protocol-version alert per attempt', async () => {
    server = await startCountingServer({ minVersion: 'TLSv1.3' });
    const r = await runCliJson(['bench', 'handshake', `127.0.0.1:${server.port}`, '-n', '50', '-c', '2', '--tls-max', '1.2']);
    console.log(`      protocol mismatch: exit ${r.code}, errors ${JSON.stringify(r.doc.errors)}`);
    assert.equal(r.code, 1, dump(r));
    const reasons = Object.keys(r.doc.errors);
    assert.equal(reasons.length, 1, JSON.stringify(r.doc.errors));
    assert.match(reasons[0], /^alert: protocol version$/);
    assert.equal(r.doc.errors[reasons[0]], 50);
    assert.equal(server.handshakes, 0);
  });
});
