#!/usr/bin/env node
import { buildProgram } from './program.js';
import { reportError } from './context.js';

const program = buildProgram();
program.parseAsync(process.argv).catch((err) => {
  process.exitCode = reportError(err, Boolean(program.opts().json));
});
