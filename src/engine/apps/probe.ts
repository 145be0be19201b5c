// The `connect` probe: one connection that reports what was negotiated and how long each step
// took, optionally exchanges data (--send, or stdin to stdout), then resumption attempts.
import { performance } from 'node:perf_hooks';
import { openssl } from '../../../native/openssl';
import type { Connection } from '../connection';
import { IocptlsError } from '../errors';
import type { Loop } from '../loop';
import type { SockAddr } from '../port/types';
import type { TlsContext } from '../tls/context';
import type { NegotiatedInfo } from '../tls/session';

export interface ProbeOptions {
  loop: Loop;
  addr: SockAddr;
  context: TlsContext;
  servername?: string;
  verifyHost?: string;
  timeoutMs: number;
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
  negotiated: NegotiatedInfo;
  tickets: number;
  error?: IocptlsError;
}

export interface ProbeResult extends AttemptResult {
  ttfbMs?: number;
  bytesSent: number;
  bytesReceived: number;
  chainDer: Buffer[];
  chainSignatureAlgorithms: string[];
  verify: { ok: boolean; message: string };
  closedBy: 'us' | 'peer';
  reconnects: AttemptResult[];
}

export async function runProbe(o: ProbeOptions): Promise<ProbeResult> {
  let session: bigint | undefined;
  const keep = (sess: bigint) => {
    if (session) openssl().SSL_SESSION_free(session);
    session = sess;
    return true;
  };
  try {
    const first = await attempt(o, undefined, keep, true);
    const reconnects: AttemptResult[] = [];
    for (let i = 0; i < o.reconnect; i++) {
      const r = await attempt(o, session, keep, false);
      reconnects.push(r);
    }
    return { ...(first as ProbeResult), reconnects };
  } finally {
    if (session) openssl().SSL_SESSION_free(session);
  }
}

async function attempt(
  o: ProbeOptions,
  resume: bigint | undefined,
  keep: (s: bigint) => boolean,
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
  let chainDer: Buffer[] = [];
  let chainSig: string[] = [];
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

  const conn = loop.connect(o.addr, {
    context: o.context,
    servername: o.servername,
    verifyHost: o.verifyHost,
    resume,
    timeoutMs: o.timeoutMs,
    onSession: (sess) => {
      // TLS 1.3 announces each NewSessionTicket; TLS 1.2 announces the session at handshake end.
      if (openssl().SSL_SESSION_has_ticket(sess)) tickets++;
      return keep(sess);
    },
    handler: {
      onHandshake(c) {
        handshaken = true;
        info = c.session.info();
        chainDer = c.session.peerChainDer();
        chainSig = c.session.peerChainSignatureAlgorithms();
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
  const base: AttemptResult = {
    connectMs: conn.tConnected - conn.tStart,
    handshakeMs: conn.tHandshake - conn.tConnected,
    negotiated: info!,
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
    verify,
    closedBy,
    reconnects: [],
  };
}
