#!/usr/bin/env python3
"""S10: judges one `sslscan --xml` result (scripts/tls-scan.sh). Exit 1 naming every finding.

Fails on SSLv2/3, TLS 1.0/1.1 enabled; an accepted suite that is not forward-secret (ECDHE/DHE, or any TLS 1.3
suite), not AEAD (GCM, ChaCha20-Poly1305, CCM), or weak (CBC, RC4, 3DES, NULL, EXPORT, anonymous, MD5, or
rated null/weak/medium by sslscan); client renegotiation; heartbleed; compression. `--self-test` checks that
a weak server's scan trips every rule and a good one passes.
"""
import re
import sys
import xml.etree.ElementTree as ET


def findings(root):
    test = root.find("ssltest")
    if test is None:
        return ["sslscan produced no result"]
    bad = []
    enabled = {f'{p.get("type")} {p.get("version")}' for p in test.iter("protocol") if p.get("enabled") == "1"}
    bad += [f"protocol {proto} enabled" for proto in sorted(enabled - {"tls 1.2", "tls 1.3"})]
    if not enabled & {"tls 1.2", "tls 1.3"}:
        bad.append("neither TLS 1.2 nor 1.3 enabled")
    ciphers = list(test.iter("cipher"))
    if not ciphers:
        bad.append("no cipher suite accepted")
    for c in ciphers:
        name, version, strength = c.get("cipher", ""), c.get("sslversion"), c.get("strength")
        if version != "TLSv1.3" and not re.match(r"(ECDHE|DHE)-", name):
            bad.append(f"{version} {name}: not forward-secret")
        if not re.search(r"GCM|CHACHA20|CCM", name):
            bad.append(f"{version} {name}: not AEAD")
        if re.search(r"CBC|RC4|3DES|DES-|NULL|EXP|ADH|AECDH|MD5|anon", name) or strength in ("null", "weak", "medium"):
            bad.append(f"{version} {name}: weak (sslscan strength {strength})")
    bad += ["client renegotiation supported" for r in test.iter("renegotiation") if r.get("supported") == "1"]
    bad += [f"heartbleed on {h.get('sslversion')}" for h in test.iter("heartbleed") if h.get("vulnerable") == "1"]
    bad += ["TLS compression supported" for c in test.iter("compression") if c.get("supported") == "1"]
    print(f"protocols: {', '.join(sorted(enabled))}; {len(ciphers)} suites: " + ", ".join(c.get("cipher", "") for c in ciphers))
    return bad


GOOD = """<document><ssltest host="h" port="1">
 <protocol type="tls" version="1.1" enabled="0" /><protocol type="tls" version="1.2" enabled="1" />
 <protocol type="tls" version="1.3" enabled="1" /><renegotiation supported="0" secure="0" />
 <heartbleed sslversion="TLSv1.2" vulnerable="0" />
 <cipher status="accepted" sslversion="TLSv1.3" cipher="TLS_AES_128_GCM_SHA256" strength="acceptable" />
 <cipher status="accepted" sslversion="TLSv1.2" cipher="ECDHE-RSA-AES128-GCM-SHA256" strength="strong" />
</ssltest></document>"""
WEAK = """<document><ssltest host="h" port="1">
 <protocol type="ssl" version="3" enabled="1" /><protocol type="tls" version="1.0" enabled="1" />
 <protocol type="tls" version="1.2" enabled="1" /><renegotiation supported="1" secure="1" />
 <compression supported="1" /><heartbleed sslversion="TLSv1.2" vulnerable="1" />
 <cipher status="accepted" sslversion="TLSv1.2" cipher="AES128-GCM-SHA256" strength="strong" />
 <cipher status="accepted" sslversion="TLSv1.2" cipher="ECDHE-RSA-AES128-SHA256" strength="strong" />
 <cipher status="accepted" sslversion="TLSv1.2" cipher="ECDHE-RSA-DES-CBC3-SHA" strength="medium" />
 <cipher status="accepted" sslversion="TLSv1.0" cipher="RC4-SHA" strength="weak" />
</ssltest></document>"""
WEAK_RULES = ["protocol ssl 3", "protocol tls 1.0", "AES128-GCM-SHA256: not forward-secret",
              "ECDHE-RSA-AES128-SHA256: not AEAD", "DES-CBC3-SHA: weak", "RC4-SHA: weak", "renegotiation",
              "heartbleed", "compression"]


def self_test():
    ok = not findings(ET.fromstring(GOOD))
    weak = findings(ET.fromstring(WEAK))
    for rule in WEAK_RULES:
        if not any(rule in f for f in weak):
            print(f"self-test: rule not triggered: {rule}")
            ok = False
    print("self-test", "ok" if ok else "FAILED")
    return ok


def main():
    if sys.argv[1:] == ["--self-test"]:
        return 0 if self_test() else 1
    bad = findings(ET.parse(sys.argv[1]).getroot())
    for b in bad:
        print("FAIL:", b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
