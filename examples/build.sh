# Sourced by the example scripts: rebuild dist/ (the CLI) when src/ or shaders/ changed since the last build.
if [ ! -f dist/cli.js ] || [ -n "$(find src shaders -newer dist/cli.js -print -quit)" ]; then
  echo "building the CLI (npm run build)..."
  npm run build --silent >/dev/null
fi
