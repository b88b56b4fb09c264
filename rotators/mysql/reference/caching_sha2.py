"""An independent reference for MySQL's caching_sha2_password hash, written
from Ulrich Drepper's SHA-crypt specification (SHA-256, the same steps as
glibc's `$5$`) with MySQL's parameters: a 20-byte salt used whole (standard
SHA-crypt stops at 16) and 5000 rounds, stored as `$A$005$`, the salt and
the 43-character crypt encoding. The Rust implementation
(rotators/mysql/src/hash.rs) is checked against the values this prints;
this one is first checked against the specification's own test vectors
(and matched glibc's crypt(3) for 16-byte salts when written).

    python3 rotators/mysql/reference/caching_sha2.py
"""

import hashlib

ALPHABET = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def sha256(*parts):
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.digest()


def stretch(block, length):
    return (block * (length // len(block) + 1))[:length]


def sha256_crypt(password, salt, rounds):
    alternate = sha256(password, salt, password)
    a = hashlib.sha256(password + salt)
    a.update(stretch(alternate, len(password)))
    n = len(password)
    while n:
        a.update(alternate if n & 1 else password)
        n >>= 1
    a = a.digest()
    p = stretch(sha256(password * len(password)), len(password))
    s = stretch(sha256(salt * (16 + a[0])), len(salt))
    c = a
    for i in range(rounds):
        h = hashlib.sha256(p if i & 1 else c)
        if i % 3:
            h.update(s)
        if i % 7:
            h.update(p)
        h.update(c if i & 1 else p)
        c = h.digest()
    return c


def encode(digest):
    # The specification's order of the digest's bytes, three at a time.
    order = [
        (0, 10, 20), (21, 1, 11), (12, 22, 2), (3, 13, 23), (24, 4, 14),
        (15, 25, 5), (6, 16, 26), (27, 7, 17), (18, 28, 8), (9, 19, 29),
    ]
    out = []
    for b2, b1, b0 in order:
        w = (digest[b2] << 16) | (digest[b1] << 8) | digest[b0]
        for _ in range(4):
            out.append(ALPHABET[w & 0x3F])
            w >>= 6
    w = (digest[31] << 8) | digest[30]
    for _ in range(3):
        out.append(ALPHABET[w & 0x3F])
        w >>= 6
    return "".join(out)


def caching_sha2(password, salt):
    return "$A$005$" + salt.decode() + encode(sha256_crypt(password, salt, 5000))


# The specification's test vectors (16-byte salts, as standard SHA-crypt).
for password, salt, rounds, expected in [
    (b"Hello world!", b"saltstring", 5000, "5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"),
    (b"Hello world!", b"saltstringsaltst", 10000, "3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"),
    (b"This is just a test", b"toolongsaltstrin", 5000, "Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5"),
]:
    got = encode(sha256_crypt(password, salt, rounds))
    assert got == expected, (password, salt, got)

print(caching_sha2(b"pw", b"0123456789abcdefghij"))
print(caching_sha2(b"p'a\\ss%_", b"ABCDEFGHIJ./abcdefgh"))
