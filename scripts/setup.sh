#!/usr/bin/env bash
# Set up everything Saker needs on Debian 12, as root. Idempotent: a second run takes seconds.
#  - Debian packages: python3-bpfcc (BCC), kernel headers, sysdig (the oracle for filter tests), python3-venv
#  - kernel headers: the running kernel's own package when Debian has it; otherwise linux-headers-amd64, with
#    /lib/modules/$(uname -r)/build and /source pointing at it (BCC reads struct offsets from BTF, not these)
#  - .venv/ on Debian's Python 3.11, seeing Debian's bcc module, with every pip dependency of pyproject.toml
#  - with --test (./saker test): docker.io too (with containerd and runc), for live tests against a real Docker
#    daemon and a real containerd
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        say "must run as root (it installs Debian packages and loads eBPF programs): sudo $0"
        exit 1
    fi
}

debian_packages() {
    local kernel headers missing=()
    kernel="$(uname -r)"
    headers="linux-headers-${kernel}"
    for pkg in python3-bpfcc python3-venv sysdig; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    if [ ! -e "/lib/modules/${kernel}/build/Makefile" ]; then
        if apt-cache show "$headers" >/dev/null 2>&1 || { apt-get update -qq && apt-cache show "$headers" >/dev/null 2>&1; }; then
            missing+=("$headers")
        else
            missing+=(linux-headers-amd64)
        fi
    fi
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing Debian packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    link_headers "$kernel"
}

link_headers() {
    # The running kernel has no Debian headers package (a custom build): point its module folder at the
    # newest installed Debian headers so BCC can compile. Offsets it needs come from BTF at run time.
    local kernel="$1" dir="/lib/modules/$1"
    [ -e "$dir/build/Makefile" ] && return 0
    local arch common
    arch="$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1)"
    common="$(ls -d /usr/src/linux-headers-*-common 2>/dev/null | sort -V | tail -n 1)"
    if [ -z "$arch" ]; then
        say "no kernel headers found under /usr/src"; exit 1
    fi
    mkdir -p "$dir"
    ln -sfn "$arch" "$dir/build"
    ln -sfn "${common:-$arch}" "$dir/source"
    say "linked $dir/build -> $arch"
}

test_packages() {
    # Live tests run a Docker daemon and a containerd of their own (tests/dockerd.py, tests/containerd.py).
    # Installing docker.io must not start the host's docker or containerd service: policy-rc.d (exit 101) tells
    # the package scripts not to.
    local missing=() guard=/usr/sbin/policy-rc.d
    dpkg-query -W -f='${Status}' docker.io 2>/dev/null | grep -q 'install ok installed' || missing+=(docker.io)
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing Debian packages for the tests: ${missing[*]}"
    if [ ! -e "$guard" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$guard" && chmod +x "$guard"
        trap "rm -f $guard" EXIT
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

tracing_fs() {
    # BCC attaches tracepoints through tracefs (looked up under /sys/kernel/debug/tracing).
    mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true
    [ -e /sys/kernel/debug/tracing/events ] || mount -t tracefs tracefs /sys/kernel/debug/tracing 2>/dev/null \
        || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
    if [ ! -e /sys/kernel/debug/tracing/events ] && [ ! -e /sys/kernel/tracing/events ]; then
        say "warning: tracefs is not mounted and could not be mounted; live capture will not attach"
    fi
}

python_env() {
    local stamp=.venv/.saker-deps
    local want
    want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
    if [ ! -x .venv/bin/python ]; then
        say "creating .venv (Debian python3.11)"
        /usr/bin/python3.11 -m venv .venv
    fi
    # Debian's bcc is a pure-Python module over libbcc: link just that package into the venv.
    local site
    site="$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    ln -sfn /usr/lib/python3/dist-packages/bcc "$site/bcc"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        say "installing Python dependencies from pyproject.toml"
        .venv/bin/python -m pip install -q --disable-pip-version-check -U pip >/dev/null 2> >(grep -v "^WARNING: Location 'file:" >&2)
        .venv/bin/python scripts/deps.py | xargs -d '\n' .venv/bin/python -m pip install -q --disable-pip-version-check \
            2> >(grep -v "^WARNING: Location 'file:" >&2)
        echo "$want" > "$stamp"
    fi
}

need_root
debian_packages
[ "${1:-}" = "--test" ] && test_packages
tracing_fs
python_env
