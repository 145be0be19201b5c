#!/usr/bin/env node
// Reruns the examples shown in README.md and docs/**/*.md, and fails when an example's output no
// longer has the shape the page shows: the same lines, labels and words, numbers free.
//
//   node scripts/docs-examples.js               check every marked example (after a build)
//   node scripts/docs-examples.js --update      rewrite the pages with the output of this run
//   node scripts/docs-examples.js README.md     only these pages;  --only NAME  only these examples
//   node scripts/docs-examples.js --node PATH   run the examples on this node binary
//   node scripts/docs-examples.js --jobs N      pages at a time (default 2)
//   node scripts/docs-examples.js --all         also the examples marked slow (minutes of load)
//
// An example is a ```console block right after an HTML comment naming it:
//
//   <!-- example: connect -->
//   ```console
//   $ npx iocptls connect 127.0.0.1:4433 --ca pki/ca.pem --servername localhost
//   Connected to 127.0.0.1:4433 via io_uring, ...
//   ```
//
// Each page is one shell session in a fresh directory: its examples run in order, each block in
// one bash (so `T=$(...)` and `wait` work within a block), files left by one block are there for
// the next (the directory shows as /tmp/demo in the output). `npx iocptls` and `iocptls` run this checkout's bin/run.js. A command ending in `&`
// runs in the background until the page is done (then it gets SIGTERM); the block shows what it
// printed by the time it was ready (a server's first line; other background commands are not
// waited for: `wait` in the block does). Ports 4433-4436 in a command (and serve's default, 4433)
// are replaced by free ports, and back in the output, so examples never collide with a server
// already there. `<!-- example: NAME slow -->` marks an example that runs only with --all (or
// --only NAME): rounds of benchmarks that take minutes; the default run stays under two minutes.
//
// Shape: both sides are normalised — numbers with their units, dates, hex fingerprints, month
// names and runs of spaces or table rules become one token each, and consecutive lines that
// normalise alike (histogram bars, table rows of one kind) count once — then compared line by
// line. A line `…` in a block stands for any number of lines; --update keeps such elisions (the
// same number of lines before and after). Lines that come and go with the machine's load
// (`Warning: ...`, the io_uring fallback notice, bench's `After window` row and its `(N in flight
// at the end)`: there may be none; compare's note of percentiles with too few events) are ignored on both sides, and so is the verdict
// cell of a compare table's row and the names in its list of regressions (a noisy metric's `~` may
// read `regressed` in the next run).
//
// The examples are made on Node.js 24 (OpenSSL 3.5: post-quantum key exchange by default); the
// node binary is found by scripts/fetch-node.sh (cached in ~/.cache/iocptls-node).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const { spawn, execFileSync } = require('node:child_process');

const ROOT = path.join(__dirname, '..');
const DOCS_NODE = '24.22.3';
const MARK = /^( *)<!--\s*example:\s*([\w.-]+)(\s+slow)?\s*-->\s*$/;
/** Ports the pages use (serve's default 4433 and the next ones): each is given a free port per page. */
const DOC_PORTS = [4433, 4434, 4435, 4436];
const ELLIPSIS = '…';
/** The page's working directory (a fresh temporary one) as the output shows it. */
const WORKDIR = '/tmp/demo';
const OPTIONAL = [/^Warning: /, /^iocptls: warning: /, /^Note: not tested, too few events/, /^iocptls: .*using (epoll|io_uring)/, /^│ After window /];

function pages(args) {
  if (args.length) return args.map((a) => path.resolve(a));
  const out = [path.join(ROOT, 'README.md')];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.md')) out.push(p);
    }
  };
  walk(path.join(ROOT, 'docs'));
  return out;
}

