// The parallel elimination's logic (src/engine/scan/eliminate.ts) against model servers that
// choose the way TLS servers do: their own order, the client's, or a ChaCha20 priority that
// depends on the client's first item. No sockets: the probes are answered by the model, so every
// configuration (100 accepted items, a server that refuses everything) is quick to try. Real
// servers are in scan.test.ts and scan_panel.test.ts.
import assert from 'node:assert/strict';
import { eliminateParallel, EliminationSpec } from '../src/engine/scan/eliminate';
import { Limiter, type ProbeOutcome } from '../src/engine/scan/exchange';
import { likelyRanks } from '../src/engine/scan/likely_order';
import { SUITES } from '../src/engine/wire/suites';
import { execFileSync } from 'node:child_process';

type Model = (offer: number[]) => number | undefined;

function spec(model: Model, all: number[], over: Partial<EliminationSpec> = {}) {
  let probes = 0;
  let inFlight = 0;
  let rounds = 0;
  let orderProbes = 0;
  const send = async (name: string, bytes: Buffer): Promise<ProbeOutcome> => {
    probes++;
    if (name.endsWith(' order')) orderProbes++;
    inFlight++;
    await new Promise((r) => setImmediate(r));
    inFlight--;
    const pick = model(JSON.parse(bytes.toString()));
    return pick === undefined
      ? { kind: 'alert', alert: 'handshake_failure', events: [], attempts: 1, ms: 0 }
      : { kind: 'answer', events: [{ type: 'serverHello', hello: { suite: pick } } as never], attempts: 1, ms: 0 };
  };
  const s: EliminationSpec = {
    name: 'ciphers test',
    all,
    helloFor: (offer) => Buffer.from(JSON.stringify(offer)),
    stopAtServerHello: true,
    pick: (r) => (r.kind === 'answer' ? { id: (r.events[0] as unknown as { hello: { suite: number } }).hello.suite } : undefined),
    describe: (r) => r.kind,
    label: (id) => String(id),
    ...over,
  };
  return { run: () => eliminateParallel(send, s), stats: () => ({ probes, inFlight, rounds, orderProbes }) };
}

const serverOrder = (prefs: number[]): Model => (offer) => prefs.find((p) => offer.includes(p));
const clientOrder = (accepted: number[]): Model => (offer) => offer.find((o) => accepted.includes(o));
const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

