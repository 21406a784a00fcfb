#!/bin/sh
# Install the Debian packages pyscope needs, only those that are missing.
set -eu
# libclang-rt-14-dev: libFuzzer and the sanitizer runtimes (make fuzz); valgrind: make memcheck
PKGS="make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libcjson-dev libcapstone-dev libcmocka-dev
      python3.11 libclang-rt-14-dev valgrind"
missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	echo "deps: all present"
	exit 0
fi
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
