// The scan's full-handshake probes: real TLS handshakes through the engine's OpenSSL sessions on a
// completion loop (as `connect` makes them), for what a ServerHello does not show: which chain
// the server sends per key type and name, OCSP staples and SCTs, which TLS 1.3 signature
// algorithms it signs with, session resumption by ID and ticket, 0-RTT, client-initiated
// renegotiation. Each request is one connection, so the host's probe limiter on the main thread
// caps them like the wire probes: a resumption check is a first request (the full handshake,
// whose sessions stay here under a key) and then one request per attempt.
// Runs on a worker thread (src/engine/workers/scan_session_worker.ts): loading OpenSSL's bindings and
// blocking in the port between turns must not stall the main thread's probe sockets.
import type { Connection } from '../connection';
import { IocptlsError } from '../errors';
import type { Loop, SockAddr } from '../loop';
import { TlsContext, TlsContextOptions, TlsVersion } from '../tls/context';
import type { SavedSession } from '../tls/saved_session';
import { knowsSigalgs, peerSctSources, requestOcspStaple, requestScts, SctSource, setClientSigalgs, stapledOcsp, ticketInfo } from '../tls/scan_controls';

export interface HandshakeRequest {
  kind: 'handshake';
  servername?: string;
  minVersion?: TlsVersion;
  maxVersion?: TlsVersion;
  /** Client signature_algorithms, OpenSSL names, colon-separated (picks the certificate the server uses). */
  sigalgs?: string;
  ocsp?: boolean;
  scts?: boolean;
  /** TLS 1.2: once the handshake is done, start a client-initiated renegotiation. */
  renegotiate?: boolean;
}

/** The full handshake of a resumption check: its sessions are kept here under `key` for the attempts. */
export interface ResumptionRequest {
  kind: 'resumption';
  servername?: string;
  mode: 'session-id' | 'ticket-tls12' | 'ticket-tls13';
}

/** One attempt offering a session kept by a ResumptionRequest (TLS 1.3: an unused ticket if there is one). */
export interface ResumeRequest {
  kind: 'resume';
  key: number;
  /** TLS 1.3: send this much early data (a HEAD request) with the ClientHello. */
  earlyData?: boolean;
  /** TLS 1.3: wait briefly for the ticket a resumption may bring (a later attempt needs it). */
  waitTicket?: boolean;
}

/** Frees the sessions kept under `key`. */
export interface ForgetRequest {
  kind: 'forget';
  key: number;
}

export type SessionRequest = HandshakeRequest | ResumptionRequest | ResumeRequest | ForgetRequest;

export interface HandshakeResult {
  ok: boolean;
  /** Why the handshake failed: the alert, 'closed', a timeout... */
  error?: string;
  protocol?: string;
  cipher?: string;
  /** The server's signature (type and digest as OpenSSL names them, e.g. 'ECDSA+SHA256', 'RSA-PSS+SHA384', 'ML-DSA-65'). */
  signature?: string;
  chain?: Uint8Array[];
  keyTypes?: string[];
  certSignatures?: string[];
  ocsp?: Uint8Array;
  /** Where each SCT came from; undefined when not asked or this libssl has no CT. */
  scts?: SctSource[];
  renegotiation?: { result: 'accepted' | 'refused' | 'not-started'; detail?: string };
}

export interface ResumptionResult {
  /** The first, full handshake failed (why). */
  error?: string;
  protocol?: string;
  /** The server gave what this mode resumes with (a session ID, a ticket); then `key` names the kept sessions. */
  issued: boolean;
  key?: number;
  /** TLS 1.3: tickets not yet offered. */
  fresh?: number;
  lifetimeHint?: number;
  maxEarlyData?: number;
  /** TLS 1.2 ticket bytes (for the Ticketbleed probe). */
  ticket?: Uint8Array;
}

