// Resumption through tls/: SavedSession handles (one reference each, released once) and the
// ClientSessionStore that bench and connect resume from, in memory with two sessions back to back.
import * as assert from 'node:assert/strict';
import { SavedSession } from '../src/engine/tls/saved_session';
import { TlsSession } from '../src/engine/tls/session';
import { ClientSessionStore } from '../src/engine/tls/client_sessions';
import { handshake, move, pair, Pair, readAll } from './helpers/session_pair';

describe('TlsSession resumption (sans-I/O)', () => {
  const pairs: Pair[] = [];
  const track = (p: Pair) => (pairs.push(p), p);
  afterEach(() => {
    for (const p of pairs.splice(0)) p.free();
  });

    for (const version of ['1.3', '1.2'] as const) {
      it(`TLS ${version}: a saved session resumes; the store hands tickets out once`, () => {
        const v = { minVersion: version, maxVersion: version } as const;
        const store = new ClientSessionStore();
        const first = track(pair(v, v, { onSession: (sess) => store.add(sess) }));
        handshake(first);
        // TLS 1.3 tickets come after the handshake.
        move(first.s, first.c);
        readAll(first.c);
        assert.ok(store.available, 'a session was saved');
        const resume = store.take()!;
        assert.ok(resume instanceof SavedSession);
        assert.equal(resume.isTls13, version === '1.3');
        const sctx = first.contexts[0];
        const cctx = first.contexts[1];
        const c = new TlsSession(cctx, { servername: 'localhost', verifyHost: 'localhost', resume });
        resume.release(); // the SSL took its own reference
        assert.equal(resume.released, true);
        const s = new TlsSession(sctx);
        const second: Pair = { c, s, contexts: [], free: () => (c.free(), s.free()) };
        pairs.push(second);
        handshake(second);
        assert.equal(c.resumed(), true);
        assert.equal(s.resumed(), true);
        store.free();
      });
    }
  });
