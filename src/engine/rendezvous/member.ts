// The side of shards 1..N-1: connect to shard 0 (retrying until the deadline: in a Kubernetes Job
// its name resolves only once its pod runs), say hello, say ready when the workers are set up,
// learn the start instant, and send the result document when the run is over. Plain node:net
// sockets: see the layering note in common.ts.
import dns from 'node:dns/promises';
import net from 'node:net';
import { address, LOST_MS, PING_MS, RendezvousError, RendezvousOptions, shardList } from './common';
import { decode, encode, LineSplitter, MAX_LINE, Message, ProtocolError } from './protocol';

/** Between connection attempts. */
const RETRY_MS = 500;
/** One connection attempt, DNS included. */
const ATTEMPT_MS = 3000;
/** After its own deadline, a shard waits this much longer for shard 0's word on who is missing (shard 0 knows; it may have started later). */
const GRACE_MS = 5000;

export class RendezvousMember {
  readonly #o: RendezvousOptions;
  readonly #socket: net.Socket;
  readonly #deadlineAt: number;
  #missing: number[] = [];
  #lastHeardMs = Date.now();
  #start: number | undefined;
  #gone: RendezvousError | undefined;
  #waiters: Array<() => void> = [];
  #done = false;
  readonly #watch: NodeJS.Timeout;

