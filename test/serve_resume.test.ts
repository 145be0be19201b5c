// Resumption across serve's workers: each worker has its own SSL_CTX, so tickets must be sealed
// with keys they all share, or a client landing on another worker silently gets a full handshake.
import assert from 'node:assert/strict';
import { runCliJson } from './helpers/cli';
import { startServe } from './helpers/serve';

describe('serve: session tickets resume on any worker', function () {
  this.timeout(30_000);

  it('connect --reconnect 8 against serve --workers 4 resumes every time, and serve counts the same', async () => {
    const s = await startServe(['--workers', '4']);
    try {
      const r = await runCliJson(['connect', `127.0.0.1:${s.port}`, '--insecure', '--reconnect', '8']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.doc.reconnect.attempts, 8);
      assert.equal(r.doc.reconnect.resumed, 8);
      const x = await s.stop('SIGINT');
      assert.equal(x.doc.totals.resumed, 8);
      assert.equal(x.doc.totals.full, 1);
      // With 9 connections over 4 SO_REUSEPORT listeners, more than one worker took part.
      assert.ok(x.doc.perWorker.filter((w: { accepted: number }) => w.accepted > 0).length > 1, JSON.stringify(x.doc.perWorker));
    } finally {
      await s.stop('SIGKILL').catch(() => undefined);
    }
  });
});
