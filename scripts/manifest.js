#!/usr/bin/env node
// Writes oclif.manifest.json after a build, so each run loads only the command it needs
// (without it, oclif imports every command at startup: ~150 ms on every invocation).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { Config } = require('@oclif/core');

(async () => {
  const root = path.join(__dirname, '..');
  const file = path.join(root, 'oclif.manifest.json');
  fs.rmSync(file, { force: true }); // never build from a stale one
  const config = await Config.load(root);
  const manifest = config.plugins.get(config.pjson.name).manifest;
  if (!manifest || Object.keys(manifest.commands).length === 0) throw new Error('no commands found: build first');
  fs.writeFileSync(file, JSON.stringify(manifest));
})().catch((e) => {
  console.error(`manifest: ${e.message}`);
  process.exit(1);
});