export interface ResumeResult {
  ok: boolean;
  resumed: boolean;
  error?: string;
  /** TLS 1.3: the ticket offered had been offered before (no unused one was left). */
  reused?: boolean;
  /** TLS 1.3: tickets not yet offered, after this attempt. */
  fresh?: number;
  earlyData?: 'accepted' | 'rejected' | 'not-sent';
}

export interface ProbeEnv {
  loop: Loop;
  addr: SockAddr;
  timeoutMs: number;
  /** Asked every loop turn while the probes run (renegotiation and ticket waits watch their connections here). */
  pollers: Set<() => void>;
}

const contexts = new Map<string, TlsContext>();

/** One client context per version range and ticket setting: verify off (the certificate handshake in scan_cert.ts verifies). */
function contextFor(o: Omit<TlsContextOptions, 'role'>): TlsContext {
  const key = JSON.stringify(o);
  let c = contexts.get(key);
  if (!c) {
    // Every suite OpenSSL still has, so a server with only old ones still completes a handshake.
    c = new TlsContext({ role: 'client', verify: false, ciphers: 'ALL:@SECLEVEL=0', ...o });
    contexts.set(key, c);
  }
  return c;
}

export function freeContexts(): void {
  for (const c of contexts.values()) c.free();
  contexts.clear();
}

interface Conversation {
  conn: Connection;
  closed: Promise<IocptlsError | undefined>;
}

/** Opens a connection; `handler` hooks run on the loop. The promise settles when it has closed, with its error. */
function open(
  env: ProbeEnv,
  ctx: TlsContext,
  o: { servername?: string; resume?: SavedSession; onSession?: (s: SavedSession) => boolean },
  hooks: { onOpen?: (c: Connection) => void; onHandshake?: (c: Connection) => void }
): Conversation {
  let settle!: (e: IocptlsError | undefined) => void;
  const closed = new Promise<IocptlsError | undefined>((r) => (settle = r));
  const conn = env.loop.connect(env.addr, {
    context: ctx,
    servername: o.servername,
    resume: o.resume,
    onSession: o.onSession,
    timeoutMs: env.timeoutMs,
    handler: {
      onOpen: hooks.onOpen,
      onHandshake: hooks.onHandshake,
      onData() {
        // Nothing is asked of the server; whatever it sends (a banner, 0-RTT's answer) is dropped.
      },
      onClose: (_c, err) => settle(err),
    },
  });
  return { conn, closed };
}

function describeError(e: IocptlsError | undefined): string {
  if (!e) return 'connection closed before the handshake completed';
  return e.reason && e.reason !== 'error' ? e.reason : e.message;
}

export async function handshakeProbe(env: ProbeEnv, r: HandshakeRequest): Promise<HandshakeResult> {
  const ctx = contextFor({ minVersion: r.minVersion, maxVersion: r.renegotiate ? '1.2' : r.maxVersion });
  if (r.sigalgs && !knowsSigalgs(ctx, r.sigalgs)) return { ok: false, error: `this OpenSSL knows none of ${r.sigalgs}` };
  const out: HandshakeResult = { ok: false };
  let renegotiationStarted = false;
  let renegotiated = false;
  let conv: Conversation;
  try {
    conv = open(env, ctx, { servername: r.servername }, {
      onHandshake(c) {
        const s = c.session;
        const info = s.info();
        out.ok = true;
        out.protocol = info.protocol;
        out.cipher = info.cipher;
        out.signature = signatureName(info.peerSignatureType, info.peerSignatureDigest);
        out.chain = s.peerChainDer();
        out.keyTypes = s.peerChainKeyTypes();
        out.certSignatures = s.peerChainSignatureAlgorithms();
        if (r.ocsp) out.ocsp = stapledOcsp(s);
        if (r.scts) out.scts = peerSctSources(s);
        if (r.renegotiate) {
          let started = false;
          try {
            started = s.renegotiate();
          } catch (e) {
            out.renegotiation = { result: 'refused', detail: describeError(e as IocptlsError) };
            c.close('fin');
            return;
          }
          if (!started) {
            out.renegotiation = { result: 'not-started', detail: 'OpenSSL would not start a renegotiation (no RFC 5746 support from the server?)' };
            c.close('notify');
            return;
          }
          renegotiationStarted = true;
          c.setDeadline(performance.now() + env.timeoutMs, 'renegotiation');
          const poll = () => {
            if (!c.open) return env.pollers.delete(poll);
            if (!s.renegotiating) {
              renegotiated = true;
              env.pollers.delete(poll);
              c.setDeadline(0, '');
              c.close('notify');
            }
          };
          env.pollers.add(poll);
          return;
        }
        c.close('notify');
      },
    });
  } catch (e) {
    return { ok: false, error: describeError(e as IocptlsError) };
  }
  const { conn, closed } = conv;
  if (r.sigalgs && !setClientSigalgs(conn.session, r.sigalgs)) {
    conn.close('rst');
    await closed;
    return { ok: false, error: `this OpenSSL knows none of ${r.sigalgs}` };
  }
  if (r.ocsp) requestOcspStaple(conn.session);
  if (r.scts) requestScts(conn.session);
  const err = await closed;
  if (!out.ok) return { ok: false, error: describeError(err) };
  if (renegotiationStarted) out.renegotiation = renegotiated ? { result: 'accepted' } : { result: 'refused', detail: describeError(err) };
  return out;
}

