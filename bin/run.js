#!/usr/bin/env node
// oclif entry point. Commands are compiled to dist/ by `npm install` (the prepare script).
const oclif = require('@oclif/core');

oclif.execute({ dir: __dirname }).catch(oclif.Errors.handle);
