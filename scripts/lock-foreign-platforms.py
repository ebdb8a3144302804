#!/usr/bin/env python3
"""Adds lock entries for platform packages the reachable npm registry does not serve.

The registry mirror this project installs from serves only the Linux x64/arm64 (glibc) builds of
some packages with per-platform binaries (rollup), and not at all some Windows-only optional
dependencies (vite's napi-windows-process-start-time). npm then leaves the other platforms' optional
dependencies out of package-lock.json, and `npm ci` rejects its own lock as out of sync. This
script adds those entries back, marked optional and restricted to their os/cpu/libc, so that
`npm ci` accepts the lock and skips them on every machine they do not fit (as it would anyway).
Run it after any `npm install` that rewrites package-lock.json.
"""
import json
import re
import sys

PLATFORM = re.compile(r"^@rollup/rollup-(android|darwin|freebsd|linux|openbsd|openharmony|win32)-([a-z0-9]+?)(?:-(gnueabihf|musleabihf|eabi|gnu|musl|msvc))?$")
# Optional dependencies for one OS only, whatever the CPU, that the registry does not serve.
SINGLE_OS = {"napi-windows-process-start-time": "win32"}
CPU = {"arm": "arm", "arm64": "arm64", "x64": "x64", "ia32": "ia32", "loong64": "loong64", "ppc64": "ppc64", "riscv64": "riscv64", "s390x": "s390x"}

path = sys.argv[1] if len(sys.argv) > 1 else "package-lock.json"
lock = json.load(open(path))
packages = lock["packages"]
added = 0
for key, entry in list(packages.items()):
    for name, version in (entry.get("optionalDependencies") or {}).items():
        target = f"node_modules/{name}"
        if target in packages:
            continue
        if name in SINGLE_OS:
            # The lowest version the range allows: npm ci only checks that it satisfies the range,
            # and skips the entry on every other OS without fetching it.
            floor = re.sub(r"^[~^>=]+", "", version)
            new = {"version": floor, "license": "MIT", "optional": True, "os": [SINGLE_OS[name]]}
            if entry.get("dev"):
                new["dev"] = True
            packages[target] = new
            added += 1
            continue
        match = PLATFORM.match(name)
        if match is None:
            continue
        os_name, arch, abi = match.groups()
        arch = "arm" if arch == "arm" else arch
        new = {"version": version, "cpu": [CPU.get(arch, arch)], "license": "MIT", "optional": True, "os": [os_name]}
        if entry.get("dev"):
            new["dev"] = True
        if abi in ("gnu", "gnueabihf"):
            new["libc"] = ["glibc"]
        elif abi in ("musl", "musleabihf"):
            new["libc"] = ["musl"]
        packages[target] = new
        added += 1
lock["packages"] = dict(sorted(packages.items(), key=lambda kv: (kv[0] != "", kv[0])))
with open(path, "w") as out:
    json.dump(lock, out, indent=2)
    out.write("\n")
print(f"added {added} foreign-platform lock entries")
