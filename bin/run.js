#!/usr/bin/env node
// oclif entry point. Commands are compiled to dist/ by `npm install` (the prepare script).
// Node >= 22.1 can keep the compiled code of the modules a start loads (oclif, the command, the
// engine) in a cache on disk, so the next start skips compiling them (bench/startup.js measures
// it); older Node lacks the function and starts as before. NODE_DISABLE_COMPILE_CACHE=1 turns it off.
require('node:module').enableCompileCache?.();
// @oclif/core's index checks that Node.js satisfies @oclif/core's own `engines` (Node >= 18) by
// loading the whole of semver on every start, ~10% of a CLI start; package.json's engines and
// the Node lines CI tests say more than that warning would.
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1';
// A full scan's session probe thread starts loading now, beside oclif's ~150 ms on this thread
// (src/engine/workers/scan_prestart.ts).
require('../dist/src/engine/workers/scan_prestart').prestartScanThread(process.argv.slice(2));
const oclif = require('@oclif/core');

oclif.execute({ dir: __dirname }).catch(oclif.Errors.handle);
