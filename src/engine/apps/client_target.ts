// Where and how a client app connects (the bench loads and the connect probe alike), and the one
// call that opens such a connection: the fields every client passes to loop.connect as given.
import type { ConnHandler, Connection } from '../connection';
import type { ConnectOptions, Loop, SockAddr } from '../loop';
import type { TlsContext } from '../tls/context';
import type { SavedSession } from '../tls/saved_session';

export interface ClientTarget {
  loop: Loop;
  addr: SockAddr;
  context: TlsContext;
  servername?: string;
  verifyHost?: string;
  /** Connect + handshake timeout, ms. */
  timeoutMs: number;
  /** The local address each new connection binds to (--bind, in turn); the kernel's choice when absent. */
  source?: () => SockAddr | undefined;
}

/** Opens one connection to the target from its next source address (one options object, as loop.connect takes it). */
export function connectTo(t: ClientTarget, resume: SavedSession | undefined, onSession: ConnectOptions['onSession'], handler: ConnHandler): Connection {
  return t.loop.connect(t.addr, {
    source: t.source?.(),
    context: t.context,
    servername: t.servername,
    verifyHost: t.verifyHost,
    resume,
    timeoutMs: t.timeoutMs,
    onSession,
    handler,
  });
}

/** Takes the items in turn, starting at `first` (so that workers begin on different source addresses). */
export function roundRobin<T>(items: readonly T[], first = 0): (() => T) | undefined {
  if (items.length === 0) return undefined;
  let i = first % items.length;
  return () => {
    const item = items[i];
    i = (i + 1) % items.length;
    return item;
  };
}
