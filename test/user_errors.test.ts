// What a user meets trying bad inputs and signals (issue 21, item 8, "no run lost, no number
// mislabelled"): an output that fails after the run still leaves the result on stdout; a hang-up
// stops bench with the partial document; serve binds a host name; a client's reset after a
// completed exchange is a close, not an error; a silent server's cut-off attempts are named.
// Bad paths and flags that fail before any work are in cli_errors.test.ts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { dump, fixture, ROOT, RUN_JS, runCli, runCliJson } from './helpers/cli';
import { startSilentServer } from './helpers/node_tls';
import { CA, dumpServe, echoOnce, ServeProcess, servesEachTest, sleep, startServe, until } from './helpers/serve';

const CERT = ['--cert', fixture('localhost.pem'), '--key', fixture('localhost.key')];
const QUICK = ['-d', '500ms', '--warmup', '0', '-w', '1', '--server-workers', '1'];

/** started = succeeded + failed + cut off: DESIGN.md's accounting, whatever happened. */
function assertReconciles(doc: any): void {
  const a = doc.accounting;
  assert.ok(a, 'an accounting section');
  assert.equal(a.started, a.succeeded + a.failed + a.cutOff, JSON.stringify(a));
}

/** Resolves once the process catches `signo` (Linux: bit signo-1 of SigCgt in /proc/PID/status). */
async function caught(pid: number, signo: number, timeoutMs = 30_000): Promise<void> {
  const bit = 1n << BigInt(signo - 1);
  const t0 = Date.now();
  for (;;) {
    const m = /SigCgt:\s*([0-9a-f]+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (m && (BigInt('0x' + m[1]) & bit) !== 0n) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`process ${pid} never caught signal ${signo}`);
    await sleep(20);
  }
}

