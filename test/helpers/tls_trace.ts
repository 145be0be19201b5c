// An independent observer of handshake bytes: OpenSSL's own protocol tracer (SSL_trace), as
// printed by `openssl s_server -trace` / `s_client -trace` and by a Node.js TLS server with
// enableTrace. Each record it prints has its length and content type (and, for TLS 1.3, the
// inner content type and the messages inside), so which records belong to the handshake can be
// told without our code: plaintext Handshake and ChangeCipherSpec records, and encrypted
// records whose inner type is Handshake, except TLS 1.3's post-handshake messages
// (NewSessionTicket, KeyUpdate). Alerts and application data are never handshake.
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TraceRecord {
  direction: 'sent' | 'received';
  /** Record payload length (the 5-byte header is on top). */
  length: number;
  contentType: number;
  innerContentType?: number;
  /** Message names in the record, e.g. ['ClientHello'], ['NewSessionTicket']. */
  messages: string[];
}

const POST_HANDSHAKE = new Set(['NewSessionTicket', 'KeyUpdate']);

/** The records in a trace, in order (OpenSSL 3.0 says 'Sent Record', 3.5 'Sent TLS Record'). */
export function parseTrace(text: string): TraceRecord[] {
  const out: TraceRecord[] = [];
  let cur: TraceRecord | undefined;
  let headerLength = true;
  for (const line of text.split('\n')) {
    const start = /^(Sent|Received) (?:TLS )?Record$/.exec(line);
    if (start) {
      cur = { direction: start[1] === 'Sent' ? 'sent' : 'received', length: -1, contentType: -1, messages: [] };
      headerLength = true;
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    let m: RegExpExecArray | null;
    if ((m = /^ {2}Content Type = .*\((\d+)\)$/.exec(line))) cur.contentType = Number(m[1]);
    else if ((m = /^ {2}Inner Content Type = .*\((\d+)\)$/.exec(line))) cur.innerContentType = Number(m[1]);
    else if (headerLength && (m = /^ {2}Length = (\d+)$/.exec(line))) {
      cur.length = Number(m[1]);
      headerLength = false;
    } else if ((m = /^ {4}([A-Za-z]+), Length=\d+$/.exec(line))) cur.messages.push(m[1]);
  }
  return out;
}

/** Whether a record is part of the handshake (see the file comment). */
export function isHandshakeRecord(r: TraceRecord): boolean {
  // ChangeCipherSpec (in TLS 1.3 too, for middlebox compatibility), and every plaintext
  // handshake record: a TLS 1.2 NewSessionTicket comes before the server's Finished.
  if (r.contentType === 20 || r.contentType === 22) return true;
  // TLS 1.3: encrypted; after the Finished messages come tickets and key updates.
  return r.contentType === 23 && r.innerContentType === 22 && !r.messages.some((m) => POST_HANDSHAKE.has(m));
}

export interface ObservedHandshake {
  /** Handshake record bytes (headers included) the traced side sent / received. */
  sent: number;
  received: number;
  /** Whether the server sent a Certificate (false: a resumed handshake). */
  full: boolean;
}

/**
 * One entry per connection, as the traced side saw it. A connection begins with a ClientHello;
 * a second ClientHello before both Finished messages went by is the same connection's answer
 * to a HelloRetryRequest. A Certificate message marks a full handshake (no client auth here).
 */
export function handshakesInTrace(text: string): ObservedHandshake[] {
  const out: (ObservedHandshake & { finished: number })[] = [];
  for (const r of parseTrace(text)) {
    const last = out[out.length - 1];
    if (r.messages.includes('ClientHello') && (!last || last.finished >= 2)) out.push({ sent: 0, received: 0, full: false, finished: 0 });
    const hs = out[out.length - 1];
    if (!hs || !isHandshakeRecord(r)) continue;
    hs[r.direction] += r.length + 5;
    if (r.messages.includes('Certificate')) hs.full = true;
    if (r.messages.includes('Finished')) hs.finished++;
  }
  return out.map(({ sent, received, full }) => ({ sent, received, full }));
}

/** A Node.js TLS server (this node's own TLS stack) with enableTrace, in a child process so its trace (fd 2) can be read. */
export interface TraceServer {
  port: number;
  proc: ChildProcess;
  /** Stops it and returns everything it traced. */
  stop(): Promise<string>;
}

export interface TraceServerOptions {
  cert: string;
  key: string;
  /** Node's ecdhCurve: groups the server accepts, e.g. 'X25519MLKEM768:X25519'. */
  groups?: string;
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export function startTraceServer(o: TraceServerOptions): Promise<TraceServer> {
  const child = path.join(__dirname, 'trace_server_child.js');
  // The trace goes to a file, not a pipe: OpenSSL writes it with fwrite, and node makes its stdio
  // pipes non-blocking, so a pipe that fills up would silently lose records.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-trace-'));
  const file = path.join(dir, 'trace.txt');
  const fd = fs.openSync(file, 'w');
  const proc = spawn(process.execPath, [child, JSON.stringify(o)], { stdio: ['ignore', 'pipe', fd] });
  fs.closeSync(fd);
  live.add(proc);
  proc.once('close', () => live.delete(proc));
  const read = () => {
    const text = fs.readFileSync(file, 'latin1');
    fs.rmSync(dir, { recursive: true, force: true });
    return text;
  };
  let out = '';
  let started = false;
  const closed = new Promise<void>((r) => proc.once('close', () => r()));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => (proc.kill('SIGKILL'), reject(new Error('trace server did not start'))), 15_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (!m) return;
      clearTimeout(t);
      started = true;
      resolve({
        port: Number(m[1]),
        proc,
        stop: async () => {
          proc.kill('SIGTERM');
          await closed;
          return read();
        },
      });
    });
    void closed.then(() => {
      if (!started) reject(new Error(`trace server exited: ${read().slice(-2000)}`));
    });
  });
}
