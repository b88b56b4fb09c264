//! Password hashes computed in the function, in the form each
//! authentication plugin stores, so that the statement that sets a
//! password carries the hash and never the password: not into the general
//! query log, the slow log, the binary log, nor `performance_schema`.

use curve25519_dalek::edwards::EdwardsPoint;
use rotation_core::SecretString;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

/// The crypt(3) alphabet of SHA-crypt (and of caching_sha2_password's
/// salts).
const CRYPT_ALPHABET: &[u8; 64] =
    b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `mysql_native_password`: `*` and the upper-case hex of
/// SHA1(SHA1(password)), as MySQL's and MariaDB's `PASSWORD()` give.
pub fn native_password(password: &SecretString) -> String {
    let inner = Sha1::digest(password.expose().as_bytes());
    let outer = Sha1::digest(inner);
    let mut hash = String::with_capacity(41);
    hash.push('*');
    for byte in outer {
        hash.push_str(&format!("{byte:02X}"));
    }
    hash
}

/// MariaDB's `ed25519`: the Ed25519 public key whose secret scalar is
/// SHA-512(password) clamped (the password stands where Ed25519 puts its
/// 32-byte seed), in base64 without padding: 43 characters.
pub fn ed25519_password(password: &SecretString) -> String {
    let digest = Sha512::digest(password.expose().as_bytes());
    let mut scalar = [0u8; 32];
    scalar.copy_from_slice(&digest[..32]);
    let public = EdwardsPoint::mul_base_clamped(scalar).compress();
    base64_unpadded(public.as_bytes())
}

/// MySQL's `caching_sha2_password`: `$A$005$`, a 20-character salt, and
/// SHA-256-crypt of the password with that salt and 5000 rounds (43
/// characters). MySQL's salts are 20 bytes, where standard SHA-crypt stops
/// at 16; the salt here is drawn from the crypt alphabet, so the hash is
/// printable and needs no hex literal.
pub fn caching_sha2_password(password: &SecretString) -> String {
    let mut random = [0u8; 20];
    getrandom::fill(&mut random).expect("the system's random source");
    let salt: Vec<u8> = random
        .iter()
        .map(|b| CRYPT_ALPHABET[usize::from(b & 0x3f)])
        .collect();
    caching_sha2_with_salt(password.expose().as_bytes(), &salt)
}

fn caching_sha2_with_salt(password: &[u8], salt: &[u8]) -> String {
    const ROUNDS: u32 = 5000;
    let digest = sha256_crypt(password, salt, ROUNDS);
    format!(
        "$A${:03}${}{}",
        ROUNDS / 1000,
        String::from_utf8_lossy(salt),
        crypt_base64(&digest)
    )
}

/// Ulrich Drepper's SHA-256-crypt, the digest before encoding.
fn sha256_crypt(password: &[u8], salt: &[u8], rounds: u32) -> [u8; 32] {
    let b = Sha256::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize();
    let mut a = Sha256::new().chain_update(password).chain_update(salt);
    let mut left = password.len();
    while left > 32 {
        a.update(b);
        left -= 32;
    }
    a.update(&b[..left]);
    let mut length = password.len();
    while length > 0 {
        if length & 1 == 1 {
            a.update(b);
        } else {
            a.update(password);
        }
        length >>= 1;
    }
    let a = a.finalize();

    let mut dp = Sha256::new();
    for _ in 0..password.len() {
        dp.update(password);
    }
    let p = repeat_to(&dp.finalize(), password.len());
    let mut ds = Sha256::new();
    for _ in 0..16 + usize::from(a[0]) {
        ds.update(salt);
    }
    let s = repeat_to(&ds.finalize(), salt.len());

    let mut c: [u8; 32] = a.into();
    for round in 0..rounds {
        let mut h = Sha256::new();
        if round % 2 == 1 {
            h.update(&p);
        } else {
            h.update(c);
        }
        if round % 3 != 0 {
            h.update(&s);
        }
        if round % 7 != 0 {
            h.update(&p);
        }
        if round % 2 == 1 {
            h.update(c);
        } else {
            h.update(&p);
        }
        c = h.finalize().into();
    }
    c
}

fn repeat_to(block: &[u8], length: usize) -> Vec<u8> {
    block.iter().copied().cycle().take(length).collect()
}