  private constructor(o: RendezvousOptions, socket: net.Socket, deadlineAt: number, missing: number[]) {
    this.#o = o;
    this.#socket = socket;
    this.#deadlineAt = deadlineAt;
    this.#missing = missing;
    this.#watch = setInterval(() => {
      if (!this.#gone && !this.#done && Date.now() - this.#lastHeardMs > LOST_MS) {
        this.#goneWith(`shard 0 at ${address(o.host, o.port)} went silent for ${LOST_MS / 1000} s`);
        socket.destroy();
      }
    }, PING_MS);
    this.#watch.unref();
  }

  /** Connects (retrying until `timeoutMs` from now) and is admitted by shard 0; a refusal or the deadline is a RendezvousError. */
  static async join(o: RendezvousOptions): Promise<RendezvousMember> {
    const deadlineAt = Date.now() + o.timeoutMs;
    const where = address(o.host, o.port);
    let lastError = '';
    let loggedAt = 0;
    for (;;) {
      const left = deadlineAt - Date.now();
      if (left <= 0) throw new RendezvousError(`shard ${o.index}/${o.count}: shard 0 at ${where} could not be reached within ${o.timeoutMs / 1000} s (--rendezvous-timeout): ${lastError || 'no answer'}`);
      try {
        const { socket, lines, rest, welcome } = await attempt(o, Math.min(left, ATTEMPT_MS));
        const m = new RendezvousMember(o, socket, deadlineAt, welcome.missing);
        m.#listen(lines, rest);
        o.log?.(`rendezvous: shard ${o.index}/${o.count} joined shard 0 at ${where}${welcome.missing.length ? `; waiting for ${shardList(welcome.missing)}` : ''}`);
        return m;
      } catch (e) {
        if (e instanceof RendezvousError) throw e;
        lastError = (e as Error).message;
      }
      if (Date.now() - loggedAt > 10_000) {
        o.log?.(`rendezvous: shard ${o.index}/${o.count} waiting for shard 0 at ${where} (${lastError})`);
        loggedAt = Date.now();
      }
      await new Promise((r) => setTimeout(r, Math.min(RETRY_MS, Math.max(0, deadlineAt - Date.now()))));
    }
  }

  /** This shard's workers are set up: resolves the start instant (epoch ms, shard 0's clock) once shard 0 announces it. */
  async ready(): Promise<number> {
    this.#send({ type: 'ready' });
    const giveUpAt = this.#deadlineAt + GRACE_MS;
    const timer = setTimeout(() => this.#wake(), Math.max(0, giveUpAt - Date.now()));
    try {
      while (this.#start === undefined && !this.#gone && Date.now() < giveUpAt) await new Promise<void>((r) => this.#waiters.push(r));
    } finally {
      clearTimeout(timer);
    }
    if (this.#start !== undefined) return this.#start;
    if (this.#gone) throw this.#gone;
    const missing = this.#missing.length ? `; shard 0 last said ${shardList(this.#missing)} had not joined` : '';
    throw new RendezvousError(`shard ${this.#o.index}/${this.#o.count}: no start from shard 0 within ${this.#o.timeoutMs / 1000} s (--rendezvous-timeout)${missing}`);
  }

  /** Sends the result document; resolves when shard 0 has it. A connection that is gone is a RendezvousError. */
  async sendResult(doc: unknown): Promise<void> {
    if (this.#gone) throw this.#gone;
    let received = false;
    this.#onDone = () => (received = true);
    this.#send({ type: 'result', doc });
    while (!received && !this.#gone) await new Promise<void>((r) => this.#waiters.push(r));
    if (!received) throw this.#gone!;
    this.#done = true;
  }

  close(): void {
    this.#done = true;
    clearInterval(this.#watch);
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), 2000).unref();
  }

  #onDone: () => void = () => undefined;

  #send(m: Message): void {
    if (!this.#socket.destroyed) this.#socket.write(encode(m));
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  #goneWith(message: string): void {
    if (this.#gone) return;
    this.#gone = new RendezvousError(message);
    this.#wake();
  }

  /** Reads the rest of the connection with the splitter that read the welcome (it may hold part of the next line) and the lines that came after it. */
  #listen(lines: LineSplitter, rest: string[]): void {
    const from = `shard 0 at ${address(this.#o.host, this.#o.port)}`;
    const onLines = (got: () => string[]) => {
      this.#lastHeardMs = Date.now();
      let msgs: Message[];
      try {
        msgs = got().map(decode);
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        this.#goneWith(`${from} sent what this shard cannot read: ${e.message}`);
        this.#socket.destroy();
        return;
      }
      for (const m of msgs) this.#handle(m, from);
    };
    this.#socket.on('data', (chunk: Buffer) => onLines(() => lines.push(chunk)));
    this.#socket.on('error', () => undefined);
    this.#socket.on('close', () => {
      clearInterval(this.#watch);
      if (!this.#done) this.#goneWith(`${from} closed the connection ${this.#start === undefined ? 'before the start' : 'before taking this shard\'s result (shard 0 died or was stopped?)'}`);
    });
    if (rest.length) onLines(() => rest);
  }

  #handle(m: Message, from: string): void {
    switch (m.type) {
      case 'welcome':
        this.#missing = m.missing;
        return;
      case 'ping':
        this.#send({ type: 'pong', t: m.t });
        return;
      case 'pong':
        return;
      case 'start': {
        if (this.#start !== undefined) return;
        // The instant is shard 0's clock: a clock here that reads it very differently makes the shards start apart.
        const announcedLead = m.atMs - m.sentMs;
        const localLead = m.atMs - Date.now();
        const off = announcedLead - localLead;
        if (Math.abs(off) > 100) this.#o.log?.(`rendezvous: warning: this machine's clock and shard 0's differ by about ${off.toFixed(0)} ms (or the announcement took that long): the shards will not start together; keep the clocks in sync (NTP)`);
        this.#start = m.atMs;
        this.#wake();
        return;
      }
      case 'done':
        this.#onDone();
        this.#wake();
        return;
      case 'abort':
        this.#goneWith(m.message);
        return;
      case 'error':
        this.#goneWith(`${from} refused this shard: ${m.message}`);
        return;
      default:
        this.#goneWith(`${from} sent an unexpected ${m.type}`);
        this.#socket.destroy();
    }
  }
}

/** One connection attempt: resolve, connect, hello, and the welcome (or shard 0's refusal, a RendezvousError). */
async function attempt(o: RendezvousOptions, timeoutMs: number): Promise<{ socket: net.Socket; lines: LineSplitter; rest: string[]; welcome: { missing: number[] } }> {
  const ip = net.isIP(o.host) ? o.host : (await withTimeout(dns.lookup(o.host), timeoutMs, `resolving ${o.host} took over ${timeoutMs} ms`)).address;
  const socket = net.connect({ host: ip, port: o.port, noDelay: true });
  return new Promise((resolve, reject) => {
    const lines = new LineSplitter(() => MAX_LINE);
    const fail = (e: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(e);
    };
    const timer = setTimeout(() => fail(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.once('error', (e: NodeJS.ErrnoException) => fail(new Error(e.code ?? e.message)));
    socket.once('connect', () => socket.write(encode({ type: 'hello', index: o.index, count: o.count, run: o.run })));
    socket.on('close', () => fail(new Error('closed without a word')));
    const onData = (chunk: Buffer) => {
      let lineList: string[];
      try {
        lineList = lines.push(chunk);
      } catch (e) {
        return fail(new RendezvousError(`shard 0 at ${address(o.host, o.port)}: ${(e as Error).message}`));
      }
      for (let k = 0; k < lineList.length; k++) {
        let m: Message;
        try {
          m = decode(lineList[k]);
        } catch (e) {
          return fail(new RendezvousError(`shard 0 at ${address(o.host, o.port)} answered what this shard cannot read: ${(e as Error).message}`));
        }
        if (m.type === 'error' || m.type === 'abort') return fail(new RendezvousError(`shard ${o.index}/${o.count}: shard 0 at ${address(o.host, o.port)} refused this shard: ${m.message}`));
        if (m.type !== 'welcome') return fail(new RendezvousError(`shard 0 at ${address(o.host, o.port)} answered hello with ${m.type}`));
        clearTimeout(timer);
        socket.removeAllListeners('data');
        socket.removeAllListeners('close');
        socket.removeAllListeners('error');
        socket.on('error', () => undefined);
        // Whatever followed the welcome in this read (a ping) goes to the member's own reader.
        return resolve({ socket, lines, rest: lineList.slice(k + 1), welcome: m });
      }
    };
    socket.on('data', onData);
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]).finally(() => clearTimeout(timer));
}
