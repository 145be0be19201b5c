// Drives a real CompletionPort in tests: every prep goes through here so that "each operation
// completes exactly once with its own token" is checked on every completion, and teardown
// follows the port contract (cancel, wait for the completions, then free buffers and close).
import koffi from 'koffi';
import * as c from '../../native/libc';
import { CompletionPort, NO_BUFFER, SockAddr, errorName } from '../../src/engine/port/types';

export interface NativeBuffer {
  ptr: bigint;
  len: number;
  view: Uint8Array;
}

const immediate = () => new Promise<void>((r) => setImmediate(r));

export class PortHarness {
  /** Tokens posted and not completed yet. */
  readonly inflight = new Set<number>();
  /** Result of every completed token. */
  readonly results = new Map<number, number>();
  #fds = new Set<number>();
  #bufs: bigint[] = [];
  #next = 1;
  #tokens = new Uint32Array(256);
  #res = new Int32Array(256);
  #bufIds = new Uint32Array(256);
  /** Buffers prepRecvSelect completions named, not yet taken (token -> buffer id). */
  readonly selected = new Map<number, number>();
  /** What port.close() reported as leaked, once disposed. */
  leaked = -1;

  constructor(readonly port: CompletionPort) {}

  /** Remembers a socket so teardown closes it. */
  track(fd: number): number {
    this.#fds.add(fd);
    return fd;
  }

  buffer(len: number): NativeBuffer {
    // koffi's allocator rather than libc's malloc: the same on Linux and Windows.
    const ptr = koffi.alloc('uint8_t', len) as bigint;
    if (!ptr) throw new Error('koffi.alloc failed');
    this.#bufs.push(ptr);
    return { ptr, len, view: c.nativeView(ptr, len) };
  }

  listener(): { fd: number; port: number; addr: SockAddr } {
    const l = this.port.openListener('127.0.0.1', 0, 1024);
    this.track(l.fd);
    return { ...l, addr: this.port.sockaddr('127.0.0.1', l.port) };
  }

  socket(): number {
    return this.track(this.port.openSocket(4));
  }

  #post(post: (token: number) => void): number {
    const t = this.#next++;
    this.inflight.add(t);
    post(t);
    return t;
  }
  accept(listenFd: number): number {
    return this.#post((t) => this.port.prepAccept(listenFd, t));
  }
  connect(fd: number, addr: SockAddr): number {
    return this.#post((t) => this.port.prepConnect(fd, addr, t));
  }
  recv(fd: number, buf: bigint, len: number): number {
    return this.#post((t) => this.port.prepRecv(fd, buf, len, t));
  }
  send(fd: number, buf: bigint, len: number): number {
    return this.#post((t) => this.port.prepSend(fd, buf, len, t));
  }
  /** A receive whose buffer the port picks; take its bytes with takeData. */
  recvSelect(fd: number, maxLen: number): number {
    return this.#post((t) => this.port.prepRecvSelect(fd, maxLen, t));
  }
  sendv(fd: number, a: bigint, alen: number, b: bigint, blen: number): number {
    return this.#post((t) => this.port.prepSendv(fd, a, alen, b, blen, t));
  }
  /** Copies out the bytes a completed prepRecvSelect received and gives its buffer back (empty at EOF or error). */
  takeData(token: number): Buffer {
    const res = this.results.get(token);
    if (res === undefined) throw new Error(`token ${token} has not completed`);
    const id = this.selected.get(token);
    if (id === undefined) {
      if (res > 0) throw new Error(`receive ${token} got ${res} bytes but named no buffer`);
      return Buffer.alloc(0);
    }
    this.selected.delete(token);
    const out = Buffer.from(c.nativeView(this.port.recvBuffer(id), res));
    this.port.releaseRecvBuffer(id);
    return out;
  }
  close(fd: number): number {
    this.#fds.delete(fd);
    return this.#post((t) => this.port.prepClose(fd, t));
  }
  timeout(ms: number): number {
    return this.#post((t) => this.port.prepTimeout(ms, t));
  }
  cancel(target: number): number {
    return this.#post((t) => this.port.prepCancel(target, t));
  }

  /** One loop turn: submit, wait up to waitMs for a completion, dispatch what is ready. */
  turn(waitMs: number, onCompletion?: (token: number, res: number) => void): number {
    this.port.submitAndWait(1, waitMs);
    let total = 0;
    for (;;) {
      const n = this.port.reap(this.#tokens, this.#res, this.#bufIds);
      for (let i = 0; i < n; i++) {
        const t = this.#tokens[i];
        if (this.#bufIds[i] !== NO_BUFFER) {
          if (this.#res[i] <= 0) throw new Error(`token ${t} named buffer ${this.#bufIds[i]} with result ${this.#res[i]}`);
          this.selected.set(t, this.#bufIds[i]);
        }
        if (!this.inflight.has(t)) {
          throw new Error(`token ${t} completed (${this.#res[i]}) but was not in flight${this.results.has(t) ? ': completed twice' : ''}`);
        }
        this.inflight.delete(t);
        this.results.set(t, this.#res[i]);
        onCompletion?.(t, this.#res[i]);
      }
      total += n;
      if (n < this.#tokens.length) return total;
    }
  }

  /**
   * Turns the loop until done() holds. Between turns the Node event loop runs, so in-process
   * Node peers (net servers and clients) make progress; a turn blocks at most 2 ms.
   */
  async run(done: () => boolean, onCompletion?: (token: number, res: number) => void, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`port loop timed out; in flight: ${[...this.inflight].join(',') || 'none'}`);
      this.turn(2, onCompletion);
      await immediate();
    }
  }

  /** Waits for these tokens and returns their results, in order. */
  async wait(tokens: number[], timeoutMs = 5000): Promise<number[]> {
    await this.run(() => tokens.every((t) => this.results.has(t)), undefined, timeoutMs);
    return tokens.map((t) => this.results.get(t)!);
  }

  /** Cancels whatever is still in flight, waits for it, then closes sockets, the port, and frees buffers. */
  async dispose(): Promise<void> {
    try {
      const targets = [...this.inflight];
      for (const t of targets) this.cancel(t);
      await this.run(() => this.inflight.size === 0, undefined, 2000);
    } finally {
      for (const fd of this.#fds) this.port.closeNow(fd);
      this.#fds.clear();
      for (const id of this.selected.values()) this.port.releaseRecvBuffer(id);
      this.selected.clear();
      this.leaked = this.port.close();
      for (const p of this.#bufs) koffi.free(p);
      this.#bufs = [];
    }
  }
}

/** 'ECONNREFUSED (-111)' for readable assertion messages. */
export function describeResult(res: number): string {
  return res >= 0 ? String(res) : `${errorName(res)} (${res})`;
}