/** The marked examples of a page: name, the line range of the block's body, its commands and outputs. */
function examplesOf(text) {
  const lines = text.split('\n');
  const found = [];
  for (let i = 0; i < lines.length; i++) {
    const m = MARK.exec(lines[i]);
    if (!m) continue;
    const [, indent, name, slow] = m; // a block inside a list item is indented: so are its marker and fences
    if (lines[i + 1] !== `${indent}\`\`\`console`) throw new Error(`example ${name}: no \`\`\`console block right after its marker (line ${i + 1})`);
    let end = i + 2;
    while (end < lines.length && lines[end] !== `${indent}\`\`\``) end++;
    const body = lines.slice(i + 2, end).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l.trimStart()));
    const steps = [];
    for (const l of body) {
      if (l.startsWith('$ ')) steps.push({ cmd: l.slice(2), out: [] });
      else if (!steps.length) throw new Error(`example ${name}: output before the first $ command`);
      else steps[steps.length - 1].out.push(l);
    }
    found.push({ name, indent, slow: Boolean(slow), start: i + 2, end, steps });
  }
  return found;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function bashScript(steps, ports, node) {
  const run = `"${node}" "${path.join(ROOT, 'bin', 'run.js')}"`;
  const pre = [
    `iocptls() { ${run} "$@"; }`,
    'npx() { if [ "$1" = iocptls ]; then shift; iocptls "$@"; else command npx "$@"; fi; }',
    'export -f iocptls npx',
    '__rc=0',
  ];
  const body = [];
  steps.forEach((s, i) => {
    let cmd = s.cmd.replace(/\b443[3-6]\b/g, (p) => String(ports.get(Number(p))));
    // serve's default port is 4433: give it the free one.
    if (/^(npx )?iocptls serve\b/.test(cmd) && !/ (--port|-p)[ =]/.test(cmd)) cmd = cmd.replace(/\s*&?\s*$/, (m) => ` --port ${ports.get(4433)}${m}`);
    // The marker must not change $?: `echo $?` after a command shows that command's status.
    body.push(`printf '\\n@@step ${i}\\n'; (exit $__rc)`);
    const bg = /&\s*$/.test(cmd);
    if (bg) {
      // Background: keep it running for the page (exec: the pid is the command's own, for the
      // SIGTERM at the end); show its first line once it is ready.
      cmd = cmd.replace(/&\s*$/, '').replace(/^(npx )?iocptls /, `exec ${run} `);
      body.push(`( ${cmd} ) > .bg${i}.log 2>&1 & echo $! >> .bgpids`);
      // A server is ready when it says where it listens; other background commands are not waited for.
      // A server runs until the page is done, so `wait` in the block must not wait for it: disown it.
      if (/^exec \S+ \S+ serve\b/.test(cmd)) body.push('disown $!');
      if (/^exec \S+ \S+ serve\b/.test(cmd)) body.push(`for _ in $(seq 200); do [ -s .bg${i}.log ] && break; sleep 0.05; done; sleep 0.2; head -n 1 .bg${i}.log`);
    } else {
      body.push(`{ ${cmd} ; } 2>&1; __rc=$?`);
    }
  });
  return [...pre, ...body].join('\n') + '\n';
}

function runBlock(steps, cwd, ports, node, timeoutMs) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, PATH: `${path.dirname(node)}:${process.env.PATH}`, OCLIF_COLUMNS: '100', NO_COLOR: '1', FORCE_COLOR: '0' };
    delete env.SSLKEYLOGFILE;
    const child = spawn('bash', ['-c', bashScript(steps, ports, node)], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', () => {
      clearTimeout(timer);
      if (timedOut) {
        reject(new Error(`still running after ${timeoutMs / 1000} s, killed: ${steps.map((st) => st.cmd).join('; ').slice(0, 200)}`));
        return;
      }
      const outputs = steps.map(() => []);
      let cur = -1;
      for (const l of out.replace(/\n$/, '').split('\n')) {
        const m = /^@@step (\d+)$/.exec(l);
        if (m) cur = Number(m[1]);
        else if (cur >= 0) outputs[cur].push(l);
      }
      // Each step's output starts after the marker's own leading newline; drop trailing blank lines.
      for (const o of outputs) while (o.length && o[o.length - 1] === '') o.pop();
      for (let i = 0; i < outputs.length; i++) {
        if (outputs[i].length && outputs[i][outputs[i].length - 1] === '' ) outputs[i].pop();
      }
      const back = (l) => [...ports].reduce((t, [doc, free]) => t.replace(new RegExp(`\\b${free}\\b`, 'g'), String(doc)), l);
      resolve(outputs.map((o) => o.map((l) => back(l.split(cwd).join(WORKDIR)).replace(/\s+$/, ''))));
    });
  });
}

const MONTHS = /\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b/g;
const DAYS = /\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b/g;
const UNITS = '(?:ns|µs|us|ms|s|B|kB|KB|MB|GB|KiB|MiB|GiB|bit\\/s|kbit\\/s|Mbit\\/s|Gbit\\/s|\\/s|%|×)';
const NUMBER = new RegExp(`[+-]?(?:\\d[\\d,]*(?:\\.\\d+)?|\\.\\d+)(?:e[+-]?\\d+)?(?: ?${UNITS}(?![\\w/]))?`, 'g');

