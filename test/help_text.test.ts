// Help that reads well: every command's --help, rendered at 80 and at 120 columns, has no line
// broken by a hard newline in the middle of a sentence; the texts it is made of (summaries,
// descriptions, flag and argument descriptions in oclif.manifest.json) are paragraphs, summaries fit
// on one line of 80 columns, flags that several commands share are described in the same words,
// and each command says which docs page is its reference (and that page exists).
//
// oclif wraps help to OCLIF_COLUMNS, else the terminal's width, else (not a TTY) 80 columns
// (@oclif/core lib/screen.js); COLUMNS is not read. So the renders set OCLIF_COLUMNS.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, runCli } from './helpers/cli';

interface ManifestFlag {
  name: string;
  description?: string;
  summary?: string;
}
interface ManifestCommand {
  id: string;
  summary?: string;
  description?: string;
  flags: Record<string, ManifestFlag>;
  args: Record<string, { name: string; description?: string }>;
}

const WIDTHS = [80, 120];
/** Flags whose meaning is the same wherever they appear, so their help must read the same. */
const SHARED = ['json', 'debug', 'io', 'openssl', 'keylog', 'markdown', 'threshold', 'alpha', 'shard', 'start-at', 'bind', 'tls-min', 'tls-max', 'ciphers', 'ciphersuites', 'groups', 'alpn', 'key', 'cert', 'timeout', 'insecure', 'verify', 'rounds', 'round-pause', 'warmup', 'hgrm', 'max-error-rate', 'server-workers'];
/** Where a shared name means something else: serve's --cert/--key are its own certificate, and bench
 * ab's --rounds counts rounds per side. */
const OWN_MEANING: Record<string, string[]> = { cert: ['serve'], key: ['serve'], rounds: ['bench:ab'] };
/** The docs page of each command (docs/commands/<page>.md). */
const PAGE: Record<string, string> = { 'bench:ab': 'bench-ab', 'bench:http': 'bench-http', 'bench:handshake': 'bench', 'bench:throughput': 'bench', 'bench:connections': 'bench' };

function manifest(): Record<string, ManifestCommand> {
  const file = path.join(ROOT, 'oclif.manifest.json');
  assert.ok(fs.existsSync(file), 'oclif.manifest.json is missing: build first (npm run build)');
  return JSON.parse(fs.readFileSync(file, 'utf8')).commands;
}

/** Paragraph breaks ('\n\n') and list lines are deliberate; any other newline breaks a sentence. */
export function loneNewlines(text: string): string[] {
  const bad: string[] = [];
  for (const para of text.split(/\n{2,}/)) {
    const lines = para.split('\n');
    for (let i = 1; i < lines.length; i++) {
      if (/^\s*([-*•]|\d+[.)])\s/.test(lines[i])) continue; // a list item
      bad.push(`${JSON.stringify(lines[i - 1].slice(-40))} ⏎ ${JSON.stringify(lines[i].slice(0, 40))}`);
    }
  }
  return bad;
}

const indent = (l: string) => l.length - l.trimStart().length;

/**
 * Lines of rendered help that a hard newline broke early: line b continues line a (same text
 * column, not a new flag, list item or `<options: ...>`), a does not end a sentence, and yet b's
 * first word would have fit on a.
 * A wrapper never leaves that much room, so such a break came from the text itself.
 */
export function hardBreaks(help: string, width: number): string[] {
  const bad: string[] = [];
  let section = '';
  const lines = help.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    const a = lines[i];
    const b = lines[i + 1];
    if (/^[A-Z][A-Z ]+$/.test(a)) section = a;
    if (section === 'USAGE' || section === 'EXAMPLES' || !a.trim() || !b.trim() || /^[A-Z][A-Z ]+$/.test(b)) continue;
    // The column a's text starts at: after a flag's or an argument's name in a table, else its indentation.
    const entry = /^(\s+(?:-\w, )?(?:--\[no-\])?-{0,2}[\w\-\[\].]+(?:=\S+)?\s{2,})\S/.exec(a);
    const textColumn = section.endsWith('FLAGS') || section === 'ARGUMENTS' ? (entry ? entry[1].length : indent(a)) : indent(a);
    if (indent(b) !== textColumn) continue;
    const next = b.trim();
    if (/^([-*•]|\d+[.)])\s/.test(next) || next.startsWith('<options:') || /^-{1,2}\w/.test(next)) continue;
    if (/[.!?:;]$/.test(a.trimEnd())) continue; // the manifest check catches those newlines
    const word = next.split(/\s+/)[0];
    if (a.trimEnd().length + 1 + word.length <= width - 2) bad.push(`${section}: ${JSON.stringify(a.trim().slice(-50))} ⏎ ${JSON.stringify(next.slice(0, 50))}`);
  }
  return bad;
}

