#!/usr/bin/env node
// Checks that every relative link in README.md and docs/**/*.md resolves: the file (or directory)
// exists, and a #anchor names a heading of that page (GitHub's anchors: lower case, punctuation
// dropped, spaces to hyphens, -1, -2... for repeats). Links to http(s) and mailto are not followed.
//
//   node scripts/docs-links.js        exit 1 and one line per broken link, else a count
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');

function pages() {
  const out = [path.join(ROOT, 'README.md')];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.md')) out.push(p);
    }
  };
  walk(path.join(ROOT, 'docs'));
  return out.sort();
}

/** The lines of a page outside fenced code blocks. */
function prose(text) {
  let fence = null;
  return text.split('\n').map((l) => {
    const m = /^\s*(```+|~~~+)/.exec(l);
    if (m) {
      if (!fence) fence = m[1][0];
      else if (m[1][0] === fence) fence = null;
      return '';
    }
    return fence ? '' : l;
  });
}

function slug(heading) {
  return heading
    .trim()
    .toLowerCase()
    .replace(/<[^>]+>/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

const anchorCache = new Map();
function anchors(file) {
  if (!anchorCache.has(file)) {
    const seen = new Map();
    const set = new Set();
    for (const l of prose(fs.readFileSync(file, 'utf8'))) {
      const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(l);
      if (!m) continue;
      const base = slug(m[1]);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      set.add(n ? `${base}-${n}` : base);
    }
    anchorCache.set(file, set);
  }
  return anchorCache.get(file);
}

function check() {
  const broken = [];
  let count = 0;
  for (const file of pages()) {
    const lines = prose(fs.readFileSync(file, 'utf8'));
    lines.forEach((line, i) => {
      const text = line.replace(/`[^`]*`/g, '');
      for (const m of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
        const target = m[1];
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
        count++;
        const [p, hash] = target.split('#');
        const dest = p ? path.resolve(path.dirname(file), decodeURIComponent(p)) : file;
        const where = `${path.relative(ROOT, file)}:${i + 1}`;
        if (!fs.existsSync(dest)) broken.push(`${where}: ${target}: no such file`);
        else if (hash !== undefined && !(dest.endsWith('.md') && anchors(dest).has(hash))) broken.push(`${where}: ${target}: no heading #${hash}`);
      }
    });
  }
  return { broken, count };
}

module.exports = { check, slug };
if (require.main === module) {
  const { broken, count } = check();
  for (const b of broken) console.log(b);
  console.log(`${count} relative links, ${broken.length} broken`);
  if (broken.length) process.exitCode = 1;
}
