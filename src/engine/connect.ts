// `connect`, from the main thread: one client TLS context, then a probe (one connection, its
// data exchange, its reconnects) on a completion port and loop of its own. The command parses
// flags and renders; assembling port, loop and context is the engine's business.
import { roundRobin } from './apps/client_target';
import { ProbeOptions, ProbeResult, runProbe } from './apps/probe';
import { Loop } from './loop';
import { createPort } from './port';
import type { Backend } from './port/types';
import { TlsContext, TlsContextOptions } from './tls/context';

export type ProbeSettings = Omit<ProbeOptions, 'loop' | 'addr' | 'context' | 'source'> & {
  /** Local addresses to connect from, in turn (--bind). */
  sources?: string[];
};

export interface ConnectClientOptions {
  backend: Backend;
  tls: Omit<TlsContextOptions, 'role'>;
}

export class ConnectClient {
  readonly #context: TlsContext;

  /** Builds the client context: a bad option (file, cipher, group...) throws a ConfigError here, before any network. */
  constructor(readonly options: ConnectClientOptions) {
    this.#context = new TlsContext({ ...options.tls, role: 'client' });
  }

  get backend(): Backend {
    return this.options.backend;
  }

  /** Where the certificates we verify against come from (for the report), if we verify. */
  get trust(): string | undefined {
    return this.#context.trust?.describe;
  }

  /**
   * Connects to ip:port and runs the probe; throws an IocptlsError when the first connection fails.
   * `shared`: a loop the caller keeps (and destroys) for many probes, several at once (the scan's
   * certificate threads); by default the probe has a port and loop of its own.
   */
  async probe(target: { ip: string; port: number }, settings: ProbeSettings, shared?: Loop): Promise<ProbeResult> {
    const loop = shared ?? new Loop(createPort(this.options.backend));
    try {
      const { sources, ...rest } = settings;
      const source = sources?.length ? roundRobin(sources.map((ip) => loop.port.sockaddr(ip, 0))) : undefined;
      return await runProbe({ ...rest, source, loop, addr: loop.port.sockaddr(target.ip, target.port), context: this.#context });
    } finally {
      if (!shared) loop.destroy();
    }
  }

  close(): void {
    this.#context.free();
  }
}
