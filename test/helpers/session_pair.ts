// Two TlsSessions back to back in memory, wired the way the loop wires a session to a socket:
// what one writes (writeTls) the other reads (readTls), as much as its pair takes.
import * as assert from 'node:assert/strict';
import { TlsContext, TlsContextOptions } from '../../src/engine/tls/context';
import { ReadResult, SessionOptions, TlsSession } from '../../src/engine/tls/session';
import { fixture } from './cli';

export const wire = Buffer.alloc(256 * 1024);

/** Moves ciphertext from one session to the other, as much as the receiver's pair takes; returns bytes moved. */
export function move(from: TlsSession, to: TlsSession): number {
  let total = 0;
  for (;;) {
    const space = to.tlsSpace();
    if (space === 0) break;
    const n = from.writeTls(wire, Math.min(space, wire.length));
    if (n === 0) break;
    assert.equal(to.readTls(wire, n), n, 'readTls takes all that fits');
    total += n;
  }
  return total;
}

export interface Pair {
  c: TlsSession;
  s: TlsSession;
  contexts: TlsContext[];
  free(): void;
}

export function pair(server: Omit<TlsContextOptions, 'role'>, client: Omit<TlsContextOptions, 'role'>, clientSession: SessionOptions = {}): Pair {
  const sctx = new TlsContext({ role: 'server', certs: [{ cert: fixture('localhost.pem'), key: fixture('localhost.key') }], ...server });
  const cctx = new TlsContext({ role: 'client', verify: true, ca: fixture('ca.pem'), ...client });
  const s = new TlsSession(sctx);
  const c = new TlsSession(cctx, { servername: 'localhost', verifyHost: 'localhost', ...clientSession });
  return {
    c,
    s,
    contexts: [sctx, cctx],
    free() {
      c.free();
      s.free();
      sctx.free();
      cctx.free();
    },
  };
}

/**
 * Drives a handshake the way the loop must: a session runs when ciphertext arrived for it, or when
 * it said it wants to write (its outgoing pair was full) and some of that was moved out. Nothing
 * else ever runs it. Returns how many times each side stopped on a full pair.
 */
export function handshake(p: Pair): { clientWantsWrite: number; serverWantsWrite: number } {
  const seen = { clientWantsWrite: 0, serverWantsWrite: 0 };
  let cRun = true;
  let sRun = false;
  let cDone = false;
  let sDone = false;
  for (let i = 0; i < 10_000; i++) {
    if (cRun) cDone = p.c.handshake();
    if (sRun) sDone = p.s.handshake();
    if (p.c.wantsWrite) seen.clientWantsWrite++;
    if (p.s.wantsWrite) seen.serverWantsWrite++;
    const toServer = move(p.c, p.s);
    const toClient = move(p.s, p.c);
    cRun = toClient > 0 || (p.c.wantsWrite && toServer > 0);
    sRun = toServer > 0 || (p.s.wantsWrite && toClient > 0);
    if (cDone && sDone && !toServer && !toClient) return seen;
    if (!cRun && !sRun) throw new Error(`handshake stalled (client done ${cDone}, server done ${sDone}, client wantsWrite ${p.c.wantsWrite}, server wantsWrite ${p.s.wantsWrite})`);
  }
  throw new Error('handshake did not finish');
}

/** Reads everything readable; returns the bytes, or 'closed' when close_notify came. */
export function readAll(t: TlsSession, into?: Buffer[]): number | 'closed' {
  const buf = Buffer.alloc(12_345); // odd on purpose
  let total = 0;
  for (;;) {
    const n = t.read(buf, buf.length);
    if (n === ReadResult.Closed) return 'closed';
    if (n <= 0) return total;
    into?.push(Buffer.from(buf.subarray(0, n)));
    total += n;
  }
}

