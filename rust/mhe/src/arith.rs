//! Word-size modular arithmetic for moduli below 2^62.

/// `a + b mod q` for `a, b < q`.
#[inline]
pub(crate) fn add_mod(a: u64, b: u64, q: u64) -> u64 {
    let s = a + b;
    if s >= q { s - q } else { s }
}

/// `a - b mod q` for `a, b < q`.
#[inline]
pub(crate) fn sub_mod(a: u64, b: u64, q: u64) -> u64 {
    if a >= b { a - b } else { a + q - b }
}

/// `-a mod q` for `a < q`.
#[inline]
pub(crate) fn neg_mod(a: u64, q: u64) -> u64 {
    if a == 0 { 0 } else { q - a }
}

/// `a * b mod q`.
#[inline]
#[expect(
    clippy::cast_possible_truncation,
    reason = "the remainder is below q < 2^64"
)]
pub(crate) fn mul_mod(a: u64, b: u64, q: u64) -> u64 {
    ((u128::from(a) * u128::from(b)) % u128::from(q)) as u64
}

/// `a^e mod q`.
pub(crate) fn pow_mod(mut a: u64, mut e: u64, q: u64) -> u64 {
    let mut r = 1 % q;
    a %= q;
    while e > 0 {
        if e & 1 == 1 {
            r = mul_mod(r, a, q);
        }
        a = mul_mod(a, a, q);
        e >>= 1;
    }
    r
}

/// `a^-1 mod q` for prime `q` and `a` not divisible by `q`.
pub(crate) fn inv_mod(a: u64, q: u64) -> u64 {
    pow_mod(a, q - 2, q)
}

/// A signed integer reduced into `[0, q)`.
#[inline]
#[expect(
    clippy::cast_possible_truncation,
    reason = "rem_euclid by q < 2^64 fits"
)]
pub(crate) fn from_i64(x: i64, q: u64) -> u64 {
    i128::from(x).rem_euclid(i128::from(q)) as u64
}

/// A signed 128-bit integer reduced into `[0, q)`.
#[inline]
#[expect(
    clippy::cast_possible_truncation,
    reason = "rem_euclid by q < 2^64 fits"
)]
pub(crate) fn from_i128(x: i128, q: u64) -> u64 {
    x.rem_euclid(i128::from(q)) as u64
}

#[cfg(test)]
/// The centred representative of `x mod q`, in `(-q/2, q/2]`.
#[inline]
pub(crate) fn centred(x: u64, q: u64) -> i64 {
    if x > q / 2 {
        x as i64 - q as i64
    } else {
        x as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_multiplies_to_one() {
        let q = 0x003f_ffff_fffd_6001_u64;
        for a in [1u64, 2, 12345, q - 1] {
            assert_eq!(mul_mod(a, inv_mod(a, q), q), 1);
        }
    }

    #[test]
    fn signed_reduction_round_trips() {
        let q = 97;
        for x in -300i64..300 {
            let r = from_i64(x, q);
            assert!(r < q);
            assert_eq!((i64::try_from(r).unwrap_or(0) - x).rem_euclid(97), 0);
            assert_eq!(centred(r, q).rem_euclid(97), x.rem_euclid(97));
        }
    }
}