describe('help text', function () {
  this.timeout(120_000);
  const commands = manifest();
  const ids = Object.keys(commands).sort();

  it('lists every command in the manifest', () => {
    for (const id of ['connect', 'serve', 'bench', 'bench:handshake', 'bench:throughput', 'bench:connections', 'bench:ab', 'compare', 'report', 'cert', 'merge', 'k8s-job']) {
      assert.ok(ids.includes(id), `${id} is not in oclif.manifest.json (${ids.join(', ')})`);
    }
  });

  it('summaries fit on one line of 80 columns; descriptions are paragraphs; flag and argument descriptions have no newline', () => {
    const bad: string[] = [];
    // `iocptls --help` opens with the package's description.
    const { description } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { description: string };
    if (description.length > 80) bad.push(`package.json description: ${description.length} columns`);
    for (const id of ids) {
      const c = commands[id];
      if (!c.summary) bad.push(`${id}: no summary`);
      else if (c.summary.includes('\n') || c.summary.length > 80) bad.push(`${id}: summary of ${c.summary.length} columns${c.summary.includes('\n') ? ', with a newline' : ''}: ${c.summary}`);
      for (const b of loneNewlines(c.description ?? '')) bad.push(`${id}: description broken mid-sentence: ${b}`);
      for (const f of Object.values(c.flags)) {
        for (const text of [f.description, f.summary]) if (text?.includes('\n')) bad.push(`${id} --${f.name}: newline in ${JSON.stringify(text)}`);
      }
      for (const a of Object.values(c.args ?? {})) if (a.description?.includes('\n')) bad.push(`${id} ${a.name}: newline in its description`);
    }
    assert.deepEqual(bad, []);
  });

  it('each command points to its docs page, and the page exists', () => {
    const bad: string[] = [];
    for (const id of ids) {
      const page = `docs/commands/${PAGE[id] ?? id}.md`;
      if (!(commands[id].description ?? '').includes(`See ${page}`)) bad.push(`${id}: its description does not end with "See ${page}"`);
      if (!fs.existsSync(path.join(ROOT, page))) bad.push(`${id}: ${page} does not exist`);
    }
    assert.deepEqual(bad, []);
  });

  it('flags shared by several commands are described in the same words', () => {
    const bad: string[] = [];
    for (const name of SHARED) {
      const seen = new Map<string, string[]>();
      for (const id of ids) {
        const f = commands[id].flags[name];
        if (!f || OWN_MEANING[name]?.includes(id)) continue;
        const text = f.description ?? f.summary ?? '';
        seen.set(text, [...(seen.get(text) ?? []), id]);
      }
      if (seen.size > 1) bad.push(`--${name}: ${[...seen].map(([t, who]) => `${JSON.stringify(t)} (${who.join(', ')})`).join(' vs ')}`);
    }
    assert.deepEqual(bad, []);
  });

  for (const width of WIDTHS) {
    it(`--help of every command at ${width} columns has no line broken mid-sentence`, async () => {
      const bad: string[] = [];
      const queue = ['', ...ids]; // '': iocptls --help itself
      const worker = async () => {
        for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
          const r = await runCli([...(id ? id.split(':') : []), '--help'], { env: { ...process.env, OCLIF_COLUMNS: String(width) } });
          assert.equal(r.code, 0, `${id} --help: exit ${r.code}\n${r.stderr}`);
          assert.match(r.out, /^USAGE$/m, `${id} --help printed no USAGE`);
          for (const b of hardBreaks(r.out, width)) bad.push(`${id}: ${b}`);
        }
      };
      await Promise.all([worker(), worker(), worker()]);
      assert.deepEqual(bad, []);
    });
  }

  it('the check catches a hard newline mid-sentence (the k8s-job description before the fix)', () => {
    const old =
      'DESCRIPTION\n  Everything after -- is the bench to run (bench, bench handshake or bench\n  throughput, with a target).\n' +
      '  Each pod runs its share (--shard auto/N: the pod\'s JOB_COMPLETION_INDEX), all\n  begin at one instant (--start-at, the\n' +
      '  time this is written plus --start-in), and print their result document on\n  stdout.\n';
    assert.equal(hardBreaks(old, 80).length, 1, hardBreaks(old, 80).join('\n'));
    assert.deepEqual(loneNewlines('at one instant (--start-at, the\ntime this is written)'), ['"at one instant (--start-at, the" ⏎ "time this is written)"']);
    assert.deepEqual(loneNewlines('One paragraph.\n\nAnother:\n- a list item\n- another'), []);
  });
});