interface Kept {
  ctx: TlsContext;
  servername?: string;
  tls13: boolean;
  /** TLS 1.2: the one session every attempt offers. TLS 1.3: tickets in arrival order, each offered once while unused ones remain. */
  sessions: SavedSession[];
  used: Set<SavedSession>;
}

const kept = new Map<number, Kept>();
let nextKey = 1;

/** The full handshake of a resumption check; its sessions are kept for `resume` requests. */
export async function resumptionProbe(env: ProbeEnv, r: ResumptionRequest): Promise<ResumptionResult> {
  const tls13 = r.mode === 'ticket-tls13';
  const ctx = contextFor(tls13 ? { minVersion: '1.3' } : { maxVersion: '1.2', tickets: r.mode === 'ticket-tls12' });
  const sessions: SavedSession[] = [];
  const first = await connectionFor(env, ctx, { servername: r.servername, onSession: (s) => (sessions.push(s), true) }, tls13 ? Math.min(env.timeoutMs, 1000) : 0);
  const usable = sessions.filter((s) => (r.mode === 'session-id' ? !s.hasTicket : s.hasTicket));
  for (const s of sessions) if (!usable.includes(s)) s.release();
  if (!first.ok) {
    for (const s of usable) s.release();
    return { error: first.error, issued: false };
  }
  const out: ResumptionResult = { protocol: first.protocol, issued: usable.length > 0 };
  if (!usable.length) return out;
  const t = ticketInfo(usable[0]);
  if (r.mode !== 'session-id') out.lifetimeHint = t.lifetimeHint;
  if (r.mode === 'ticket-tls12') out.ticket = t.ticket;
  if (tls13) {
    out.maxEarlyData = t.maxEarlyData;
    out.fresh = usable.length;
  }
  out.key = nextKey++;
  kept.set(out.key, { ctx, servername: r.servername, tls13, sessions: usable, used: new Set() });
  return out;
}

