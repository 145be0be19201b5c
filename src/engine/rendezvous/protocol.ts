// The rendezvous wire format: JSON lines over TCP, one message per line, every message with the
// protocol version `v`. Sans-I/O: bytes in, messages (or one error naming the cause) out, so a
// hostile or confused peer is refused with words, never a crash or a hang (test/rendezvous_protocol).
//
//   shard → shard 0   hello {index, count, run}      who I am and which run I belong to
//   shard 0 → shard   welcome {missing}              accepted; these shards have not joined yet
//   shard → shard 0   ready                          my workers are set up: I can start at once
//   shard 0 → shard   start {atMs, sentMs}           begin at atMs (shard 0's wall clock)
//   both ways         ping {t} / pong {t}            liveness, and the round trip shard 0 sizes its lead by
//   shard → shard 0   result {doc}                   my result document, when my run is over
//   shard 0 → shard   done                           received: you may exit
//   shard 0 → shard   abort {message}                the run will not happen (or is over): why
//   either            error {message}                you sent something I refuse: why (then the line closes)

export const PROTOCOL_VERSION = 1;

/** A line before the peer has said who it is (hello): small. */
export const MAX_HELLO_LINE = 4096;
/** Any line after that: a result document with per-second histograms, --rounds included, fits many times over. */
export const MAX_LINE = 64 * 1024 * 1024;

export type Message =
  | { type: 'hello'; index: number; count: number; run: string }
  | { type: 'welcome'; missing: number[] }
  | { type: 'ready' }
  | { type: 'start'; atMs: number; sentMs: number }
  | { type: 'ping'; t: number }
  | { type: 'pong'; t: number }
  | { type: 'result'; doc: unknown }
  | { type: 'done' }
  | { type: 'abort'; message: string }
  | { type: 'error'; message: string };

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export function encode(m: Message): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, ...m }) + '\n';
}

const isIndex = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const isTime = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isText = (x: unknown): x is string => typeof x === 'string' && x.length <= 4096;

/** One line (without its newline) as a message; ProtocolError says what is wrong with it. */
export function decode(line: string): Message {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    throw new ProtocolError(`not a JSON line: ${preview(line)}`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new ProtocolError(`not a message object: ${preview(line)}`);
  const m = o as Record<string, unknown>;
  if (m.v !== PROTOCOL_VERSION) {
    throw new ProtocolError(`rendezvous protocol version ${JSON.stringify(m.v ?? null)}, but this iocptls speaks version ${PROTOCOL_VERSION}: run one iocptls version on every shard`);
  }
  switch (m.type) {
    case 'hello':
      if (!isIndex(m.index) || !isIndex(m.count) || m.count < 1 || !isText(m.run)) throw new ProtocolError('hello needs index, count (integers) and run (text)');
      return { type: 'hello', index: m.index, count: m.count, run: m.run };
    case 'welcome':
      if (!Array.isArray(m.missing) || !m.missing.every(isIndex) || m.missing.length > 10_000) throw new ProtocolError('welcome needs missing (a list of shard numbers)');
      return { type: 'welcome', missing: m.missing as number[] };
    case 'ready':
      return { type: 'ready' };
    case 'done':
      return { type: 'done' };
    case 'start':
      if (!isTime(m.atMs) || !isTime(m.sentMs)) throw new ProtocolError('start needs atMs and sentMs (epoch ms)');
      return { type: 'start', atMs: m.atMs, sentMs: m.sentMs };
    case 'ping':
    case 'pong':
      if (!isTime(m.t)) throw new ProtocolError(`${m.type} needs t (a number)`);
      return { type: m.type, t: m.t };
    case 'result':
      if (typeof m.doc !== 'object' || m.doc === null) throw new ProtocolError('result needs doc (a result document)');
      return { type: 'result', doc: m.doc };
    case 'abort':
    case 'error':
      if (!isText(m.message)) throw new ProtocolError(`${m.type} needs message (text)`);
      return { type: m.type, message: m.message };
    default:
      throw new ProtocolError(`unknown message type ${preview(JSON.stringify(m.type ?? null))}`);
  }
}

function preview(s: string): string {
  const t = s.length > 60 ? `${s.slice(0, 60)}...` : s;
  return JSON.stringify(t);
}

/**
 * Splits a byte stream into lines, each at most `limit()` bytes (checked as bytes arrive, so an
 * endless line is refused before it is buffered whole). Throws ProtocolError past the limit.
 */
export class LineSplitter {
  #parts: Buffer[] = [];
  #size = 0;
  constructor(private readonly limit: () => number) {}

  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, from);
      if (nl < 0) break;
      const piece = chunk.subarray(from, nl);
      this.#check(piece.length);
      this.#parts.push(piece);
      lines.push(Buffer.concat(this.#parts).toString('utf8').replace(/\r$/, ''));
      this.#parts = [];
      this.#size = 0;
      from = nl + 1;
    }
    if (from < chunk.length) {
      const rest = chunk.subarray(from);
      this.#check(rest.length);
      // A copy: the caller's buffer may be reused.
      this.#parts.push(Buffer.from(rest));
      this.#size += rest.length;
    }
    return lines;
  }

  #check(more: number): void {
    if (this.#size + more > this.limit()) throw new ProtocolError(`a line longer than ${this.limit()} bytes`);
  }
}