describe('scan: parallel elimination and the merge of the server order', () => {
  it('finds the server order across chains, for every chain count', async () => {
    const all = range(60, 1);
    const prefs = [37, 2, 59, 14, 8, 41, 23, 5, 50, 11];
    for (const chains of [1, 2, 3, 8, 16, 60]) {
      const e = await spec(serverOrder(prefs), all, { chains }).run();
      assert.deepEqual(e.found, prefs, `chains ${chains}`);
      assert.equal(e.order, 'server');
      assert.equal(e.error, undefined);
    }
  });

  it("reports the client's order, in our offer order, when the server follows it", async () => {
    const accepted = [9, 3, 44, 17];
    const e = await spec(clientOrder(accepted), range(50, 1)).run();
    assert.equal(e.order, 'client');
    assert.deepEqual(e.found, [3, 9, 17, 44]);
  });

  it('uses a first probe that offered everything, and handles one, none, and every item', async () => {
    const all = range(20, 1);
    const m = serverOrder([7]);
    const first = await (async () => ({ kind: 'answer' as const, events: [{ type: 'serverHello', hello: { suite: 7 } } as never], attempts: 1, ms: 0 }))();
    const one = await spec(m, all, { first }).run();
    assert.deepEqual([one.found, one.order], [[7], 'single']);
    const none = await spec(() => undefined, all).run();
    assert.deepEqual([none.found, none.order, none.error], [[], 'none', undefined]);
    const every = await spec(serverOrder([...all].reverse()), all).run();
    assert.deepEqual(every.found, [...all].reverse());
  });

  it('a server whose order is like ours costs one probe per adjacent pair, not every cross pair; one unlike ours still gets its order', async () => {
    // Ten groups, the server's list in our offer order but for one (OpenSSL's default with x448 last, say).
    const all = range(12, 1);
    const same = spec(serverOrder(range(10, 1)), all);
    assert.deepEqual((await same.run()).found, range(10, 1));
    // The order question (2) and at most 9 adjacent pairs; every cross pair of 8 chains would be 36 more.
    assert.ok(same.stats().orderProbes <= 2 + 9, `${same.stats().orderProbes} order probes`);
    const like = [1, 2, 3, 4, 5, 6, 7, 8, 10, 9];
    const s1 = spec(serverOrder(like), all);
    const e1 = await s1.run();
    assert.deepEqual(e1.found, like);
    // The first guess has 10 and 9 the wrong way round; the second asks only what that changed.
    assert.ok(s1.stats().orderProbes <= 2 + 9 + 1, `${s1.stats().orderProbes} order probes`);
    const unlike = [9, 4, 12, 1, 7, 2, 11, 5, 3, 8];
    const s2 = spec(serverOrder(unlike), all);
    const e2 = await s2.run();
    assert.deepEqual(e2.found, unlike);
    assert.ok(s2.stats().orderProbes > 2 + 9, 'a wrong guess costs the pairs after it');
  });

  it('with two likely orders, the one the server has costs one round of adjacent pairs', async () => {
    const all = range(30, 1);
    const reversed = [...all].reverse().slice(0, 24);
    const likely = [(id: number) => id, (id: number) => -id];
    const s = spec(serverOrder(reversed), all, { likely });
    const e = await s.run();
    assert.deepEqual(e.found, reversed);
    // The order question (2), then both guesses' adjacent pairs (23 each at most) in one round.
    assert.ok(s.stats().orderProbes <= 2 + 2 * 23, `${s.stats().orderProbes} order probes`);
    const none = spec(serverOrder(reversed), all);
    await none.run();
    assert.ok(none.stats().orderProbes > 2 + 2 * 23, `without the right guess: ${none.stats().orderProbes} order probes`);
  });

  it('any server order, guessed right or wrong, comes out exact (300 random servers)', async () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    for (let t = 0; t < 300; t++) {
      const all = range(2 + rand(30), 1);
      const accepted = all.filter(() => rand(3) > 0);
      // Mostly our order with a few swaps, or shuffled.
      const prefs = [...accepted];
      for (let k = rand(2) ? rand(3) : prefs.length; k > 0; k--) {
        const i = rand(prefs.length);
        const j = rand(prefs.length);
        [prefs[i], prefs[j]] = [prefs[j], prefs[i]];
      }
      const likely = rand(2) ? [(id: number) => id, (id: number) => (id * 7) % 11] : undefined;
      const e = await spec(serverOrder(prefs), all, { chains: 1 + rand(8), likely }).run();
      assert.deepEqual(e.found, prefs, `server ${prefs.join(',')} of ${all.length}`);
    }
  });

  it('falls back to a sequential merge when the pairs would be too many, with the same answer', async () => {
    const all = range(120, 1);
    const prefs = range(100, 11).reverse();
    const s = spec(serverOrder(prefs), all, { maxPairs: 50 });
    const e = await s.run();
    assert.deepEqual(e.found, prefs);
    // Pairs for 100 items over 8 chains would be ~4,400 probes; the fallback is one per item.
    assert.ok(s.stats().probes < 400, `${s.stats().probes} probes`);
  });

  it('a choice the server was not offered ends that chain with an error, the rest still found', async () => {
    const e = await spec((offer) => (offer.includes(5) ? 999 : serverOrder([1, 2, 3])(offer)), range(16, 1), { chains: 4 }).run();
    assert.match(e.error ?? '', /chose 999, which was not offered/);
    assert.ok(e.found.includes(2) && e.found.includes(3));
  });

  it('a server whose choice is not transitive (ChaCha20 first when the client puts it first) still gets a stable order', async () => {
    const CHACHA = 3;
    const m: Model = (offer) => (offer[0] === CHACHA ? CHACHA : serverOrder([1, 2, CHACHA])(offer));
    const a = await spec(m, [1, 2, 3, 4]).run();
    const b = await spec(m, [1, 2, 3, 4]).run();
    assert.deepEqual(a.found, b.found);
    assert.deepEqual([...a.found].sort(), [1, 2, 3]);
  });
});

