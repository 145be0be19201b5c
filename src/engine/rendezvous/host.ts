// Shard 0's side of the rendezvous: it listens, admits each of the other N-1 shards once (right
// run, right N, an index not taken), announces one start instant when all are ready, and then
// collects each shard's result document — or the reason it never came (the connection closed,
// the shard went silent). Every refusal is a line to the peer and a closed connection, never a
// hang; every wait has a deadline. Plain node:net sockets: see the layering note in common.ts.
import net from 'node:net';
import { address, HELLO_MS, LOST_MS, MAX_PENDING, MIN_LEAD_MS, PING_MS, RendezvousError, RendezvousOptions, shardList } from './common';
import { decode, encode, LineSplitter, MAX_HELLO_LINE, MAX_LINE, Message, ProtocolError } from './protocol';

interface Member {
  index: number;
  socket: net.Socket;
  from: string;
  ready: boolean;
  rttMs?: number;
  lastHeardMs: number;
  result?: unknown;
  /** Why this shard's result will not come. */
  lost?: string;
}

export interface Collected {
  /** Result documents by shard index (shard 0's own included). */
  docs: Map<number, unknown>;
  /** Shards whose result will not come, and why. */
  lost: Map<number, string>;
}

export class RendezvousHost {
  readonly #o: RendezvousOptions;
  readonly #server: net.Server;
  readonly #members = new Map<number, Member>();
  readonly #pending = new Set<net.Socket>();
  readonly #deadline: NodeJS.Timeout;
  readonly #pinger: NodeJS.Timeout;
  #ownReady = false;
  #startedAt: number | undefined;
  #failed: RendezvousError | undefined;
  #onStart: Array<{ resolve: (at: number) => void; reject: (e: Error) => void }> = [];
  #onChange: Array<() => void> = [];
  #closed = false;

