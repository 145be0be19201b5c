// A streaming connection receives straight into its BIO pair (no receive buffer, one copy fewer
// per byte) and, once quiet, gives the pair back all the same: the receive that pinned it is
// cancelled and one that pins nothing takes its place. Against Node's tls server in another process
// (a peer we did not write): every byte it sent arrives, in order (hashes on both sides), before and after the
// quiet spell, on every Linux receive path.
import * as assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Connection } from '../src/engine/connection';
import type { IocptlsError } from '../src/engine/errors';
import { Loop } from '../src/engine/loop';
import { TlsContext } from '../src/engine/tls/context';
import { fixture } from './helpers/cli';
import { portVariants } from './helpers/port_variants';

const MIB = 1024 * 1024;

/**
 * Node's tls server in its own process (so data piles up in the socket as from any real sender):
 * prints `port N`; on stdin `send SEED BYTES` writes that many bytes of a pattern that differs at
 * every offset of a record, `end` sends close_notify and prints `sent SHA256 BYTES`.
 */
const SERVER = `
const tls = require('tls'), fs = require('fs'), crypto = require('crypto');
const [cert, key] = process.argv.slice(1);
const h = crypto.createHash('sha256');
let sock, total = 0;
const chunk = (seed, n) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = (i * 131 + seed * 7 + (i >> 9)) & 0xff; return b; };
const srv = tls.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (s) => { sock = s; s.on('error', () => {}); console.log('connected'); });
srv.listen(0, '127.0.0.1', () => console.log('port ' + srv.address().port));
process.stdin.on('data', (d) => {
  for (const line of String(d).trim().split('\\n')) {
    const [cmd, a, b] = line.split(' ');
    if (cmd === 'send') for (let off = 0; off < +b; off += 65536) { const c = chunk(+a + off, Math.min(65536, +b - off)); h.update(c); total += c.length; sock.write(c); }
    if (cmd === 'end') { sock.end(); console.log('sent ' + h.digest('hex') + ' ' + total); srv.close(); }
  }
});
`;

/** Linux's backends (this file's peers and memory figures are Linux's). */
const variants = () => (process.platform === 'linux' ? portVariants() : []);

for (const { name, make } of variants()) {
  describe(`receives straight into a streaming connection's pair: ${name}`, function () {
    this.timeout(60_000);
    let loop: Loop | undefined;
    let ctx: TlsContext | undefined;
    let child: ChildProcess | undefined;
    afterEach(() => {
      child?.kill();
      loop?.destroy();
      ctx?.free();
      loop = ctx = child = undefined;
    });

    async function until(done: () => boolean, ms: number, what: string): Promise<void> {
      const end = performance.now() + ms;
      await loop!.runAsync(() => done() || performance.now() > end, 5);
      if (!done()) throw new Error(`timed out: ${what}`);
    }

    it("takes every byte Node's tls server sends, gives its pair back once quiet, and streams again after", async () => {
      const c = (child = spawn(process.execPath, ['-e', SERVER, fixture('localhost.pem'), fixture('localhost.key')], { stdio: ['pipe', 'pipe', 'inherit'] }));
      let out = '';
      c.stdout!.on('data', (d) => (out += d));
      loop = new Loop(make(), { releaseIdleMs: 200 });
      await until(() => /port \d+/.test(out), 20_000, 'the server listening');
      const port = Number(/port (\d+)/.exec(out)![1]);
      ctx = new TlsContext({ role: 'client', verify: false });
      const got = createHash('sha256');
      let gotBytes = 0;
      let closed = false;
      let closedWith: IocptlsError | undefined;
      let conn: Connection | undefined;
      loop.connect(loop.port.sockaddr('127.0.0.1', port), {
        context: ctx,
        servername: 'localhost',
        timeoutMs: 20_000,
        handler: {
          onHandshake: (x) => (conn = x),
          onData: (_x, data) => {
            got.update(data);
            gotBytes += data.length;
          },
          onClose: (_x, e) => ((closed = true), (closedWith = e)),
        },
      });
      await until(() => (conn !== undefined && /connected/.test(out)) || closed, 20_000, 'handshake');
      assert.equal(closed, false, String(closedWith));

      c.stdin!.write(`send 1 ${24 * MIB}\n`);
      await until(() => gotBytes === 24 * MIB || closed, 30_000, `24 MiB (got ${gotBytes})`);
      assert.equal(gotBytes, 24 * MIB);
      const direct = loop.stats.directRecvs;
      assert.ok(direct > 0, `streaming, receives went straight into the pair (${direct} of ${loop.stats.recvs})`);
      assert.equal(loop.recvBuffersInUse, 0, 'no receive buffer out');

      // Quiet: the receive pinning the pair is cancelled, the pair goes back, the connection stays.
      await until(() => loop!.memory().pairs.paired === 0, 10_000, `the quiet connection gives its pair back (paired ${loop!.memory().pairs.paired})`);
      assert.equal(closed, false, String(closedWith));
      assert.equal(conn!.recvInFlight, true, 'still waiting for data');
      assert.equal(conn!.recvDirect, false, 'with a receive that pins nothing');
      assert.equal(loop.memory().pairs.bytes, 0);

      // Data again: taken, then streamed straight into the pair once more; then close_notify.
      const more = 8 * MIB + 12345;
      c.stdin!.write(`send 2 ${more}\nend\n`);
      await until(() => closed, 30_000, `all bytes, then the peer's close_notify (got ${gotBytes})`);
      assert.equal(closedWith, undefined, String(closedWith));
      const [, sha, sentBytes] = /sent ([0-9a-f]+) (\d+)/.exec(out)!;
      assert.equal(gotBytes, Number(sentBytes));
      assert.equal(got.digest('hex'), sha, 'the bytes are those sent, in order');
      assert.ok(loop.stats.directRecvs > direct, 'streaming again, straight into the pair');
      assert.equal(loop.stats.recvBytes, conn!.wireIn);
      await until(() => loop!.pendingOps === 0, 5_000, `no operation left (${loop!.pendingOps})`);
      assert.equal(loop.recvBuffersInUse, 0);
      assert.deepEqual(loop.destroy(), { pendingOps: 0, leakedBuffers: 0, leakedBytes: 0 });
    });
  });
}
