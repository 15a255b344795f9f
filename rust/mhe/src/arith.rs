//! Word-size modular arithmetic for moduli below 2^62.
//!
//! Two kinds of functions. Those marked *constant time* handle secret data (key
//! shares, errors, flooding, plaintexts, Shamir evaluations): they use only
//! multiplications, additions and masks, no division and no branch on the data
//! (Barrett reduction by a precomputed `floor(2^64/q)`, Shoup multiplication by a
//! public constant with its precomputed `floor(c*2^64/q)`). The others (`mul_mod`,
//! `pow_mod`, `inv_mod`, `from_i64`) use a 128-bit `%`, whose time depends on its
//! operands on common CPUs: they serve public data only (parameter derivation,
//! Lagrange coefficients of public points, plaintext scalars).

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

/// `r - q` if `r >= q`, else `r`, for `r < 2q < 2^63`; constant time.
#[inline]
pub(crate) fn ct_reduce_once(r: u64, q: u64) -> u64 {
    let t = r.wrapping_sub(q);
    // Top bit of t set: r < q, keep r (add q back); clear: keep t.
    let keep = 0u64.wrapping_sub(t >> 63);
    t.wrapping_add(q & keep)
}

/// `floor(2^64 / q)`, the Barrett constant of `q` (public).
pub(crate) fn barrett_constant(q: u64) -> u64 {
    // q is an odd prime, so floor((2^64 - 1)/q) = floor(2^64/q).
    u64::MAX / q
}

/// `floor(c * 2^64 / q)` for `c < q`: the Shoup constant of the public factor `c`.
#[expect(
    clippy::cast_possible_truncation,
    reason = "c < q, so the quotient is below 2^64"
)]
pub(crate) fn shoup_constant(c: u64, q: u64) -> u64 {
    ((u128::from(c) << 64) / u128::from(q)) as u64
}

/// `a mod q` for any `a < 2^64`, with `m = barrett_constant(q)`; constant time.
#[inline]
pub(crate) fn ct_reduce(a: u64, q: u64, m: u64) -> u64 {
    let est = ((u128::from(a) * u128::from(m)) >> 64) as u64;
    // est is floor(a/q) or one less, so the remainder is below 2q.
    ct_reduce_once(a.wrapping_sub(est.wrapping_mul(q)), q)
}

/// `a * c mod q` for any `a < 2^64` and a public `c < q` with `c_shoup =
/// shoup_constant(c, q)`; constant time in `a`.
#[inline]
pub(crate) fn ct_mul_shoup(a: u64, c: u64, c_shoup: u64, q: u64) -> u64 {
    let est = ((u128::from(a) * u128::from(c_shoup)) >> 64) as u64;
    ct_reduce_once(a.wrapping_mul(c).wrapping_sub(est.wrapping_mul(q)), q)
}

/// `-r mod q` when `negative` is all ones, `r` when it is zero, for `r < q`; constant
/// time.
#[inline]
fn ct_negate_if(r: u64, negative: u64, q: u64) -> u64 {
    let neg = ct_reduce_once(q - r, q);
    r ^ ((r ^ neg) & negative)
}

/// The constants of a modulus that the constant-time reductions need.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reducer {
    /// The modulus.
    pub(crate) q: u64,
    /// `floor(2^64 / q)`.
    barrett: u64,
    /// `2^64 mod q`.
    two64: u64,
    /// Shoup constant of `two64`.
    two64_shoup: u64,
}

impl Reducer {
    /// The constants of `q` (an odd prime below 2^62).
    #[expect(clippy::cast_possible_truncation, reason = "a remainder below q")]
    pub(crate) fn new(q: u64) -> Reducer {
        let two64 = ((1u128 << 64) % u128::from(q)) as u64;
        Reducer {
            q,
            barrett: barrett_constant(q),
            two64,
            two64_shoup: shoup_constant(two64, q),
        }
    }

    /// `a mod q` for an unsigned 128-bit `a`; constant time.
    #[inline]
    #[expect(clippy::cast_possible_truncation, reason = "the two halves of a u128")]
    pub(crate) fn reduce_u128(&self, a: u128) -> u64 {
        let q = self.q;
        // A Shoup product takes any 64-bit factor: the high half needs no reduction
        // of its own before it is multiplied by 2^64 mod q.
        let hi = ct_mul_shoup((a >> 64) as u64, self.two64, self.two64_shoup, q);
        let lo = ct_reduce(a as u64, q, self.barrett);
        ct_reduce_once(hi + lo, q)
    }

    /// A signed 64-bit integer reduced into `[0, q)`; constant time.
    #[inline]
    pub(crate) fn reduce_i64(&self, x: i64) -> u64 {
        let sign = (x >> 63).cast_unsigned();
        let abs = (x.cast_unsigned() ^ sign).wrapping_sub(sign);
        ct_negate_if(ct_reduce(abs, self.q, self.barrett), sign, self.q)
    }

    /// A signed 128-bit integer reduced into `[0, q)`; constant time.
    #[inline]
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a mask of all ones or zeros"
    )]
    pub(crate) fn reduce_i128(&self, x: i128) -> u64 {
        let sign128 = (x >> 127).cast_unsigned();
        let abs = (x.cast_unsigned() ^ sign128).wrapping_sub(sign128);
        ct_negate_if(self.reduce_u128(abs), sign128 as u64, self.q)
    }
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

/// A signed integer reduced into `[0, q)` (variable time: public data only).
#[inline]
#[expect(
    clippy::cast_possible_truncation,
    reason = "rem_euclid by q < 2^64 fits"
)]
pub(crate) fn from_i64(x: i64, q: u64) -> u64 {
    i128::from(x).rem_euclid(i128::from(q)) as u64
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
    #![allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
    use super::*;

    #[test]
    fn inverse_multiplies_to_one() {
        let q = 0x003f_ffff_fffd_6001_u64;
        for a in [1u64, 2, 12345, q - 1] {
            assert_eq!(mul_mod(a, inv_mod(a, q), q), 1);
        }
    }

    #[test]
    fn constant_time_reductions_agree_with_the_remainder() {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for q in [0x003f_ffff_fffd_6001_u64, 0x003f_ffff_ffaf_8001, 97, 65537] {
            let r = Reducer::new(q);
            let edges_i64 = [
                0i64,
                1,
                -1,
                i64::MAX,
                i64::MIN,
                q as i64,
                -(q as i64),
                19,
                -19,
            ];
            let edges_i128 = [0i128, 1, -1, i128::MAX, i128::MIN, 1 << 121, -(1 << 121)];
            for v in edges_i64
                .into_iter()
                .chain((0..2000).map(|_| next() as i64))
            {
                let want = i128::from(v).rem_euclid(i128::from(q)) as u64;
                assert_eq!(r.reduce_i64(v), want, "{v} mod {q}");
            }
            for v in edges_i128
                .into_iter()
                .chain((0..2000).map(|_| ((u128::from(next()) << 64) | u128::from(next())) as i128))
            {
                let want = v.rem_euclid(i128::from(q)) as u64;
                assert_eq!(r.reduce_i128(v), want, "{v} mod {q}");
                assert_eq!(r.reduce_u128(v as u128), (v as u128 % u128::from(q)) as u64);
            }
            for _ in 0..2000 {
                let a = next();
                let c = next() % q;
                assert_eq!(ct_reduce(a, q, barrett_constant(q)), a % q);
                let want = ((u128::from(a) * u128::from(c)) % u128::from(q)) as u64;
                assert_eq!(ct_mul_shoup(a, c, shoup_constant(c, q), q), want);
            }
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