  private constructor(o: RendezvousOptions, server: net.Server) {
    this.#o = o;
    this.#server = server;
    server.on('connection', (s) => this.#accept(s));
    this.#deadline = setTimeout(() => this.#joinDeadline(), o.timeoutMs);
    this.#pinger = setInterval(() => this.#tick(), PING_MS);
    this.#pinger.unref();
  }

  /** Listens on --rendezvous-bind (or the --rendezvous host): an address already in use is a one-line error. */
  static listen(o: RendezvousOptions): Promise<RendezvousHost> {
    const bind = o.bind ?? o.host;
    return new Promise((resolve, reject) => {
      const server = net.createServer({ noDelay: true });
      server.once('error', (e: NodeJS.ErrnoException) => {
        const why = e.code === 'EADDRINUSE' ? 'the port is in use' : e.code === 'EADDRNOTAVAIL' ? 'not an address of this machine (shard 0 listens on it: give --rendezvous-bind 0.0.0.0 when other shards reach it by another name)' : e.code === 'ENOTFOUND' ? 'no such host' : (e.code ?? e.message);
        reject(new RendezvousError(`shard 0 cannot listen for the rendezvous on ${address(bind, o.port)}: ${why}`));
      });
      server.listen({ host: bind, port: o.port }, () => {
        server.removeAllListeners('error');
        server.on('error', () => undefined);
        resolve(new RendezvousHost(o, server));
      });
    });
  }

  /** The port it listens on (the one asked for, or the kernel's choice for 0). */
  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** Shard 0's workers are set up: resolves the start instant once every shard is ready too. */
  ready(): Promise<number> {
    this.#ownReady = true;
    return new Promise((resolve, reject) => {
      if (this.#failed) return reject(this.#failed);
      if (this.#startedAt !== undefined) return resolve(this.#startedAt);
      this.#onStart.push({ resolve, reject });
      this.#maybeStart();
    });
  }

  /**
   * Shard 0's own result is `own`: waits until every other shard has sent its result or is gone
   * (closed, silent for LOST_MS), or `stop` resolves (a signal: the rest count as missing).
   */
  async collect(own: unknown, stop?: Promise<unknown>): Promise<Collected> {
    let stopped = false;
    void stop?.then(() => {
      stopped = true;
      this.#changed();
    });
    const others = () => [...Array(this.#o.count).keys()].slice(1);
    const settled = () => others().every((i) => this.#members.get(i)?.result !== undefined || this.#members.get(i)?.lost !== undefined || !this.#members.has(i));
    while (!settled() && !stopped) await new Promise<void>((r) => this.#onChange.push(r));
    const docs = new Map<number, unknown>([[0, own]]);
    const lost = new Map<number, string>();
    for (const i of others()) {
      const m = this.#members.get(i);
      if (m?.result !== undefined) docs.set(i, m.result);
      else lost.set(i, m?.lost ?? (m ? 'stopped waiting for its result (interrupted)' : 'never joined'));
    }
    return { docs, lost };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#deadline);
    clearInterval(this.#pinger);
    for (const s of this.#pending) s.destroy();
    for (const m of this.#members.values()) m.socket.end();
    this.#server.close();
    // Sockets still open after a moment (a peer that does not read) are cut.
    setTimeout(() => {
      for (const m of this.#members.values()) m.socket.destroy();
    }, 2000).unref();
  }

  #changed(): void {
    const waiting = this.#onChange;
    this.#onChange = [];
    for (const w of waiting) w();
  }

  #missing(): number[] {
    return [...Array(this.#o.count).keys()].slice(1).filter((i) => !this.#members.has(i));
  }

  #accept(socket: net.Socket): void {
    if (this.#closed || this.#pending.size >= MAX_PENDING) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const from = address(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
    let member: Member | undefined;
    this.#pending.add(socket);
    const helloTimer = setTimeout(() => refuse('no hello within 5 s: is this a shard of iocptls?'), HELLO_MS);
    const lines = new LineSplitter(() => (member ? MAX_LINE : MAX_HELLO_LINE));
    const refuse = (message: string) => {
      clearTimeout(helloTimer);
      this.#pending.delete(socket);
      if (!socket.destroyed) socket.end(encode({ type: 'error', message }));
      setTimeout(() => socket.destroy(), 1000).unref();
      if (member) this.#lose(member, `was refused: ${message}`);
    };
    socket.on('data', (chunk: Buffer) => {
      let msgs: Message[];
      try {
        msgs = lines.push(chunk).map(decode);
      } catch (e) {
        if (e instanceof ProtocolError) return refuse(e.message);
        throw e;
      }
      for (const m of msgs) {
        if (socket.destroyed) return;
        if (!member) {
          if (m.type !== 'hello') return refuse(`say hello first (got ${m.type})`);
          const why = this.#admit(m);
          if (why) return refuse(why);
          clearTimeout(helloTimer);
          this.#pending.delete(socket);
          member = { index: m.index, socket, from, ready: false, lastHeardMs: Date.now() };
          this.#members.set(m.index, member);
          this.#o.log?.(`rendezvous: shard ${m.index}/${this.#o.count} joined from ${from}${this.#missing().length ? `; waiting for ${shardList(this.#missing())}` : ''}`);
          this.#broadcastMissing();
          this.#ping(member);
          this.#changed();
          continue;
        }
        member.lastHeardMs = Date.now();
        const why = this.#handle(member, m);
        if (why) return refuse(why);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(helloTimer);
      this.#pending.delete(socket);
      if (member && member.result === undefined) this.#lose(member, this.#startedAt === undefined ? 'left the rendezvous before the start (its connection closed)' : 'disconnected mid-run (its connection closed before it sent its result: the process died or was killed?)');
    });
  }

  /** Why this hello is refused, if it is. */
  #admit(h: Extract<Message, { type: 'hello' }>): string | undefined {
    const n = this.#o.count;
    if (h.count !== n) return `this rendezvous is for ${n} shards, not ${h.count}: give every shard the same --shard I/${n}`;
    if (h.index === 0) return 'shard 0 is the one you are talking to: give every other shard its own index (1 to ' + (n - 1) + ')';
    if (h.index >= n) return `shard ${h.index} is not one of 0..${n - 1}`;
    if (h.run !== this.#o.run) return `shard ${h.index} runs a different bench than shard 0 (kind, target or load differ): give every shard the same command`;
    const had = this.#members.get(h.index);
    if (had) return `shard ${h.index} has already joined (from ${had.from}): is one shard running twice?`;
    if (this.#startedAt !== undefined) return 'the run has already started';
    if (this.#failed) return this.#failed.message;
    return undefined;
  }

  /** A message from a joined shard; returns why it is refused, if it is. */
  #handle(m: Member, msg: Message): string | undefined {
    switch (msg.type) {
      case 'ready':
        if (m.ready) return 'said ready twice';
        m.ready = true;
        this.#maybeStart();
        return undefined;
      case 'pong':
        if (msg.t <= Date.now() && msg.t > Date.now() - LOST_MS) m.rttMs = Date.now() - msg.t;
        return undefined;
      case 'ping':
        m.socket.write(encode({ type: 'pong', t: msg.t }));
        return undefined;
      case 'result':
        if (this.#startedAt === undefined) return 'sent a result before the start';
        if (m.result !== undefined) return 'sent its result twice';
        m.result = msg.doc;
        m.socket.write(encode({ type: 'done' }));
        this.#changed();
        return undefined;
      default:
        return `unexpected ${msg.type} from a shard`;
    }
  }

  #ping(m: Member): void {
    if (!m.socket.destroyed) m.socket.write(encode({ type: 'ping', t: Date.now() }));
  }

  #tick(): void {
    const now = Date.now();
    for (const m of this.#members.values()) {
      if (m.result !== undefined || m.lost) continue;
      if (now - m.lastHeardMs > LOST_MS) {
        this.#lose(m, `went silent for ${LOST_MS / 1000} s (no answer to pings: its host or network is gone?)`);
        m.socket.destroy();
      } else this.#ping(m);
    }
  }

  #broadcastMissing(): void {
    const missing = this.#missing();
    for (const m of this.#members.values()) if (!m.socket.destroyed) m.socket.write(encode({ type: 'welcome', missing }));
  }

  #maybeStart(): void {
    if (this.#startedAt !== undefined || this.#failed || !this.#ownReady) return;
    const members = [...this.#members.values()];
    if (members.length < this.#o.count - 1 || !members.every((m) => m.ready)) return;
    clearTimeout(this.#deadline);
    // A moment ahead: long enough for the announcement to reach every shard (4 of the slowest
    // round trips), never less than MIN_LEAD_MS (a busy host's event loop may take that long to read it).
    const rtt = Math.max(0, ...members.map((m) => m.rttMs ?? 0));
    const now = Date.now();
    const at = now + Math.max(MIN_LEAD_MS, Math.ceil(rtt * 4));
    this.#startedAt = at;
    for (const m of members) m.socket.write(encode({ type: 'start', atMs: at, sentMs: now }));
    this.#o.log?.(`rendezvous: all ${this.#o.count} shards ready; starting at ${new Date(at).toISOString()} (slowest round trip ${rtt.toFixed(1)} ms)`);
    for (const w of this.#onStart.splice(0)) w.resolve(at);
  }

  #lose(m: Member, why: string): void {
    if (m.lost || m.result !== undefined) return;
    m.lost = why;
    if (this.#startedAt === undefined) {
      // Before the start, a shard that leaves means the run cannot happen as asked: say so to everyone now.
      this.#fail(new RendezvousError(`shard ${m.index}/${this.#o.count} ${why}`));
    } else this.#o.log?.(`rendezvous: shard ${m.index}/${this.#o.count} ${why}`);
    this.#changed();
  }

  #joinDeadline(): void {
    if (this.#startedAt !== undefined || this.#failed) return;
    const missing = this.#missing();
    const notReady = [...this.#members.values()].filter((m) => !m.ready).map((m) => m.index).sort((a, b) => a - b);
    const s = this.#o.timeoutMs / 1000;
    const parts = [
      missing.length > 0 && `${shardList(missing)} of ${this.#o.count} did not join within ${s} s (--rendezvous-timeout)`,
      notReady.length > 0 && `${shardList(notReady)} joined but did not get ready`,
      !this.#ownReady && 'shard 0 itself did not get ready',
    ].filter(Boolean);
    this.#fail(new RendezvousError(`rendezvous at ${address(this.#o.host, this.#o.port)}: ${parts.join('; ')}`));
  }

  #fail(e: RendezvousError): void {
    if (this.#failed || this.#startedAt !== undefined) return;
    this.#failed = e;
    for (const m of this.#members.values()) if (!m.socket.destroyed) m.socket.end(encode({ type: 'abort', message: e.message }));
    for (const w of this.#onStart.splice(0)) w.reject(e);
  }
}