describe('user errors: no run lost, no number mislabelled', function () {
  this.timeout(60_000);

  it('an output that cannot be written after the run (--hgrm /dev/full): the document is printed all the same, the failure named, exit 2', async function () {
    if (!fs.existsSync('/dev/full')) this.skip();
    // /dev/full passes every check a path can pass (it exists, is writable, is no directory),
    // and every write to it fails with ENOSPC: a disk that filled up during the run.
    const r = await runCliJson(['bench', ...QUICK, '--hgrm', '/dev/full'], { killAfterMs: 40_000 });
    assert.equal(r.code, 2, dump(r));
    assert.equal(r.doc.kind, 'handshake');
    assert.ok(r.doc.totals.handshakes > 0, 'the measured run is in the document');
    assert.match(r.stderr, /^iocptls: --hgrm \/dev\/full: cannot write it: no space left on device \(ENOSPC\) \(the result is printed all the same\)$/m);

    const text = await runCli(['bench', ...QUICK, '--no-plot', '--hgrm', '/dev/full', '--html', '/dev/full'], { killAfterMs: 40_000 });
    assert.equal(text.code, 2, dump(text));
    assert.match(text.out, /Handshakes/, 'the tables are printed');
    assert.match(text.stderr, /--hgrm \/dev\/full: cannot write it: no space left/);
    assert.match(text.stderr, /--html \/dev\/full: cannot write it: no space left/);
  });

  it('SIGHUP (a closed ssh session during bench --json > file) stops bench like Ctrl-C: the partial document, exit 129', async function () {
    if (process.platform !== 'linux') this.skip();
    const child = spawn(process.execPath, [RUN_JS, 'bench', '-d', '60', '--warmup', '0', '-w', '1', '--server-workers', '1', '--json'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    const killer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    try {
      // Sent once bench catches SIGHUP (the run is under way), not after a guessed delay.
      await caught(child.pid!, 1);
      child.kill('SIGHUP');
      const code = await exited;
      assert.equal(code, 129, `exit ${code}\nstderr: ${err}`);
      const doc = JSON.parse(out);
      assert.equal(doc.kind, 'handshake');
      assert.equal(doc.interrupted.signal, 'SIGHUP');
      assertReconciles(doc);
      assert.match(err, /iocptls: SIGHUP: stopping, the report covers what was measured/);
    } finally {
      clearTimeout(killer);
      child.kill('SIGKILL');
    }
  });

  describe('serve', () => {
    const serve = servesEachTest();

    it('--host localhost binds what the name resolves to, and clients reach it', async () => {
      const s = await serve(['--host', 'localhost', '-w', '1', ...CERT]);
      assert.ok(net.isIP(s.host), `listening on an address: ${s.listening}`);
      const r = await echoOnce({ host: s.host, port: s.port }, Buffer.from('hello'));
      assert.equal(r.received, 5);
      const x = await s.stop();
      assert.equal(x.code, 0, dumpServe(x));
      assert.equal(x.doc.listen.host, s.host);
    });

    it('--host ::1 and connect [::1]:PORT', async function () {
      // Only where the machine has IPv6 loopback.
      const v6 = await new Promise<boolean>((r) => {
        const p = net.createServer().once('error', () => r(false));
        p.listen(0, '::1', () => p.close(() => r(true)));
      });
      if (!v6) this.skip();
      const s = await serve(['--host', '::1', '-w', '1', ...CERT]);
      assert.equal(s.host, '::1');
      const c = await runCliJson(['connect', `[::1]:${s.port}`, '--ca', fixture('ca.pem'), '--servername', 'localhost']);
      assert.equal(c.code, 0, dump(c));
      assert.equal(c.doc.target.port, s.port);
    });

    /** Waits until the server has closed every client connection (its descriptors back to `base`). */
    const settled = (s: ServeProcess, base: number) => until(() => s.fdCount() === base, `serve's descriptors back to ${base}`, 5000);

    /** A TLS client over a raw socket we can reset. */
    async function client(port: number): Promise<{ raw: net.Socket; s: tls.TLSSocket; next: () => Promise<string> }> {
      const raw = net.connect(port, '127.0.0.1');
      raw.on('error', () => {});
      const s = tls.connect({ socket: raw, ca: CA, servername: 'localhost' });
      s.on('error', () => {});
      await new Promise((r) => s.once('secureConnect', r));
      let got = '';
      const waiters: (() => void)[] = [];
      s.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        for (const w of waiters.splice(0)) w();
      });
      // Everything received so far, once it ends with what a reply ends with.
      const next = () =>
        new Promise<string>((resolve) => {
          const check = () => (/(ping|\r\n\r\nok)$/.test(got) ? resolve(got) : waiters.push(check));
          check();
        });
      return { raw, s, next };
    }

    it("echo: a reset after the echo came back is a close (closedByReset), not an error", async () => {
      const s = await serve(['-w', '1', ...CERT]);
      const base = s.fdCount();
      const c = await client(s.port);
      c.s.write('ping');
      assert.equal(await c.next(), 'ping');
      c.raw.resetAndDestroy();
      await settled(s, base);
      const x = await s.stop();
      assert.equal(x.code, 0, dumpServe(x));
      assert.deepEqual(x.doc.totals.errors, {});
      assert.equal(x.doc.totals.closedByReset, 1);
      assert.match(x.stdout, /"closedByReset": 1/);
    });

    it('http: a reset between requests is a close; a reset with the next request half read is an error', async () => {
      const s = await serve(['-w', '1', '--mode', 'http', ...CERT]);
      const base = s.fdCount();
      const clean = await client(s.port);
      clean.s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.match(await clean.next(), /^HTTP\/1\.1 200 OK/);
      clean.raw.resetAndDestroy();
      // One TLS record carries a whole request and the start of the next: once the first is
      // answered, the server holds the second in part, and the reset cuts it.
      const cut = await client(s.port);
      cut.s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHo');
      assert.match(await cut.next(), /^HTTP\/1\.1 200 OK/);
      cut.raw.resetAndDestroy();
      await settled(s, base);
      const x = await s.stop();
      assert.equal(x.code, 0, dumpServe(x));
      assert.equal(x.doc.totals.roundTrips, 2);
      assert.equal(x.doc.totals.closedByReset, 1, JSON.stringify(x.doc.totals));
      assert.deepEqual(x.doc.totals.errors, { reset: 1 });
    });

    it("a reset before the handshake completed stays an error", async () => {
      const s = await serve(['-w', '1', ...CERT]);
      const base = s.fdCount();
      const raw = net.connect(s.port, '127.0.0.1');
      raw.on('error', () => {});
      await new Promise((r) => raw.once('connect', r));
      // A ClientHello's first bytes, then the reset.
      raw.write(Buffer.from('1603010200010001fc0303', 'hex'));
      // Reset once serve holds the connection (a reset still in the kernel's accept queue is no connection of its).
      await until(() => s.fdCount() > base, 'serve accepted the connection', 5000);
      raw.resetAndDestroy();
      await settled(s, base);
      const x = await s.stop();
      assert.deepEqual(x.doc.totals.errors, { reset: 1 });
      assert.equal(x.doc.totals.closedByReset, undefined);
    });

    it("bench handshake against serve: every connection bench's --close rst ended after its handshake is a close on the server", async () => {
      const s = await serve(['-w', '1', ...CERT]);
      const base = s.fdCount();
      const b = await runCliJson(['bench', 'handshake', `127.0.0.1:${s.port}`, '-d', '1', '--warmup', '0', '-w', '1', '-c', '2'], { killAfterMs: 40_000 });
      assert.equal(b.code, 0, dump(b));
      assert.deepEqual(b.doc.errors, {});
      await settled(s, base);
      const x = await s.stop();
      assert.equal(x.code, 0, dumpServe(x));
      const t = x.doc.totals;
      assert.ok(t.handshakes > 0);
      // Each connection the server saw complete its handshake ended with bench's reset: a close.
      assert.equal(t.closedByReset, t.handshakes, JSON.stringify(t));
      // A reset can arrive with bench's Finished, before the server completed (table.ts says so):
      // those, and only those, are errors.
      assert.ok(Object.keys(t.errors).every((k) => k === 'reset'), JSON.stringify(t.errors));
      assert.equal(t.handshakes + (t.errors.reset ?? 0), x.doc.connections.accepted);
      assert.match(x.stderr, /listening/);
    });
  });

  describe('a server that answers, then goes silent mid-run (for less than --timeout)', () => {
    /**
     * A TCP front that hands the connections of the first `answerMs` (from the first one, not from
     * the server's start: the CLI's start-up is slow on a loaded machine) to a Node TLS server, and
     * afterwards accepts and holds every connection without a word.
     */
    async function startGoingSilentServer(answerMs: number) {
      const inner = tls.createServer({ cert: fs.readFileSync(fixture('localhost.pem')), key: fs.readFileSync(fixture('localhost.key')) });
      inner.on('tlsClientError', () => {});
      let first = 0;
      let held = 0;
      const sockets = new Set<net.Socket>();
      const front = net.createServer({ pauseOnConnect: true }, (sock) => {
        sockets.add(sock);
        sock.on('close', () => sockets.delete(sock));
        sock.on('error', () => {});
        first ||= Date.now();
        if (Date.now() - first < answerMs) inner.emit('connection', sock);
        else held++;
      });
      await new Promise<void>((resolve, reject) => {
        front.once('error', reject);
        front.listen(0, '127.0.0.1', () => resolve());
      });
      return {
        port: (front.address() as net.AddressInfo).port,
        held: () => held,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            front.close(() => r());
          }),
      };
    }

    it('exits 1 naming the stop (the oldest cut-off attempt waited seconds, far beyond a handshake), the JSON document printed all the same', async () => {
      const server = await startGoingSilentServer(1000);
      try {
        // --timeout (ms) far beyond the run: no attempt fails, they are only cut off at the end.
        const r = await runCliJson(['bench', 'handshake', `127.0.0.1:${server.port}`, '-d', '6', '--warmup', '0', '-w', '1', '-c', '4', '--timeout', '30000'], { killAfterMs: 50_000 });
        assert.equal(r.code, 1, dump(r));
        assert.ok(server.held() > 0, 'the server held connections silently');
        assertReconciles(r.doc);
        assert.deepEqual(r.doc.errors, {});
        const a = r.doc.accounting;
        assert.ok(a.succeeded > 0, 'the server answered at first');
        assert.equal(a.failed, 0);
        assert.ok(a.cutOffWaiting.handshake > 0, JSON.stringify(a));
        assert.ok(a.cutOffLongestMs >= 3000, `waited ${a.cutOffLongestMs} ms`);
        assert.match(r.stderr, /^iocptls: the server stopped answering: \d+ attempts? (was|were) still waiting .*handshake reply.* when the run ended, the oldest for \d+\.\d s /m);
      } finally {
        await server.close();
      }
    });

    it('a healthy short run against the embedded server still exits 0 (its cut-offs are a few ms old)', async () => {
      const r = await runCliJson(['bench', ...QUICK], { killAfterMs: 40_000 });
      assert.equal(r.code, 0, dump(r));
      assert.doesNotMatch(r.stderr, /stopped answering/);
      assert.ok((r.doc.accounting.cutOffLongestMs ?? 0) < 3000, JSON.stringify(r.doc.accounting));
    });
  });

  describe('a server that accepts and never answers', () => {
    let silent: Awaited<ReturnType<typeof startSilentServer>>;
    before(async () => {
      silent = await startSilentServer();
    });
    after(async () => {
      await silent.close();
    });

    it('with --timeout longer than the run: the cut-off attempts are named as waiting for the handshake reply (text, JSON), exit 1', async () => {
      const args = ['bench', 'handshake', `127.0.0.1:${silent.port}`, '-d', '2', '--warmup', '0', '-w', '1', '-c', '2', '--timeout', '60000'];
      const r = await runCliJson(args, { killAfterMs: 40_000 });
      assert.equal(r.code, 1, dump(r));
      const a = r.doc.accounting;
      assertReconciles(r.doc);
      assert.deepEqual(r.doc.errors, {});
      assert.equal(a.succeeded, 0);
      assert.equal(a.failed, 0);
      assert.equal(a.cutOff, 2);
      assert.deepEqual(a.cutOffWaiting, { connect: 0, handshake: 2 });
      assert.ok(a.cutOffLongestMs >= 2000, `waited ${a.cutOffLongestMs} ms`);
      assert.match(r.stderr, /^iocptls: no handshake succeeded; 2 attempts were cut off when the run ended, before --timeout: 2 connected and waiting for the server's handshake reply for up to \d+\.\d s \(the server accepted the connection but did not complete the handshake\)$/m);

      const text = await runCli([...args, '--no-plot'], { killAfterMs: 40_000 });
      assert.equal(text.code, 1, dump(text));
      assert.match(text.out, /2 started = 0 ok \+ 0 failed \+ 2 cut off \(.*cut off 2 waiting for the server's handshake reply \(up to \d+\.\d s\)\)/);
    });

    it('with --timeout shorter than the run: errors {timeout}, and the accounting still reconciles', async () => {
      const r = await runCliJson(['bench', 'handshake', `127.0.0.1:${silent.port}`, '-d', '2', '--warmup', '0', '-w', '1', '-c', '2', '--timeout', '300'], { killAfterMs: 40_000 });
      assert.equal(r.code, 1, dump(r));
      assertReconciles(r.doc);
      assert.ok(r.doc.errors.timeout > 0, JSON.stringify(r.doc.errors));
      assert.deepEqual(Object.keys(r.doc.errors), ['timeout']);
      assert.equal(r.doc.accounting.succeeded, 0);
      assert.match(r.stderr, /no handshake succeeded \(\d+ errors, mostly 'timeout'\)/);
    });
  });
});