describe("scan: the merge's likely orders", () => {
  // OpenSSL's own lists, as the openssl command prints them: the guess for a server with server
  // order and one of them (the independent judge here is the openssl CLI, not our table).
  it("the OpenSSL guess for TLS 1.2 suites is OpenSSL's DEFAULT order exactly, and HIGH's but for DHE-DSS/DHE-RSA ties", () => {
    const rank = likelyRanks('ciphers TLSv1.2')[1];
    const byName = new Map(SUITES.map((x) => [x.openssl, x.id]));
    for (const [list, ties] of [['DEFAULT', 0], ['HIGH:!aNULL:!MD5', 16]] as const) {
      const names = execFileSync('openssl', ['ciphers', '-s', '-tls1_2', list]).toString().trim().split(':').filter((n) => !n.startsWith('TLS_'));
      const ids = names.map((n) => byName.get(n)).filter((id): id is number => id !== undefined);
      assert.ok(ids.length >= names.length - 2, `our table knows ${ids.length} of OpenSSL's ${names.length}`);
      // Ties broken by id, not by the order being checked.
      const sorted = [...ids].sort((a, b) => rank(a) - rank(b) || a - b);
      const differ = ids.filter((id, i) => sorted[i] !== id);
      assert.ok(differ.length <= ties, `${list}: ${differ.length} places differ`);
      assert.ok(differ.every((id) => /^DHE-(DSS|RSA)-/.test(SUITES.find((x) => x.id === id)!.openssl)), `${list}: only DHE-DSS/DHE-RSA ties`);
    }
  });
});

describe('scan: the probe limiter', () => {
  /** Work that waits until released, noting how many run at once. */
  function gate() {
    let running = 0;
    let most = 0;
    const release: (() => void)[] = [];
    const job = () =>
      new Promise<void>((done) => {
        running++;
        most = Math.max(most, running);
        release.push(() => {
          running--;
          done();
        });
      });
    return { job, release, running: () => running, most: () => most };
  }
  const turn = () => new Promise((r) => setImmediate(r));

  it('runs at most its cap at once, lower priority numbers first, in order within one', async () => {
    const l = new Limiter(2);
    const g = gate();
    const order: string[] = [];
    const all = ['a', 'b', 'c', 'd', 'e'].map((name, i) => l.run(() => (order.push(name), g.job()), i === 4 ? -1 : 0));
    await turn();
    assert.deepEqual(order, ['a', 'b']);
    while (g.release.length) {
      g.release.shift()!();
      await turn();
      await turn();
    }
    await Promise.all(all);
    assert.deepEqual(order, ['a', 'b', 'e', 'c', 'd'], 'the priority -1 job before the earlier queued 0s');
    assert.equal(g.most(), 2);
  });

  it('widen: queued work starts at once in the new slots, and the new cap holds after', async () => {
    const l = new Limiter(2);
    const g = gate();
    const all = Array.from({ length: 8 }, () => l.run(g.job));
    await turn();
    assert.equal(g.running(), 2);
    l.widen(5);
    await turn();
    assert.equal(g.running(), 5, 'three more started without any slot being freed');
    l.widen(3);
    g.release.shift()!();
    await turn();
    await turn();
    assert.equal(g.running(), 5, 'a narrower widen keeps the larger cap: a freed slot goes to the next');
    while (g.release.length) {
      g.release.shift()!();
      await turn();
      await turn();
    }
    await Promise.all(all);
    assert.equal(g.most(), 5);
  });
});