/// SHA-256-crypt's encoding: bytes taken in its fixed permutation, three at
/// a time, least significant six bits first.
fn crypt_base64(digest: &[u8; 32]) -> String {
    const ORDER: [(usize, usize, usize); 10] = [
        (0, 10, 20),
        (21, 1, 11),
        (12, 22, 2),
        (3, 13, 23),
        (24, 4, 14),
        (15, 25, 5),
        (6, 16, 26),
        (27, 7, 17),
        (18, 28, 8),
        (9, 19, 29),
    ];
    let mut out = String::with_capacity(43);
    let mut push = |value: u32, chars: usize| {
        let mut w = value;
        for _ in 0..chars {
            out.push(char::from(CRYPT_ALPHABET[(w & 0x3f) as usize]));
            w >>= 6;
        }
    };
    for (x, y, z) in ORDER {
        push(
            u32::from(digest[x]) << 16 | u32::from(digest[y]) << 8 | u32::from(digest[z]),
            4,
        );
    }
    push(u32::from(digest[31]) << 8 | u32::from(digest[30]), 3);
    out
}

/// Standard base64 (RFC 4648) without padding.
fn base64_unpadded(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 0x3f) as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_password_matches_the_servers_password_function() {
        // SELECT PASSWORD('secret2') on MariaDB 10.11 and MySQL 5.7.
        assert_eq!(
            native_password(&SecretString::new("secret2")),
            "*305D7BCA9D65D8D5C4677F05CD2EA2EBE350158F"
        );
    }

    #[test]
    fn ed25519_matches_mariadbs_plugin() {
        // CREATE USER ... IDENTIFIED VIA ed25519 USING PASSWORD('secret1')
        // on MariaDB 10.11 stored this authentication_string.
        assert_eq!(
            ed25519_password(&SecretString::new("secret1")),
            "ufYMbgQwMEBcrJerSMpOTf1jLgveXUaoIyvaeGaeg3I"
        );
    }

    #[test]
    fn sha256_crypt_matches_drepper_test_vectors() {
        // From the SHA-crypt specification, as glibc's crypt(3) computes them.
        let digest = sha256_crypt(b"Hello world!", b"saltstring", 5000);
        assert_eq!(
            crypt_base64(&digest),
            "5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"
        );
        let digest = sha256_crypt(b"Hello world!", b"saltstringsaltst", 10000);
        assert_eq!(
            crypt_base64(&digest),
            "3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"
        );
        let digest = sha256_crypt(b"This is just a test", b"toolongsaltstrin", 5000);
        assert_eq!(
            crypt_base64(&digest),
            "Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5"
        );
    }

    #[test]
    fn caching_sha2_has_mysqls_layout_and_a_fresh_salt() {
        let password = SecretString::new("p'a\\ss%_");
        let one = caching_sha2_password(&password);
        let two = caching_sha2_password(&password);
        assert_eq!(one.len(), 70, "{one}");
        assert!(one.starts_with("$A$005$"));
        assert_ne!(one, two, "each hash has its own salt");
        assert!(one
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'\'' && b != b'\\'));
    }

    /// Against an independent implementation of the documented algorithm
    /// (rotators/mysql/reference/caching_sha2.py: SHA-crypt from its
    /// specification, checked against its test vectors and glibc, with
    /// MySQL's 20-byte salt and 5000 rounds), which printed these. The
    /// mutant that cuts the salt at 16 bytes, as standard SHA-crypt does,
    /// gives another hash: the reference tells them apart.
    #[test]
    fn caching_sha2_matches_the_reference_implementation() {
        let salt = b"0123456789abcdefghij";
        let reference = "$A$005$0123456789abcdefghijQJAAqpzc9fHqvtjwi3a/FerKAUN3w6HI.Z3Ty6wEyi8";
        assert_eq!(caching_sha2_with_salt(b"pw", salt), reference);
        assert_eq!(
            caching_sha2_with_salt(b"p'a\\ss%_", b"ABCDEFGHIJ./abcdefgh"),
            "$A$005$ABCDEFGHIJ./abcdefghy5sij/yjXKRA/fnTcz/Xlrqr9uj3pVClr4bf6TglNFC"
        );
        let truncated = format!(
            "$A$005${}{}",
            String::from_utf8_lossy(salt),
            crypt_base64(&sha256_crypt(b"pw", &salt[..16], 5000))
        );
        assert_ne!(truncated, reference, "a 16-byte salt is not MySQL's");
    }

    #[test]
    fn base64_matches_rfc_4648() {
        assert_eq!(base64_unpadded(b""), "");
        assert_eq!(base64_unpadded(b"f"), "Zg");
        assert_eq!(base64_unpadded(b"fo"), "Zm8");
        assert_eq!(base64_unpadded(b"foo"), "Zm9v");
        assert_eq!(base64_unpadded(b"foobar"), "Zm9vYmFy");
    }
}
