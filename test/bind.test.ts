// --bind: outgoing connections come from the given local addresses, in turn, as an independent
// server (Node's tls, logging each socket's remoteAddress) sees them. 127.0.0.0/8 is all local on
// Linux, so 127.0.0.2 and 127.0.0.3 are real source addresses without any setup.
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { CERT } from './helpers/bench_peers';
import { dump, runCli, runCliJson } from './helpers/cli';

interface Observer {
  port: number;
  /** remoteAddress of every TCP connection accepted, in order. */
  remotes: string[];
  close(): Promise<void>;
}

function startObserver(): Promise<Observer> {
  const remotes: string[] = [];
  const server = tls.createServer({ ...CERT }, (s) => {
    s.on('error', () => {});
    s.on('data', () => {});
  });
  server.on('connection', (sock) => remotes.push(sock.remoteAddress ?? '?'));
  server.on('tlsClientError', () => {});
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      resolve({ port, remotes, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

const linux = process.platform === 'linux';

describe('--bind: source addresses of outgoing connections', function () {
  this.timeout(60_000);
  let obs: Observer;
  before(async function () {
    if (!linux) this.skip(); // 127.0.0.2 is local on Linux only
    obs = await startObserver();
  });
  after(async () => obs?.close());
  beforeEach(() => {
    if (obs) obs.remotes.length = 0;
  });

  it('connect --bind 127.0.0.2: the server sees 127.0.0.2; with a list, reconnects take the addresses in turn', async () => {
    let r = await runCli(['connect', `127.0.0.1:${obs.port}`, '--insecure', '--bind', '127.0.0.2']);
    assert.equal(r.code, 0, dump(r));
    assert.deepEqual(obs.remotes, ['127.0.0.2']);
    obs.remotes.length = 0;
    r = await runCli(['connect', `127.0.0.1:${obs.port}`, '--insecure', '--bind', '127.0.0.2,127.0.0.3', '--reconnect', '3']);
    assert.equal(r.code, 0, dump(r));
    assert.deepEqual(obs.remotes, ['127.0.0.2', '127.0.0.3', '127.0.0.2', '127.0.0.3']);
  });

  it('bench --bind 127.0.0.2,127.0.0.3: every connection from one of them, shared evenly', async () => {
    const r = await runCliJson(['bench', `127.0.0.1:${obs.port}`, '-n', '200', '-c', '4', '-w', '2', '--bind', '127.0.0.2,127.0.0.3']);
    assert.equal(r.code, 0, dump(r));
    await new Promise((res) => setTimeout(res, 200));
    const by: Record<string, number> = {};
    for (const a of obs.remotes) by[a] = (by[a] ?? 0) + 1;
    console.log(`      server saw ${JSON.stringify(by)}; our connects ${r.doc.totals.connects}`);
    assert.deepEqual(Object.keys(by).sort(), ['127.0.0.2', '127.0.0.3']);
    assert.equal(obs.remotes.length, r.doc.accounting.started);
    // Two workers, each alternating from a different first address: within a connection or two of even.
    assert.ok(Math.abs(by['127.0.0.2'] - by['127.0.0.3']) <= 2, JSON.stringify(by));
    assert.equal(r.doc.params.bind, '127.0.0.2,127.0.0.3');
  });

  it('bad --bind: one line, exit 2, before any connection', async () => {
    const cases: Array<[string, RegExp]> = [
      // TEST-NET-1 (RFC 5737): never an address of this machine; binding is refused locally, nothing is sent.
      ['192.0.2.1', /--bind 192\.0\.2\.1: not an address of this machine \(EADDRNOTAVAIL\)/],
      ['foo', /--bind foo: not an IP address/],
      ['::1', /--bind ::1 is IPv6 but the target 127\.0\.0\.1 is IPv4/],
      ['127.0.0.2,', /empty address/],
    ];
    for (const [bind, re] of cases) {
      for (const cmd of [['connect', `127.0.0.1:${obs.port}`, '--insecure'], ['bench', `127.0.0.1:${obs.port}`, '-n', '5']]) {
        const r = await runCli([...cmd, '--bind', bind]);
        assert.equal(r.code, 2, `${cmd[0]} --bind ${bind}\n${dump(r)}`);
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr, re);
      }
    }
    assert.deepEqual(obs.remotes, []);
  });
});
