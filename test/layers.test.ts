// DESIGN.md's layering, read from the sources' import lines so that it stays kept: only native/
// knows C (koffi is imported nowhere else), commands and their flag helpers (src/cli) reach the
// engine through its entry points (never native/ or engine/port/), apps never talk to a port or
// to native/, and the report files import each other in one direction only (no circle).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** Every .ts file below `dir` (relative to the repo root), as root-relative paths with '/'. */
function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...tsFiles(rel));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** What a file imports: static imports and re-exports (type-only too), require() and import(). */
function specifiers(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm, // import x from '…', export { y } from '…' (over several lines too)
    /^\s*import\s*['"]([^'"]+)['"]/gm, // import '…'
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) found.push(m[1]);
  return found;
}

/** A relative specifier as the root-relative file it names (…/x → …/x.ts or …/x/index.ts); packages as they are. */
function resolve(from: string, spec: string): string {
  if (!spec.startsWith('.')) return spec;
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  for (const candidate of [`${base}.ts`, `${base}/index.ts`]) if (fs.existsSync(path.join(ROOT, candidate))) return candidate;
  return base;
}

const SRC = tsFiles('src');
const imports = new Map(SRC.map((f) => [f, specifiers(f).map((s) => resolve(f, s))]));

/** Every import of a file under `from` that `bad` flags, as "file -> target" lines. */
function violations(from: string, bad: (target: string) => boolean): string[] {
  const out: string[] = [];
  for (const [file, targets] of imports) if (file.startsWith(from)) for (const t of targets) if (bad(t)) out.push(`${file} -> ${t}`);
  return out;
}

describe('layers (DESIGN.md), from the import lines', () => {
  it('reads import lines: it finds what known files import', () => {
    // A parser that found nothing would make every rule below pass.
    assert.ok(specifiers('native/openssl.ts').includes('koffi'));
    assert.ok(imports.get('src/engine/loop.ts')!.includes('src/engine/port/types.ts'));
    assert.ok(imports.get('src/engine/port/index.ts')!.includes('src/engine/port/iocp.ts'), 'require() counts');
    assert.ok(imports.get('src/report/result.ts')!.includes('src/report/client_cost.ts'));
    assert.ok(SRC.length > 100, `${SRC.length} files`);
  });

  it('koffi is imported only in native/', () => {
    assert.deepEqual(violations('src/', (t) => t === 'koffi' || t.startsWith('koffi/')), []);
  });

  it('commands and src/cli never import native/ or engine/port/ (they go through engine entry points)', () => {
    const low = (t: string) => t.startsWith('native/') || t.startsWith('src/engine/port/');
    assert.deepEqual([...violations('src/commands/', low), ...violations('src/cli/', low)], []);
  });

  it('apps never import a port or native/ (they speak to the loop, tls/, wire/ and http/)', () => {
    assert.deepEqual(violations('src/engine/apps/', (t) => t.startsWith('native/') || t.startsWith('src/engine/port/')), []);
  });

  it('no import circle among src/report files', () => {
    const report = SRC.filter((f) => f.startsWith('src/report/'));
    const edges = new Map(report.map((f) => [f, imports.get(f)!.filter((t) => t.startsWith('src/report/'))]));
    const state = new Map<string, 'open' | 'done'>();
    const circles: string[] = [];
    const visit = (f: string, trail: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        circles.push([...trail.slice(trail.indexOf(f)), f].join(' -> '));
        return;
      }
      state.set(f, 'open');
      for (const t of edges.get(f) ?? []) visit(t, [...trail, f]);
      state.set(f, 'done');
    };
    for (const f of report) visit(f, []);
    assert.deepEqual(circles, []);
  });
});
