// A wire conversation that goes on past the server's first flight: send our ClientHello, read up
// to the ServerHelloDone through the wire/ reader, then send each of `steps` in turn and note
// what the server answered to it (plaintext alerts, other record types, a close, silence). For
// the CCS injection check, whose answer is an alert (or its absence) after an early
// ChangeCipherSpec. Outcomes are data, never throws.
//
// Same LAYERING EXCEPTION as exchange.ts (a node:net socket, not the engine's loop): the loop's
// connections all own an OpenSSL session, and these bytes are our own.
import net from 'node:net';
import { alertName, ContentType } from '../wire/constants';
import { WireError } from '../wire/errors';
import { ServerEvent, ServerReader } from '../wire/reader';

export interface StepReply {
  /** Alerts in the plaintext records the server sent after this step. */
  alerts: { level: number; name: string }[];
  /** Content types of every record it sent after this step. */
  types: number[];
  /** It closed (FIN or reset) after this step. */
  closed: boolean;
  /** Nothing came within the step's wait. */
  silent: boolean;
}

export interface ConversationResult {
  /** 'answer': reached ServerHelloDone and ran the steps; otherwise how the first flight ended. */
  kind: 'answer' | 'alert' | 'closed' | 'reset' | 'timeout' | 'refused' | 'unreachable' | 'malformed';
  events: ServerEvent[];
  error?: string;
  replies: StepReply[];
}

export function conversation(o: { host: string; port: number; timeoutMs: number; hello: Buffer; steps: Buffer[]; stepWaitMs: number }): Promise<ConversationResult> {
  return new Promise((resolve) => {
    const reader = new ServerReader();
    const events: ServerEvent[] = [];
    const replies: StepReply[] = [];
    let tail: Buffer = Buffer.alloc(0);
    let step = -1;
    let settled = false;
    const sock = net.connect({ host: o.host, port: o.port });
    sock.setNoDelay(true);
    let timer = setTimeout(() => finish('timeout', `no ServerHelloDone in ${o.timeoutMs} ms`), o.timeoutMs);
    function finish(kind: ConversationResult['kind'], error?: string) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ kind, events, error, replies });
    }
    const nextStep = () => {
      clearTimeout(timer);
      step++;
      if (step >= o.steps.length) return finish('answer');
      replies.push({ alerts: [], types: [], closed: false, silent: true });
      sock.write(o.steps[step]);
      timer = setTimeout(nextStep, o.stepWaitMs);
    };
    // After the first flight we only need record boundaries: alerts before any server CCS are plaintext.
    const records = (d: Buffer) => {
      tail = tail.length ? Buffer.concat([tail, d]) : d;
      const r = replies[replies.length - 1];
      while (tail.length >= 5) {
        const len = tail.readUInt16BE(3);
        if (tail.length < 5 + len) break;
        const type = tail[0];
        r.types.push(type);
        r.silent = false;
        if (type === ContentType.Alert && len === 2) r.alerts.push({ level: tail[5], name: alertName(tail[6]) });
        tail = tail.subarray(5 + len);
      }
      // A fatal alert ends the conversation: nothing more will come.
      if (r.alerts.some((a) => a.level === 2)) finish('answer');
    };
    sock.on('connect', () => sock.write(o.hello));
    sock.on('data', (d: Buffer) => {
      if (step >= 0) return records(d);
      let got: ServerEvent[];
      try {
        got = reader.feed(d);
      } catch (e) {
        return finish('malformed', e instanceof WireError ? e.message : String(e));
      }
      events.push(...got);
      const alert = got.find((e) => e.type === 'alert');
      if (alert) return finish('alert');
      if (got.some((e) => e.type === 'serverHelloDone')) return nextStep();
      if (reader.finished) return finish('malformed', 'the server did not send a ServerHelloDone');
    });
    const closed = (reset: boolean) => {
      if (step >= 0) {
        replies[replies.length - 1].closed = true;
        replies[replies.length - 1].silent = false;
        return finish('answer');
      }
      finish(reset ? 'reset' : 'closed', reset ? 'ECONNRESET' : undefined);
    };
    sock.on('end', () => closed(false));
    sock.on('close', () => closed(false));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? '';
      if (code === 'ECONNRESET' || code === 'EPIPE') return closed(true);
      if (step >= 0) return closed(true);
      finish(code === 'ECONNREFUSED' ? 'refused' : 'unreachable', code || e.message);
    });
  });
}