/** A line's shape: what must stay the same when the numbers change. */
function shape(line) {
  return line
    .replace(/\x1b\[[0-9;]*m/g, '')
    .replace(/^(\s+)[^:│]+?: (?=\S.* -> )/, '$1METRIC: ') // which metrics regressed is data, like the numbers
    .replace(/\b[0-9A-F]{2}(?::[0-9A-F]{2}){3,}(?::…)?/g, 'HEX')
    .replace(/\b[0-9a-f]{8}\b/g, 'ID')
    .replace(/\d{4}-\d\d-\d\d(?:T[\d:.]+Z)?/g, 'DATE')
    .replace(/\b\d\d:\d\d:\d\d\b/g, 'TIME')
    .replace(MONTHS, 'MON')
    .replace(DAYS, 'DAY')
    .replace(/│ *(regressed|improved|~)? *│$/, '│ VERDICT │') // a verdict on a noisy row may flip
    .replace(/[-+]\d+(\.\d+)?%/g, '#')
    .replace(NUMBER, '#')
    .replace(/#(?:[\s,.–\-/:x]+#)+/g, '#')
    .replace(/ \(# in flight at the end\)/, '')
    .replace(/([<=])#/g, '#') // p<0.001 and p=0.007 alike
    .replace(/[█▉▊▋▌▍▎▏]+/g, '')
    .replace(/─+/g, '─')
    .replace(/\s+/g, ' ')
    .trim();
}

function shapes(lines) {
  const out = [];
  for (const l of lines) {
    if (OPTIONAL.some((r) => r.test(l))) {
      if (l.startsWith('│') && out.length && out[out.length - 1].startsWith('├')) out.pop(); // and the rule above the row
      continue;
    }
    const s = l === ELLIPSIS ? ELLIPSIS : shape(l);
    if (out.length && out[out.length - 1] === s && s !== ELLIPSIS) continue;
    out.push(s);
  }
  return out;
}

/** Does the actual output have the shape the page shows? Returns null, or why not. */
function mismatch(shown, actual) {
  const want = shapes(shown);
  const got = shapes(actual);
  const segs = [[]];
  for (const s of want) (s === ELLIPSIS ? segs.push([]) : segs[segs.length - 1].push(s));
  const at = (i, seg) => seg.every((s, k) => got[i + k] === s);
  const firstDiff = (i, seg) => {
    for (let k = 0; k < seg.length; k++) if (got[i + k] !== seg[k]) return `shown:  ${seg[k]}\n      actual: ${got[i + k] ?? '(no more lines)'}`;
    return 'lines left over';
  };
  if (segs.length === 1) {
    if (want.length === got.length && at(0, want)) return null;
    return firstDiff(0, want.length >= got.length ? want : want) + (want.length !== got.length && at(0, want) ? `\n      (${got.length - want.length} more lines than shown)` : '');
  }
  const head = segs[0];
  const tail = segs[segs.length - 1];
  if (!at(0, head)) return firstDiff(0, head);
  if (got.length - tail.length < head.length || !at(got.length - tail.length, tail)) return firstDiff(Math.max(0, got.length - tail.length), tail);
  let i = head.length;
  for (const seg of segs.slice(1, -1)) {
    while (i + seg.length <= got.length - tail.length && !at(i, seg)) i++;
    if (i + seg.length > got.length - tail.length) return `shown (not found): ${seg[0]}`;
    i += seg.length;
  }
  return null;
}

/** The output to write back for --update: the actual lines, keeping the shown elisions (the same
 * number of lines before the first `…` and after the last; a part between two is looked up by shape). */
function updated(shown, actual) {
  if (!shown.includes(ELLIPSIS)) return actual;
  const segs = [[]];
  for (const l of shown) (l === ELLIPSIS ? segs.push([]) : segs[segs.length - 1].push(l));
  const head = segs[0].length;
  const tail = segs[segs.length - 1].length;
  const out = [...actual.slice(0, head)];
  let i = head;
  for (const seg of segs.slice(1, -1)) {
    out.push(ELLIPSIS);
    const want = seg.map(shape);
    while (i + seg.length <= actual.length - tail && !want.every((w, k) => shape(actual[i + k]) === w)) i++;
    if (i + seg.length > actual.length - tail) return actual; // not found: show everything
    out.push(...actual.slice(i, i + seg.length));
    i += seg.length;
  }
  out.push(ELLIPSIS, ...(tail ? actual.slice(-tail) : []));
  return out;
}

/** Runs one page's examples in a fresh directory; with --update, writes the outputs back. */
async function runPage(file, { only, update, node, all }) {
  let text = fs.readFileSync(file, 'utf8');
  const examples = examplesOf(text).filter((e) => (only.length ? only.includes(e.name) : all || !e.slow));
  const log = [];
  let failed = 0;
  if (!examples.length) return { log, failed, count: 0 };
  const rel = path.relative(ROOT, file);
  const cwd = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'iocptls-docs-')));
  const ports = new Map();
  for (const p of DOC_PORTS) ports.set(p, await freePort());
  const lines = text.split('\n');
  const edits = [];
  try {
    for (const ex of examples) {
      const t = Date.now();
      let outputs;
      try {
        outputs = await runBlock(ex.steps, cwd, ports, node, ex.slow ? 900_000 : 120_000);
      } catch (e) {
        failed++;
        log.push(`FAILED   ${rel} ${ex.name}: ${e.message}`);
        continue;
      }
      const why = ex.steps.map((s, i) => mismatch(s.out, outputs[i]) && `$ ${s.cmd}\n      ${mismatch(s.out, outputs[i])}`).filter(Boolean);
      const secs = ((Date.now() - t) / 1000).toFixed(1);
      if (why.length) {
        if (!update) failed++;
        log.push(`${update ? 'updated ' : 'MISMATCH'} ${rel} ${ex.name} (${secs} s)${update ? '' : '\n    ' + why.join('\n    ')}`);
      } else log.push(`ok       ${rel} ${ex.name} (${secs} s)`);
      if (update) {
        const body = ex.steps.flatMap((s, i) => [`$ ${s.cmd}`, ...updated(s.out, outputs[i])]).map((l) => (l ? ex.indent + l : l));
        edits.push({ start: ex.start, end: ex.end, body });
      }
    }
  } finally {
    const pids = fs.existsSync(path.join(cwd, '.bgpids')) ? fs.readFileSync(path.join(cwd, '.bgpids'), 'utf8').split('\n').filter(Boolean) : [];
    for (const pid of pids) {
      try { process.kill(Number(pid), 'SIGTERM'); } catch { /* already gone */ }
    }
    await new Promise((r) => setTimeout(r, pids.length ? 1500 : 0));
    for (const pid of pids) {
      try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
    }
    fs.rmSync(cwd, { recursive: true, force: true });
  }
  if (update && edits.length) {
    for (const e of edits.reverse()) lines.splice(e.start, e.end - e.start, ...e.body);
    text = lines.join('\n');
    fs.writeFileSync(file, text);
  }
  return { log, failed, count: examples.length };
}

async function main() {
  const argv = process.argv.slice(2);
  const update = argv.includes('--update');
  const all = argv.includes('--all');
  const only = [];
  let node;
  let jobs = 2;
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--update' || argv[i] === '--all') continue;
    else if (argv[i] === '--only') only.push(...argv[++i].split(','));
    else if (argv[i] === '--node') node = argv[++i];
    else if (argv[i] === '--jobs') jobs = Math.max(1, Number(argv[++i]) || 1);
    else files.push(argv[i]);
  }
  node ??= execFileSync('bash', [path.join(ROOT, 'scripts', 'fetch-node.sh'), DOCS_NODE], { encoding: 'utf8' }).trim();
  if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'commands'))) throw new Error('build first (npm run build)');
  const t0 = Date.now();
  let failed = 0;
  let count = 0;
  // Pages run --jobs at a time (default 2: the README's bench ab alone takes half a minute), each
  // page's examples in order; a page's lines are printed when it is done.
  const queue = pages(files);
  const worker = async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      const r = await runPage(file, { only, update, node, all });
      for (const l of r.log) console.log(l);
      failed += r.failed;
      count += r.count;
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  console.log(`${count} examples, ${failed} not matching the docs (${secs} s, node ${execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()})`);
  if (failed) process.exitCode = 1;
}

module.exports = { shape, shapes, mismatch, examplesOf };
if (require.main === module) {
  main().catch((e) => {
    console.error(`docs-examples: ${e.message}`);
    process.exit(2);
  });
}
