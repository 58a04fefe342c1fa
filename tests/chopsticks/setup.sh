# setup.sh: makes Node.js and the pinned chopsticks install ready for the end-to-end tests.
# Sourced by tests/run.sh (bash, `set -euo pipefail`, run from the repository root, DEPS set);
# exports PATH (when it installs node) and REGSOLVER_CHOPSTICKS for tests/it/support/chopsticks.rs.
#
# - Node.js: Debian's nodejs + npm when node or npm is missing. Chopsticks 1.5.1 declares node >= 22;
#   its tests pass on node 20 and 22 here, so node older than 20 (Debian 12 ships 18) is topped up
#   with an official node 22 build from npm's `node` package, into $DEPS/node (~185 MB).
# - Chopsticks: `npm ci` in tests/chopsticks (~250 MB of node_modules), rerun only when
#   package-lock.json or the node version changes. Install scripts are off (.npmrc): the only
#   package with one is sqlite3, for chopsticks' --db, which the tests do not use.

REGSOLVER_NODE_MIN_MAJOR=20
REGSOLVER_NODE_PACKAGE="node@22.23.3"

regsolver_node_major() {
  node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0
}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "==> installing nodejs and npm (Debian)"
  regsolver_sudo=""
  [ "$(id -u)" = 0 ] || regsolver_sudo="sudo"
  $regsolver_sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $regsolver_sudo apt-get install -y -qq nodejs npm >/dev/null
fi

if [ -x "$DEPS/node/node_modules/.bin/node" ] \
  && [ "$(cat "$DEPS/node/.installed" 2>/dev/null)" = "$REGSOLVER_NODE_PACKAGE" ]; then
  export PATH="$DEPS/node/node_modules/.bin:$PATH"
elif [ "$(regsolver_node_major)" -lt "$REGSOLVER_NODE_MIN_MAJOR" ]; then
  echo "==> node $(node --version) is older than $REGSOLVER_NODE_MIN_MAJOR: installing $REGSOLVER_NODE_PACKAGE (npm) into $DEPS/node"
  rm -rf "$DEPS/node"
  mkdir -p "$DEPS/node"
  npm install --prefix "$DEPS/node" --no-audit --no-fund --loglevel=error "$REGSOLVER_NODE_PACKAGE" >/dev/null
  echo "$REGSOLVER_NODE_PACKAGE" > "$DEPS/node/.installed"
  export PATH="$DEPS/node/node_modules/.bin:$PATH"
fi

REGSOLVER_CHOPSTICKS="$PWD/tests/chopsticks"
regsolver_stamp="$(sha256sum "$REGSOLVER_CHOPSTICKS/package-lock.json" | cut -d' ' -f1) node-$(node --version)"
if [ "$(cat "$REGSOLVER_CHOPSTICKS/node_modules/.regsolver-installed" 2>/dev/null)" != "$regsolver_stamp" ]; then
  echo "==> installing chopsticks (npm ci in tests/chopsticks, about 2 minutes the first time)"
  (cd "$REGSOLVER_CHOPSTICKS" && npm ci --loglevel=error >/dev/null)
  echo "$regsolver_stamp" > "$REGSOLVER_CHOPSTICKS/node_modules/.regsolver-installed"
fi
export REGSOLVER_CHOPSTICKS
echo "==> node $(node --version), chopsticks $(node -p 'require("./tests/chopsticks/node_modules/@acala-network/chopsticks/package.json").version')"
