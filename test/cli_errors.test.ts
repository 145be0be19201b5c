// Every command's bad command line or file: one line `iocptls: <cause>` on stderr, nothing else,
// exit code 2 — oclif's own parse errors (missing arguments, a flag's parse function failing,
// unknown flags and options) included.
import assert from 'node:assert/strict';
import os from 'node:os';
import { dump, runCli } from './helpers/cli';

// A directory every machine has, given where a file is wanted.
const DIR = os.tmpdir();
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

const cases: { name: string; args: string[]; cause: RegExp }[] = [
  { name: 'compare without arguments', args: ['compare'], cause: /^give BASE and NEW \(`compare BASE NEW`\), or NEW and --history \(`compare NEW --history DIR`\)$/ },
  { name: 'compare with one argument', args: ['compare', 'a.json'], cause: /^give BASE and NEW \(`compare BASE NEW`\), or NEW and --history \(`compare NEW --history DIR`\)$/ },
  { name: 'compare --threshold abc', args: ['compare', 'a.json', 'b.json', '--threshold', 'abc'], cause: /^--threshold must be a percentage >= 0, got "abc"$/ },
  { name: 'compare with a missing file', args: ['compare', 'nope-a.json', 'nope-b.json'], cause: /^cannot read nope-a\.json: no such file/ },
  { name: 'connect without a target', args: ['connect'], cause: /^missing argument target \(HOST\[:PORT\]/ },
  { name: 'an unknown flag', args: ['serve', '--bogus'], cause: /^Nonexistent flag: --bogus/ },
  { name: 'a bad option value', args: ['serve', '--mode', 'nope'], cause: /^Expected --mode=nope to be one of: echo, sink, source, http, handshake$/ },
  { name: 'bench --ca missing.pem without --verify', args: ['bench', '--ca', 'missing.pem', '-d', '1'], cause: /^--ca missing\.pem: cannot read it: no such file or directory \(ENOENT\)$/ },
  { name: 'bench --resume ids with --tls-min 1.3', args: ['bench', '--resume', 'ids', '--tls-min', '1.3'], cause: /^--resume ids resumes TLS 1\.2 session IDs/ },
  { name: 'serve --keylog in a missing directory', args: ['serve', '--port', '0', '--keylog', '/nonexistent/dir/k.log'], cause: /^--keylog \/nonexistent\/dir\/k\.log: cannot open the key log file: no such file or directory \(ENOENT\)$/ },
  { name: 'serve --mode http --alpn h3', args: ['serve', '--port', '0', '--mode', 'http', '--alpn', 'h3'], cause: /^--alpn h3: --mode http speaks h2 \(HTTP\/2 over TLS\) and HTTP\/1\.x only/ },
  // Output files are checked before any work: a run's minutes must not end in EISDIR.
  { name: 'bench --hgrm DIR', args: ['bench', '-d', '1', '--hgrm', DIR], cause: new RegExp(`^--hgrm ${esc(DIR)}: is a directory, not a file$`) },
  { name: 'bench --hgrm in a missing directory', args: ['bench', '-d', '1', '--hgrm', '/nonexistent/x.hgrm'], cause: /^--hgrm \/nonexistent\/x\.hgrm: cannot create it: no such directory \/nonexistent$/ },
  { name: 'bench throughput --html in a missing directory', args: ['bench', 'throughput', '-d', '1', '--html', '/nonexistent/x.html'], cause: /^--html \/nonexistent\/x\.html: cannot create it: no such directory \/nonexistent$/ },
  { name: 'bench connections --hgrm DIR', args: ['bench', 'connections', '-d', '1', '--hgrm', DIR], cause: new RegExp(`^--hgrm ${esc(DIR)}: is a directory, not a file$`) },
  { name: 'bench ab --html DIR', args: ['bench', 'ab', '-d', '1', '--html', DIR], cause: new RegExp(`^--html ${esc(DIR)}: is a directory, not a file$`) },
  { name: 'merge --out DIR', args: ['merge', 'nope.json', '--out', DIR], cause: new RegExp(`^--out ${esc(DIR)}: is a directory, not a file$`) },
  { name: 'report --html in a missing directory', args: ['report', 'nope.json', '--html', '/nonexistent/r.html'], cause: /^--html \/nonexistent\/r\.html: cannot create it: no such directory \/nonexistent$/ },
  { name: 'compare --html DIR', args: ['compare', 'nope-a.json', 'nope-b.json', '--html', DIR], cause: new RegExp(`^--html ${esc(DIR)}: is a directory, not a file$`) },
  { name: 'connect --keylog DIR', args: ['connect', '127.0.0.1:1', '--keylog', DIR], cause: new RegExp(`^--keylog ${esc(DIR)}: cannot open the key log file: illegal operation on a directory \\(EISDIR\\)$`) },
  { name: 'bench handshake --compare-groups --hgrm (one run\'s file, many runs)', args: ['bench', 'handshake', '--compare-groups', '--groups', 'X25519,P-256', '--hgrm', 'x.hgrm'], cause: /^--hgrm writes one run's output: it does not go with --compare-groups/ },
  { name: 'bench --start-at beyond any clock', args: ['bench', '-d', '1', '--start-at', '99999999999999999'], cause: /^--start-at 99999999999999999 is not a time a clock can read/ },
  { name: 'connect ::1:4433 (address or port?)', args: ['connect', '::1:4433'], cause: /^'::1:4433' is ambiguous: write \[::1\]:4433 for ::1 port 4433, or \[::1:4433\] for the address ::1:4433 \(port 443\)$/ },
  { name: 'bench 2001:db8::1:443 (address or port?)', args: ['bench', '2001:db8::1:443', '-d', '1'], cause: /^'2001:db8::1:443' is ambiguous: write \[2001:db8::1\]:443/ },
  { name: 'serve --host a name that does not resolve', args: ['serve', '--port', '0', '--host', 'no-such-host.invalid'], cause: /^--host no-such-host\.invalid: cannot resolve it \(E[A-Z_]+\)/ },
  { name: 'bench -d 2x (not a length of time)', args: ['bench', '-d', '2x'], cause: /^--duration: '2x' is not a length of time \(seconds, or a number with ms, s, m or h: 500ms, 2s, 1m\)$/ },
  { name: 'bench -d 50ms (a window under 100 ms)', args: ['bench', '-d', '50ms'], cause: /^--duration: 50ms is out of range \(0\.1 s to 604800 s\)$/ },
  { name: 'bench --round-pause 2h (over an hour)', args: ['bench', '--rounds', '2', '--round-pause', '2h'], cause: /^--round-pause: 2h is out of range \(0 to 3600 s\)$/ },
  { name: 'bench ab --warmup=soon', args: ['bench', 'ab', '--warmup=soon'], cause: /^--warmup: 'soon' is not a length of time/ },
  { name: 'serve -d 8d (no such unit)', args: ['serve', '--port', '0', '-d', '8d'], cause: /^--duration: '8d' is not a length of time/ },
  { name: 'cert --out under /proc', args: ['cert', '--out', '/proc/iocptls-nope'], cause: /^--out \/proc\/iocptls-nope: cannot create \/proc\/iocptls-nope: / },
];

describe('CLI errors: one line, exit 2, for every command', function () {
  this.timeout(30_000);
  for (const c of cases) {
    it(c.name, async () => {
      const r = await runCli(c.args, { killAfterMs: 20_000 });
      assert.equal(r.code, 2, dump(r));
      const lines = r.stderr.split('\n').filter((l) => l.trim());
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /^iocptls: /);
      assert.match(lines[0].slice('iocptls: '.length), c.cause);
      assert.equal(r.out, '');
    });
  }

  it('under --json the error is a JSON document on stdout, still exit 2', async () => {
    const r = await runCli(['compare', '--json']);
    assert.equal(r.code, 2, dump(r));
    assert.deepEqual(JSON.parse(r.out), {
      error: { message: 'give BASE and NEW (`compare BASE NEW`), or NEW and --history (`compare NEW --history DIR`)', code: 'IOCPTLS_ERR_CONFIG', reason: 'config' },
    });
  });
});