export async function resumeProbe(env: ProbeEnv, r: ResumeRequest): Promise<ResumeResult> {
  const k = kept.get(r.key);
  if (!k) return { ok: false, resumed: false, error: 'no such session' };
  let offer: SavedSession;
  let reused = false;
  if (k.tls13) {
    // RFC 8446 C.4: a ticket is for one use; an unused one while there is any, else the newest again.
    const unused = k.sessions.find((s) => !k.used.has(s));
    reused = !unused;
    offer = unused ?? k.sessions[k.sessions.length - 1];
    k.used.add(offer);
  } else offer = k.sessions[0];
  // Kept until forget: another attempt may still be offering it.
  const a = await connectionFor(env, k.ctx, { servername: k.servername, resume: offer, earlyData: r.earlyData ? EARLY_DATA : undefined, onSession: k.tls13 ? (s) => (k.sessions.push(s), true) : undefined },
    // A resumed TLS 1.3 handshake may bring a new ticket for a later attempt: a short wait for it, when asked.
    k.tls13 && r.waitTicket ? Math.min(env.timeoutMs, 250) : 0
  );
  const fresh = k.tls13 ? k.sessions.filter((s) => !k.used.has(s)).length : undefined;
  if (!a.ok) return { ok: false, resumed: false, error: a.error, reused: k.tls13 ? reused : undefined, fresh };
  return { ok: true, resumed: !!a.resumed, reused: k.tls13 ? reused : undefined, fresh, earlyData: r.earlyData ? a.earlyData : undefined };
}

export function forget(r: ForgetRequest): { ok: true } {
  const k = kept.get(r.key);
  kept.delete(r.key);
  for (const s of k?.sessions ?? []) s.release();
  return { ok: true };
}

/** What 0-RTT carries: a request any HTTP server may answer twice, as browsers send it. */
const EARLY_DATA = Buffer.from('HEAD / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');

async function connectionFor(
  env: ProbeEnv,
  ctx: TlsContext,
  o: { servername?: string; resume?: SavedSession; onSession?: (s: SavedSession) => boolean; earlyData?: Buffer },
  /** TLS 1.3: how long to wait for a ticket after the handshake, ms (0: close at once). */
  waitTicketMs: number
): Promise<{ ok: boolean; error?: string; protocol?: string; resumed?: boolean; earlyData?: 'accepted' | 'rejected' | 'not-sent' }> {
  let ok = false;
  let protocol: string | undefined;
  let resumed = false;
  let earlyData: 'accepted' | 'rejected' | 'not-sent' = 'not-sent';
  let tickets = 0;
  const onSession = o.onSession && ((s: SavedSession) => (tickets++, o.onSession!(s)));
  let conv: Conversation;
  try {
    conv = open(env, ctx, { servername: o.servername, resume: o.resume, onSession }, {
      onOpen(c) {
        if (o.earlyData && !c.session.writeEarlyData(o.earlyData)) earlyData = 'not-sent';
      },
      onHandshake(c) {
        ok = true;
        const info = c.session.info();
        protocol = info.protocol;
        resumed = info.resumed;
        if (o.earlyData) earlyData = c.session.earlyDataStatus();
        if (!waitTicketMs || tickets > 0) return c.close('notify');
        // A TLS 1.3 server sends its tickets once it has our Finished: about one round trip after
        // our handshake completed. Wait three TCP connect times (one RTT each), within the cap.
        const rtt = c.tConnected - c.tStart;
        const until = performance.now() + Math.min(waitTicketMs, Math.max(150, 3 * rtt));
        const poll = () => {
          if (!c.open) return env.pollers.delete(poll);
          if (tickets > 0 || performance.now() >= until) {
            env.pollers.delete(poll);
            c.close('notify');
          }
        };
        env.pollers.add(poll);
      },
    });
  } catch (e) {
    return { ok: false, error: describeError(e as IocptlsError) };
  }
  const err = await conv.closed;
  return ok ? { ok, protocol, resumed, earlyData } : { ok, error: describeError(err) };
}

/** 'ECDSA+SHA256', 'RSA-PSS+SHA384', 'ED25519', 'ML-DSA-65': OpenSSL calls an ECDSA signature's type by its key's OID name. */
function signatureName(type: string | undefined, digest: string | undefined): string | undefined {
  if (!type) return undefined;
  const t = type === 'id-ecPublicKey' ? 'ECDSA' : type.toUpperCase() === 'RSASSA-PSS' ? 'RSA-PSS' : type;
  return digest && digest !== 'UNDEF' ? `${t}+${digest}` : t;
}
