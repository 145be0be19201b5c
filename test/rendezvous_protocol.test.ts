// The rendezvous over real loopback sockets, in one process: shard 0's host refuses every kind of
// wrong or hostile peer with one error line and a closed connection (and keeps waiting for the
// right ones), members that are refused or cannot reach shard 0 fail with words, and the line
// codec turns random and mutated bytes into messages or a ProtocolError — never a crash or a hang.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { RendezvousError, RendezvousHost, RendezvousMember } from '../src/engine/rendezvous';
import { decode, encode, LineSplitter, MAX_HELLO_LINE, ProtocolError } from '../src/engine/rendezvous/protocol';
import { getFreePort } from './helpers/free_port';

const RUN = 'run-a';

/** Sends raw bytes to the host and returns everything it answered until it closed the connection. */
function talk(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let got = '';
    s.on('data', (d) => (got += d));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
    s.on('connect', () => s.write(bytes));
    setTimeout(() => reject(new Error(`the host did not close the connection; it said: ${got}`)), 10_000).unref();
  });
}

function hello(index: number, count = 3, run = RUN): string {
  return encode({ type: 'hello', index, count, run });
}

describe('rendezvous protocol: host and members on loopback', function () {
  this.timeout(30_000);

  it('refuses wrong and hostile peers with one error line each, then admits the right shards and starts them', async () => {
    const port = await getFreePort();
    const host = await RendezvousHost.listen({ index: 0, count: 3, host: '127.0.0.1', port, timeoutMs: 20_000, run: RUN });
    try {
      const cases: Array<[string | Buffer, RegExp]> = [
        [JSON.stringify({ v: 2, type: 'hello', index: 1, count: 3, run: RUN }) + '\n', /protocol version 2, but this iocptls speaks version 1/],
        [JSON.stringify({ type: 'hello', index: 1, count: 3, run: RUN }) + '\n', /protocol version null/],
        [encode({ type: 'ready' }), /say hello first \(got ready\)/],
        [JSON.stringify({ v: 1, type: 'sing' }) + '\n', /unknown message type "\\"sing\\""/],
        ['not json at all\n', /not a JSON line/],
        ['[1,2]\n', /not a message object/],
        ['x'.repeat(MAX_HELLO_LINE + 10), /a line longer than 4096 bytes/],
        [hello(1, 4), /this rendezvous is for 3 shards, not 4/],
        [hello(0), /shard 0 is the one you are talking to/],
        [hello(3), /shard 3 is not one of 0\.\.2/],
        [hello(1, 3, 'run-b'), /runs a different bench than shard 0/],
        [JSON.stringify({ v: 1, type: 'hello', index: -1, count: 3, run: RUN }) + '\n', /hello needs index, count/],
        [crypto.randomBytes(3000), /./],
      ];
      for (const [bytes, re] of cases) {
        const answer = await talk(port, bytes);
        const lines = answer.trim().split('\n');
        assert.equal(lines.length, 1, answer);
        const m = decode(lines[0]);
        assert.equal(m.type, 'error', answer);
        assert.match((m as { message: string }).message, re);
      }
      // The right shards still get in; a second shard 1 is refused while the first is there.
      const o = { count: 3, host: '127.0.0.1', port, timeoutMs: 10_000, run: RUN };
      const m1 = await RendezvousMember.join({ ...o, index: 1 });
      await assert.rejects(RendezvousMember.join({ ...o, index: 1 }), /shard 1 has already joined \(from 127\.0\.0\.1:\d+\): is one shard running twice\?/);
      const m2 = await RendezvousMember.join({ ...o, index: 2 });
      const [a0, a1, a2] = await Promise.all([host.ready(), m1.ready(), m2.ready()]);
      assert.equal(a1, a0);
      assert.equal(a2, a0);
      assert.ok(a0 >= Date.now() - 1000 && a0 <= Date.now() + 5000);
      // Results: shard 1 sends, shard 2 disconnects without one.
      await m1.sendResult({ shard: 1 });
      m2.close();
      const c = await host.collect({ shard: 0 });
      assert.deepEqual([...c.docs.keys()].sort(), [0, 1]);
      assert.deepEqual(c.docs.get(1), { shard: 1 });
      assert.match(c.lost.get(2)!, /disconnected mid-run/);
    } finally {
      host.close();
    }
  });

  it('at the deadline every waiting member hears which shards are missing', async () => {
    const port = await getFreePort();
    const host = await RendezvousHost.listen({ index: 0, count: 4, host: '127.0.0.1', port, timeoutMs: 1500, run: RUN });
    try {
      const m1 = await RendezvousMember.join({ index: 1, count: 4, host: '127.0.0.1', port, timeoutMs: 1500, run: RUN });
      const t0 = Date.now();
      const [h, m] = await Promise.allSettled([host.ready(), m1.ready()]);
      assert.ok(Date.now() - t0 < 5000);
      for (const r of [h, m]) {
        assert.equal(r.status, 'rejected');
        assert.ok((r as PromiseRejectedResult).reason instanceof RendezvousError);
        assert.match((r as PromiseRejectedResult).reason.message, /shards 2 and 3 of 4 did not join within 1\.5 s/);
      }
      m1.close();
    } finally {
      host.close();
    }
  });

  it('shard 0 gone mid-run: a member\'s result cannot be delivered, and it says so', async () => {
    const port = await getFreePort();
    const host = await RendezvousHost.listen({ index: 0, count: 2, host: '127.0.0.1', port, timeoutMs: 10_000, run: RUN });
    const m1 = await RendezvousMember.join({ index: 1, count: 2, host: '127.0.0.1', port, timeoutMs: 10_000, run: RUN });
    await Promise.all([host.ready(), m1.ready()]);
    host.close();
    await assert.rejects(m1.sendResult({ shard: 1 }), /shard 0 at 127\.0\.0\.1:\d+ closed the connection before taking this shard's result/);
    m1.close();
  });

  it('a member that cannot reach shard 0 fails at its deadline, saying why', async () => {
    const port = await getFreePort();
    const t0 = Date.now();
    await assert.rejects(RendezvousMember.join({ index: 1, count: 2, host: '127.0.0.1', port, timeoutMs: 1200, run: RUN }), /shard 1\/2: shard 0 at 127\.0\.0\.1:\d+ could not be reached within 1\.2 s \(--rendezvous-timeout\): ECONNREFUSED/);
    assert.ok(Date.now() - t0 < 4000);
  });

  it('shard 0 cannot listen on an address in use: one line', async () => {
    const s = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => s.once('listening', r));
    const port = (s.address() as net.AddressInfo).port;
    try {
      await assert.rejects(RendezvousHost.listen({ index: 0, count: 2, host: '127.0.0.1', port, timeoutMs: 1000, run: RUN }), /shard 0 cannot listen for the rendezvous on 127\.0\.0\.1:\d+: the port is in use/);
    } finally {
      s.close();
    }
  });

  it('fuzz: random and mutated lines decode to a message or a ProtocolError, never anything else', () => {
    const valid = [hello(1), encode({ type: 'start', atMs: 1, sentMs: 0 }), encode({ type: 'result', doc: { a: [1, 2] } }), encode({ type: 'welcome', missing: [2, 3] }), encode({ type: 'abort', message: 'x' })];
    let messages = 0;
    let errors = 0;
    for (let k = 0; k < 20_000; k++) {
      let line: string;
      if (k % 2 === 0) line = crypto.randomBytes(k % 97).toString(k % 4 === 0 ? 'latin1' : 'utf8');
      else {
        const b = Buffer.from(valid[k % valid.length].trimEnd());
        for (let j = 0; j < 1 + (k % 4); j++) b[crypto.randomInt(b.length)] = crypto.randomInt(256);
        line = b.toString('utf8');
      }
      try {
        decode(line);
        messages++;
      } catch (e) {
        assert.ok(e instanceof ProtocolError, `${JSON.stringify(line)}: ${(e as Error).stack}`);
        errors++;
      }
    }
    assert.ok(errors > 0 && messages > 0, `${messages} messages, ${errors} errors`);
    // The splitter: lines cut anywhere come out whole; a line past the limit is refused as it arrives.
    const text = valid.join('');
    const sp = new LineSplitter(() => 1 << 20);
    const got: string[] = [];
    for (let i = 0; i < text.length; i += 7) got.push(...sp.push(Buffer.from(text.slice(i, i + 7))));
    assert.deepEqual(got, valid.map((l) => l.trimEnd()));
    const small = new LineSplitter(() => 100);
    assert.throws(() => {
      for (let i = 0; i < 20; i++) small.push(Buffer.alloc(10, 0x41));
    }, /a line longer than 100 bytes/);
  });
});
