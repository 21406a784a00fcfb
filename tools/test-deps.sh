#!/bin/sh
# What make test needs beyond make deps: Chromium and the speedscope viewer
# (npm) for the speedscope end-to-end test, and a Prometheus server that
# scrapes pyscope serve.  Installs only what is missing.
set -eu
cd "$(dirname "$0")/.."
missing=""
for p in chromium nodejs npm prometheus; do
	if ! command -v "$p" >/dev/null 2>&1 && \
	   ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
# nodejs may come from elsewhere: only ask apt for what has no command
[ -n "$(command -v node || true)" ] && missing=$(echo "$missing" | sed 's/ nodejs//; s/ npm//')
if [ -n "$missing" ]; then
	echo "test-deps: installing$missing"
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	# the package lists may be missing or stale: update when a package has no candidate
	for p in $missing; do
		if ! apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [^(]'; then
			$SUDO apt-get update -qq
			break
		fi
	done
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
if [ ! -d tests/e2e/speedscope/node_modules/speedscope ] || \
   [ ! -d tests/e2e/speedscope/node_modules/playwright-core ]; then
	(cd tests/e2e/speedscope && npm ci --no-audit --no-fund --loglevel=error)
fi
