// `serve --mode http` against what real clients send, with clients we did not write: openssl
// s_client (bare-LF requests, ALPN), curl, python3's ssl (pipelining without reading) and Node's
// tls (slowloris). Each checks the client's view and the server's own totals.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { dump, fixture, runCli } from './helpers/cli';
import { CA, dumpServe, ServeProcess, sleep, startServe, until } from './helpers/serve';

const run = promisify(execFile);
const CERT = ['--cert', fixture('localhost.pem'), '--key', fixture('localhost.key')];

/** Pipes `input` into `openssl s_client -quiet` and resolves with everything it printed on stdout once the server closed. */
function sClient(port: number, input: string, more: string[] = [], timeoutMs = 10_000): Promise<{ out: string; err: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const c = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-quiet', '-CAfile', fixture('ca.pem'), '-servername', 'localhost', ...more], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d.toString('latin1')));
    c.stderr.on('data', (d) => (err += d.toString('latin1')));
    const t = setTimeout(() => {
      c.kill();
      reject(new Error(`s_client got no close within ${timeoutMs} ms; stdout: ${out.slice(0, 500)} stderr: ${err.slice(-500)}`));
    }, timeoutMs);
    c.on('close', (code) => {
      clearTimeout(t);
      resolve({ out, err, code });
    });
    // Keep stdin open (s_client -quiet stops at stdin's EOF): the server's close must end it.
    c.stdin.write(input);
  });
}

/** VmRSS of a process, bytes. */
function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

