# Sourced by the example scripts: rebuild dist/ (the CLI) when src/ or shaders/ changed since the last build.
if [ ! -f dist/cli.js ] || [ -n "$(find src shaders -newer dist/cli.js -print -quit)" ]; then
  echo "building the CLI (npm run build)..."
  npm run build --silent >/dev/null
fi

# docs_corpus FILE: the corpus as builtinText() joins it (src/cli/data.ts), written to FILE so that webgrad and
# torch read one snapshot while the docs change: the README, then docs/*.md in name order, joined by newlines.
docs_corpus() {
  { cat README.md; for f in $(LC_ALL=C ls docs/*.md); do printf '\n'; cat "$f"; done; } >"$1"
}
