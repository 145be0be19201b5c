// The `connect` probe: one connection that reports what was negotiated and how long each step
// took, optionally exchanges data (--send, or stdin to stdout), then resumption attempts.
import { performance } from 'node:perf_hooks';
import type { Connection } from '../connection';
import { IocptlsError } from '../errors';
import type { SavedSession } from '../tls/saved_session';
import type { HandshakeBytes, NegotiatedInfo } from '../tls/session';
import { ClientSessionStore } from '../tls/client_sessions';
import { type ClientTarget, connectTo } from './client_target';

export interface ProbeOptions extends ClientTarget {
  /** Bytes to send once the handshake is done. */
  send?: Buffer;
  /** Streamed to the connection after the handshake (stdin). */
  input?: AsyncIterable<Buffer>;
  /** Receives the peer's plaintext. */
  onOutput?: (data: Buffer) => void;
  /** How long to keep reading after the last byte before closing, when data was sent. */
  quietMs: number;
  /** How long to wait for a TLS 1.3 session ticket when there is no data exchange. */
  ticketWaitMs: number;
  reconnect: number;
}

export interface AttemptResult {
  connectMs: number;
  handshakeMs: number;
  /** Absent only for a reconnect that failed before its handshake completed. */
  negotiated?: NegotiatedInfo;
  /** TLS record bytes this client sent and received for the handshake (absent when it did not complete). */
  handshakeBytes?: HandshakeBytes;
  tickets: number;
  /** What ended a reconnect early (the first connection throws instead). */
  error?: IocptlsError;
}

export interface ProbeResult extends AttemptResult {
  negotiated: NegotiatedInfo;
  handshakeBytes: HandshakeBytes;
  ttfbMs?: number;
  bytesSent: number;
  bytesReceived: number;
  chainDer: Buffer[];
  chainSignatureAlgorithms: string[];
  /** Key type of each chain certificate, as the loaded OpenSSL names it. */
  chainKeyTypes: string[];
  verify: { ok: boolean; message: string };
  closedBy: 'us' | 'peer';
  reconnects: AttemptResult[];
}

export async function runProbe(o: ProbeOptions): Promise<ProbeResult> {
  const sessions = new ClientSessionStore();
  try {
    const first = await attempt(o, undefined, sessions, true);
    const reconnects: AttemptResult[] = [];
    for (let i = 0; i < o.reconnect; i++) {
      const resume = sessions.take();
      try {
        reconnects.push(await attempt(o, resume, sessions, false));
      } catch (e) {
        // A failed reconnect is a result to report (and count), not the end of the run.
        if (!(e instanceof IocptlsError)) throw e;
        reconnects.push({ connectMs: 0, handshakeMs: 0, tickets: 0, error: e });
      } finally {
        // The SSL took its own reference.
        resume?.release();
      }
    }
    return { ...(first as ProbeResult), reconnects };
  } finally {
    sessions.free();
  }
}

async function attempt(
  o: ProbeOptions,
  resume: SavedSession | undefined,
  sessions: ClientSessionStore,
  full: boolean
): Promise<ProbeResult | AttemptResult> {
  const { loop } = o;
  let tickets = 0;
  let handshaken = false;
  let closed = false;
  let closeError: IocptlsError | undefined;
  let closedBy: 'us' | 'peer' = 'us';
  let firstByteAt = 0;
  let sentAt = 0;
  let lastByteAt = 0;
  let bytesSent = 0;
  let bytesReceived = 0;
  let info: NegotiatedInfo | undefined;
  let handshakeBytes: HandshakeBytes | undefined;
  let chainDer: Buffer[] = [];
  let chainSig: string[] = [];
  let chainKeys: string[] = [];
  let verify = { ok: false, message: '' };
  const pending: Buffer[] = [];
  let inputDone = !o.input || !full;

  const flushPending = (c: Connection) => {
    while (pending.length) {
      const b = pending[0];
      const n = c.write(b, b.length);
      bytesSent += n;
      if (n < b.length) {
        pending[0] = b.subarray(n);
        return;
      }
      pending.shift();
    }
  };

  const onSession = (sess: SavedSession): boolean => {
    // TLS 1.3 announces each NewSessionTicket; TLS 1.2 announces the session at handshake end.
    if (sess.hasTicket) tickets++;
    return sessions.add(sess);
  };
  const conn = connectTo(o, resume, onSession, {
    onHandshake(c) {
      handshaken = true;
      info = c.session.info();
      handshakeBytes = c.session.handshakeBytes();
      chainDer = c.session.peerChainDer();
      chainSig = c.session.peerChainSignatureAlgorithms();
      chainKeys = c.session.peerChainKeyTypes();
      verify = c.session.verifyResult();
      if (full && o.send) {
        sentAt = performance.now();
        pending.push(o.send);
        flushPending(c);
      }
    },
    onData(c, data) {
      const now = performance.now();
      if (!firstByteAt) firstByteAt = now;
      lastByteAt = now;
      bytesReceived += data.length;
      o.onOutput?.(Buffer.from(data));
    },
    onDrain(c) {
      flushPending(c);
    },
    onPeerClose(c) {
      closedBy = 'peer';
      c.close('notify');
    },
    onClose(_c, err) {
      closed = true;
      closeError = err;
    },
  });

  await loop.runAsync(() => handshaken || closed);
  if (!handshaken) {
    if (closeError) throw closeError;
    throw new IocptlsError('connection closed before the handshake completed');
  }

  // Data phase: stdin or --send, then wait until the peer goes quiet or closes.
  if (full && o.input) {
    void (async () => {
      for await (const chunk of o.input!) {
        if (closed) break;
        if (!sentAt) sentAt = performance.now();
        pending.push(chunk);
        flushPending(conn);
      }
      inputDone = true;
    })();
  }
  const exchanging = full && (o.send !== undefined || o.input !== undefined);
  const ticketWanted = info!.protocol === 'TLSv1.3';
  const deadline = performance.now() + o.ticketWaitMs;
  await loop.runAsync(() => {
    if (closed) return true;
    const now = performance.now();
    if (exchanging) {
      if (!inputDone || pending.length) return false;
      const last = Math.max(lastByteAt, sentAt);
      return now - last >= o.quietMs;
    }
    return !ticketWanted || tickets > 0 || now >= deadline;
  });
  if (!closed) {
    conn.close('notify');
    await loop.runAsync(() => closed);
  }
  // A connection that fails after its handshake (a TLS 1.3 server rejecting our certificate
  // sends its alert only then; a reset in the middle of the reply) is a failed connect.
  if (full && closeError) throw closeError;
  const base: AttemptResult = {
    connectMs: conn.tConnected - conn.tStart,
    handshakeMs: conn.tHandshake - conn.tConnected,
    negotiated: info!,
    handshakeBytes,
    tickets,
    error: closeError,
  };
  if (!full) return base;
  return {
    ...base,
    ttfbMs: firstByteAt && sentAt ? firstByteAt - sentAt : undefined,
    bytesSent,
    bytesReceived,
    chainDer,
    chainSignatureAlgorithms: chainSig,
    chainKeyTypes: chainKeys,
    verify,
    closedBy,
    reconnects: [],
  };
}