describe('serve --mode http: real clients', function () {
  this.timeout(60_000);
  let servers: ServeProcess[] = [];
  const serve = async (args: string[]) => {
    const s = await startServe(['--mode', 'http', ...args]);
    servers.push(s);
    return s;
  };
  afterEach(async () => {
    await Promise.all(servers.map((s) => s.stop('SIGKILL', 2000)));
    servers = [];
  });

  it("bare LF: printf 'GET / HTTP/1.0\\n\\n' | openssl s_client gets a 200 (RFC 9112 §2.2)", async () => {
    const s = await serve(CERT);
    const r = await sClient(s.port, 'GET / HTTP/1.0\n\n');
    assert.match(r.out, /^HTTP\/1\.1 200 OK\r\n/, r.out + r.err);
    assert.match(r.out, /\r\nContent-Length: 2\r\n(.*\r\n)*\r\nok$/);
    // Mixed endings and empty lines before the request line, two pipelined requests, keep-alive then close.
    const two = await sClient(s.port, '\r\nGET /a HTTP/1.1\nHost: x\r\n\nGET /b HTTP/1.1\r\nConnection: close\n\r\n');
    assert.equal((two.out.match(/HTTP\/1\.1 200 OK/g) ?? []).length, 2, two.out);
    const x = await s.stop();
    assert.equal(x.code, 0, dumpServe(x));
    assert.equal(x.doc.totals.roundTrips, 3);
    assert.deepEqual(x.doc.totals.errors, {});
  });

  it('malformed heads get 400, oversized ones 431, chunked bodies 501, each then closed; the server keeps serving', async () => {
    const s = await serve(CERT);
    const bad = await sClient(s.port, 'GET / HTTP/1.1\r\nBad Header\r\n\r\n');
    assert.match(bad.out, /^HTTP\/1\.1 400 Bad Request\r\n/, bad.out);
    const big = await sClient(s.port, `GET / HTTP/1.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(big.out, /^HTTP\/1\.1 431 /, big.out);
    // A head that never ends is refused once it passes the limit, without waiting for its end.
    const endless = await sClient(s.port, `GET / HTTP/1.1\r\nX-Big: ${'a'.repeat(20_000)}`);
    assert.match(endless.out, /^HTTP\/1\.1 431 /, endless.out);
    const chunked = await sClient(s.port, 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    assert.match(chunked.out, /^HTTP\/1\.1 501 /, chunked.out);
    const ok = await run('curl', ['-s', '--cacert', fixture('ca.pem'), '--resolve', `localhost:${s.port}:127.0.0.1`, `https://localhost:${s.port}/`]);
    assert.equal(ok.stdout, 'ok');
    const x = await s.stop();
    assert.equal(x.code, 0, dumpServe(x));
    assert.deepEqual(x.doc.totals.errors, {
      'http: 400 bad request': 1,
      'http: 431 request header too large': 2,
      'http: 501 chunked request body': 1,
    });
    assert.deepEqual(x.doc.leftover, { connections: 0, recvBuffers: 0, pendingOps: 0, listeners: 0 });
  });

  it('slowloris: 100 clients sending a byte a second get 408 and are closed at --header-timeout; others are served meanwhile', async () => {
    const timeoutMs = 3000;
    const s = await serve(['--header-timeout', String(timeoutMs), '--workers', '2', ...CERT]);
    const N = 100;
    const t0 = Date.now();
    const outcomes = await Promise.all(
      Array.from({ length: N }, () =>
        new Promise<{ reply: string; closedAfterMs: number; sent: number }>((resolve, reject) => {
          const c = tls.connect({ host: '127.0.0.1', port: s.port, ca: CA, servername: 'localhost' });
          let reply = '';
          let sent = 0;
          let timer: NodeJS.Timeout | undefined;
          const head = 'GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ' + 'a'.repeat(1000);
          c.on('secureConnect', () => {
            const drip = () => {
              if (sent < head.length && !c.destroyed) c.write(head[sent++]);
              timer = setTimeout(drip, 1000);
            };
            drip();
          });
          c.on('data', (d) => (reply += d.toString('latin1')));
          c.on('error', () => {});
          c.on('close', () => {
            clearTimeout(timer);
            resolve({ reply, closedAfterMs: Date.now() - t0, sent });
          });
          setTimeout(() => {
            c.destroy();
            reject(new Error(`still open after 30 s (sent ${sent} bytes)`));
          }, 30_000);
        })
      )
    );
    // While they dripped (or right after), a normal client was served.
    const ok = await run('curl', ['-s', '--cacert', fixture('ca.pem'), '--resolve', `localhost:${s.port}:127.0.0.1`, `https://localhost:${s.port}/`]);
    assert.equal(ok.stdout, 'ok');
    for (const o of outcomes) {
      assert.match(o.reply, /^HTTP\/1\.1 408 Request Timeout\r\n/, JSON.stringify(o));
      assert.ok(o.sent >= 2 && o.sent < 20, `closed after ${o.sent} bytes`);
    }
    const last = Math.max(...outcomes.map((o) => o.closedAfterMs));
    console.log(`      ${N} slow clients all got 408 and were closed; the last ${last} ms after the first connect (timeout ${timeoutMs} ms)`);
    const x = await s.stop();
    assert.equal(x.code, 0, dumpServe(x));
    assert.equal(x.doc.totals.errors['http: 408 request header timeout'], N, JSON.stringify(x.doc.totals.errors));
    assert.deepEqual(x.doc.leftover, { connections: 0, recvBuffers: 0, pendingOps: 0, listeners: 0 });
  });

  it('an idle keep-alive connection is closed quietly at the header timeout (no 408 without a request)', async () => {
    const s = await serve(['--header-timeout', '1500', ...CERT]);
    const c = tls.connect({ host: '127.0.0.1', port: s.port, ca: CA, servername: 'localhost' });
    let reply = '';
    c.on('data', (d) => (reply += d.toString('latin1')));
    await new Promise((r) => c.once('secureConnect', r));
    c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => c.once('close', r));
    assert.equal((reply.match(/HTTP\/1\.1 /g) ?? []).length, 1, reply);
    assert.match(reply, /^HTTP\/1\.1 200 OK/);
    const x = await s.stop();
    assert.deepEqual(x.doc.totals.errors, {});
  });

  it('pipelining bounded: 2,000 GETs never read (--body-size 65536) cost little memory, then all 2,000 arrive in order', async function () {
    const s = await serve(['--workers', '1', '--body-size', '65536', ...CERT]);
    // Warm up the code paths (JIT, first allocations) before the baseline.
    await run('curl', ['-s', '-o', '/dev/null', '--cacert', fixture('ca.pem'), '--resolve', `localhost:${s.port}:127.0.0.1`, `https://localhost:${s.port}/`]);
    await sleep(300);
    const before = rss(s.pid);
    const py = spawn('python3', ['-c', PIPELINER, String(s.port), fixture('ca.pem')], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    py.stdout.on('data', (d) => (out += d));
    py.stderr.on('data', (d) => (err += d));
    await until(() => out.includes('sent'), `python sent its requests (stderr: ${err})`, 15_000);
    await sleep(1500); // the server has seen what it will read
    const during = rss(s.pid);
    py.stdin.end('read\n'); // now read everything
    const code = await new Promise<number | null>((r) => py.on('close', r));
    assert.equal(code, 0, out + err);
    const m = /responses (\d+) bytes (\d+) inorder (\w+)/.exec(out);
    assert.ok(m, out + err);
    assert.equal(Number(m[1]), 2000);
    assert.equal(m[3], 'True');
    const growth = during - before;
    console.log(`      RSS ${Math.round(before / 1048576)} MB -> ${Math.round(during / 1048576)} MB with 2,000 unread pipelined responses of 64 KiB (+${(growth / 1048576).toFixed(1)} MB)`);
    assert.ok(growth < 12 * 1048576, `RSS grew ${(growth / 1048576).toFixed(1)} MB`);
    const x = await s.stop();
    assert.equal(x.code, 0, dumpServe(x));
    assert.equal(x.doc.totals.roundTrips, 2001);
  });

  it('ALPN: a client offering http/1.1 alone gets http/1.1; one offering only h3 gets alert 120; --alpn h2c is refused', async () => {
    const s = await serve(CERT);
    const c = tls.connect({ host: '127.0.0.1', port: s.port, ca: CA, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
    await new Promise((r) => c.once('secureConnect', r));
    assert.equal(c.alpnProtocol, 'http/1.1');
    c.destroy();
    const h3 = await sClient(s.port, '', ['-alpn', 'h3']).catch((e) => ({ out: '', err: String(e), code: -1 }));
    assert.match(h3.err, /no application protocol|alert number 120/, h3.err);
    const bad = await runCli(['serve', '--mode', 'http', '--alpn', 'h2c,http/1.1', '--port', '0']);
    assert.equal(bad.code, 2, dump(bad));
    assert.match(bad.stderr, /^iocptls: --alpn h2c: --mode http speaks h2 \(HTTP\/2 over TLS\) and HTTP\/1\.x only/);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
  });
});

// python3 ssl: sends 2,000 pipelined GETs (the last asks to close) without reading, says "sent",
// waits for a line on stdin, then reads every response and checks each in turn.
const PIPELINER = `
import socket, ssl, sys, threading
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
t = ctx.wrap_socket(socket.create_connection(('127.0.0.1', port)), server_hostname='localhost')
reqs = b''.join(b'GET /%d HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n' % i for i in range(1999)) + b'GET /last HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n'
done = threading.Event()
def send():
    t.sendall(reqs)
    done.set()
threading.Thread(target=send, daemon=True).start()
# The server stops reading while it cannot send: the requests may not all fit in the kernel buffers.
done.wait(3)
print('sent', flush=True)
sys.stdin.readline()
buf = bytearray()
n, total, inorder = 0, 0, True
while True:
    d = t.recv(1 << 20)
    if not d:
        break
    total += len(d)
    buf += d
    while True:
        end = buf.find(b'\\r\\n\\r\\n')
        if end < 0:
            break
        head = buf[:end].decode('latin1')
        length = int([l.split(':')[1] for l in head.split('\\r\\n') if l.lower().startswith('content-length')][0])
        if len(buf) < end + 4 + length:
            break
        inorder = inorder and head.startswith('HTTP/1.1 200 OK') and length == 65536
        del buf[:end + 4 + length]
        n += 1
print('responses %d bytes %d inorder %s' % (n, total, inorder), flush=True)
`;
