#!/usr/bin/env python3
"""S20 secrets scan (SECURITY.md §3): no private keys, Panorama tokens or literal passwords in the repository.

Scans every file git tracks or would track (`git ls-files -co --exclude-standard`, so new files count before
they are committed) for PEM private keys, Panorama secrets (`pak_`/`pwk_`/`pst_`/`prt_`/`pmc_`/`pnk_` followed
by a random-looking tail), common cloud tokens, a 32-byte base64 master key, and `password`/`secret`/`api_key`
assigned a literal with a digit or symbol in it (so UI labels such as 'Password' pass). Paths in scripts/secrets-allowlist.txt (a glob, then why) are exempt: test fixtures whose
passwords only ever protect throw-away test data. Exit status 1 with file:line:pattern for every hit (the
matched text is never printed). `--self-test` proves each pattern still catches what it should.
"""
import fnmatch
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
ALLOWLIST = ROOT / "scripts" / "secrets-allowlist.txt"
PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
    "panorama token": re.compile(r"\b(?:pak|pwk|pst|prt|pmc|pnk)_[A-Za-z0-9_-]{20,}"),
    "aws access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "github token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "master key": re.compile(r"MASTER_KEY\s*[=:]\s*[\"']?[A-Za-z0-9+/]{43}="),
    "literal password": re.compile(
        r"(?i)(?:password|passwd|secret|api_?key|write_?key)\w*[\"']?\s*[:=]\s*[\"'](?=[^\"']*[0-9_!@#%^&*+=.-])[^\"'\s$<{]{8,}[\"']"),
}
BINARY_SUFFIXES = {".png", ".jpg", ".ico", ".woff", ".woff2", ".xlsx", ".gz", ".zip", ".pnbk", ".db"}


def load_allowlist():
    globs = []
    for line in ALLOWLIST.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            globs.append(line.split()[0])
    return globs


def scan_text(text):
    hits = []
    for number, line in enumerate(text.splitlines(), 1):
        for name, pattern in PATTERNS.items():
            if pattern.search(line):
                hits.append((number, name))
    return hits


def tracked_files():
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                         capture_output=True).stdout.decode()
    return [p for p in out.split("\0") if p]


def scan_repo():
    allow = load_allowlist()
    hits = []
    for rel in tracked_files():
        path = ROOT / rel
        if not path.is_file() or path.suffix in BINARY_SUFFIXES:
            continue
        if any(fnmatch.fnmatch(rel, glob) for glob in allow):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        hits += [(rel, number, name) for number, name in scan_text(text)]
    return hits


def self_test():
    # Built from pieces so this file itself never matches.
    samples = {
        "private key": "-----BEGIN " + "EC PRIVATE KEY-----",
        "panorama token": "key = p" + "ak_" + "Q" * 43,
        "aws access key": "AKIA" + "ABCDEFGHIJKLMNOP",
        "github token": "gh" + "p_" + "a" * 36,
        "slack token": "xo" + "xb-" + "1234567890-abc",
        "master key": "PANORAMA_" + "MASTER_KEY=" + "A" * 43 + "=",
        "literal password": 'pass' + 'word = "' + "hunter2hunter2" + '"',
    }
    ok = True
    for name, sample in samples.items():
        found = [hit for _, hit in scan_text(sample)]
        if name not in found:
            print(f"self-test: {name} not caught")
            ok = False
    for clean in ['password = os.environ["X"]', 'password: "${PASSWORD}"', "pak_ prefix only", "secret = kSecret", "'login.password': 'Password'"]:
        if scan_text(clean):
            print(f"self-test: false positive on {clean!r}")
            ok = False
    with tempfile.TemporaryDirectory() as tmp:
        probe = pathlib.Path(tmp) / "probe.txt"
        probe.write_text(samples["private key"] + "\n")
        ok = ok and bool(scan_text(probe.read_text()))
    print("self-test", "ok" if ok else "FAILED")
    return ok


def main():
    if "--self-test" in sys.argv:
        return 0 if self_test() else 1
    hits = scan_repo()
    for rel, number, name in hits:
        print(f"{rel}:{number}: {name} (move it out of the repository, or allow-list a test fixture with a reason)")
    print(f"secrets scan: {len(hits)} finding(s)")
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())
