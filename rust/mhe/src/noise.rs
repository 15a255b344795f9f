//! Noise estimates, flooding width, correctness margin and the share budget, in one
//! place. Every figure depends on `k`, the number of parties of the set whose
//! contributions one pooled ciphertext sums (and who decrypt it): a protocol is sized
//! for the set it serves, not for [`MAX_PARTIES`].
//!
//! # Ciphertext noise
//!
//! A fresh encryption under the collective key of `k` parties, `(p0*u + e0 + Δm,
//! p1*u + e1)` with `p0 = -a*s + e_pk`, `s = Σ s_i`, `e_pk = Σ e_i`, decrypts to
//! `Δm + e_pk*u + e0 + e1*s`. With ternary `u, s_i` (variance 2/3) and Gaussian errors
//! (variance σ² = 3.2²), each coefficient of that noise has variance about
//! `σ² (4Nk/3 + 1)`: [`fresh_sd`]. A pooled ciphertext sums one such encryption per
//! party, so its noise has variance `k` times that: [`pooled_sd`]. We bound it by
//! `B(k)` = [`TAIL_SDS`] = 10 standard deviations: [`ciphertext_noise_bits`]. A
//! Gaussian exceeds 10 sd with probability 2^-75.80 per coefficient ([`TAIL_LOG2`]);
//! the 9 sd used before gave 2^-61.94 (not "below 2^-62", as this file once said).
//!
//! # Flooding, per share and per session
//!
//! A decryption share `c1*s_i + f_i` carries uniform smudging noise `f_i` over
//! `[-W, W)`, `W = 2^flooding_bits(k)`. By the smudging lemma the statistical distance
//! between `f_i` and `f_i + e` for any `|e| <= B` is at most `B/W` per coefficient,
//! hence `N*B/W` per share, plus the probability `N * 2^TAIL_LOG2` that the noise
//! exceeds `B` at all.
//!
//! A key share produces at most [`MAX_SHARES_PER_SESSION`] = 2^[`SHARE_CAP_BITS`]
//! shares in a session (`DecryptionLedger` refuses the next one). By the hybrid
//! argument the distance of everything one site releases in a session is at most the
//! sum over its shares, so `W = 2^(b + log2 N + 40 + SHARE_CAP_BITS)` makes the
//! **total** at most `2^-40 + 2^(SHARE_CAP_BITS + log2 N + TAIL_LOG2)`, below `2^-39.99`
//! for every published set ([`session_distance_log2`], tested). Each party floods on
//! its own, so one honest party suffices.
//!
//! # Correctness margin
//!
//! Decryption rounds `t/Q * (Δm + noise)`; it is exact while `|noise| < Q/(2t)`. The
//! noise of a pooled decryption is at most `k*W` (flooding, worst case, not a
//! probabilistic bound) `+ B` (ciphertext) `+ k*t` (the wrap-around of masked
//! plaintexts, see [`crate::protocols::zero_sum`]). [`correctness_margin_bits`] is
//! `log2(Q/(2t)) - log2(that)`; a protocol refuses a set whose margin is below
//! [`MIN_MARGIN_BITS`], which bounds the sets a parameter set supports
//! ([`max_parties`]: 110 under `default`, [`MAX_PARTIES`] under `large` and `xlarge`).

use crate::params::{MAX_PARTIES, Params};
use crate::sampling::SIGMA;

/// Bits of statistical security that flooding gives against the ciphertext noise,
/// over all the shares one key share produces in a session.
pub const STATISTICAL_SECURITY_BITS: u32 = 40;
/// log2 of the number of decryption shares a key share may produce in a session.
pub const SHARE_CAP_BITS: u32 = 10;
/// Decryption shares a key share may produce in a session (1024: under `default`,
/// 262,144 values).
pub const MAX_SHARES_PER_SESSION: usize = 1 << SHARE_CAP_BITS;
/// Standard deviations at which the Gaussian ciphertext noise is bounded.
pub const TAIL_SDS: f64 = 10.0;
/// log2 of the probability that a Gaussian exceeds [`TAIL_SDS`] standard deviations
/// (two-sided): `log2(erfc(10/sqrt(2)))`.
pub const TAIL_LOG2: f64 = -75.80;
/// Smallest correctness margin, in bits, that a protocol accepts.
pub const MIN_MARGIN_BITS: f64 = 1.0;

/// Standard deviation of a coefficient of the noise of a fresh encryption under the
/// collective key of `k` parties.
pub fn fresh_sd(n: usize, k: usize) -> f64 {
    SIGMA * (4.0 * n as f64 * k as f64 / 3.0 + 1.0).sqrt()
}

/// Standard deviation of the noise of the sum of `k` such encryptions.
pub fn pooled_sd(n: usize, k: usize) -> f64 {
    (k as f64).sqrt() * fresh_sd(n, k)
}

/// log2 of the bound `B(k)` on the noise of a pooled ciphertext of `k` parties.
pub fn ciphertext_noise_bits(params: &Params, k: usize) -> u32 {
    ceil_log2(TAIL_SDS * pooled_sd(params.n(), k.max(1)))
}

/// log2 of the flooding half-width `W(k)`: `B(k) * N * 2^40 * 2^SHARE_CAP_BITS`.
pub fn flooding_bits(params: &Params, k: usize) -> u32 {
    ciphertext_noise_bits(params, k)
        + params.spec().log_n
        + STATISTICAL_SECURITY_BITS
        + SHARE_CAP_BITS
}

/// log2 of the worst-case noise of a pooled decryption by `k` parties flooding with
/// `2^flooding_bits` each.
pub fn decryption_noise_bits_with(params: &Params, k: usize, flooding_bits: u32) -> f64 {
    let kf = k.max(1) as f64;
    let flood = kf * 2f64.powi(to_i32(flooding_bits));
    let ct = 2f64.powi(to_i32(ciphertext_noise_bits(params, k)));
    let wrap = kf * 2f64.powi(to_i32(params.plain_bits()));
    (flood + ct + wrap).log2()
}

/// log2 of the worst-case noise of a pooled decryption by `k` parties.
pub fn decryption_noise_bits(params: &Params, k: usize) -> f64 {
    decryption_noise_bits_with(params, k, flooding_bits(params, k))
}

/// log2(Q / (2t)) minus [`decryption_noise_bits`] for `k` parties: positive means
/// decryption is exact.
pub fn correctness_margin_bits(params: &Params, k: usize) -> f64 {
    margin_with(params, k, flooding_bits(params, k))
}

/// The margin when `k` parties flood with `2^flooding_bits` each.
pub fn margin_with(params: &Params, k: usize, flooding_bits: u32) -> f64 {
    params.log_q()
        - f64::from(params.plain_bits())
        - 1.0
        - decryption_noise_bits_with(params, k, flooding_bits)
}

/// The largest set (at most [`MAX_PARTIES`]) whose margin is at least
/// [`MIN_MARGIN_BITS`]; 0 if not even one party fits.
pub fn max_parties(params: &Params) -> usize {
    // The margin decreases with k: bisect for the last k that keeps it.
    let fits = |k: usize| correctness_margin_bits(params, k) >= MIN_MARGIN_BITS;
    if !fits(1) {
        return 0;
    }
    let (mut lo, mut hi) = (1usize, MAX_PARTIES);
    if fits(hi) {
        return hi;
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// log2 of the total statistical distance of all the shares one key share may
/// produce in a session of `k`-party sets (hybrid bound):
/// `MAX_SHARES_PER_SESSION * (N*B/W + N*2^TAIL_LOG2)`.
pub fn session_distance_log2(params: &Params, k: usize) -> f64 {
    let log_n = f64::from(params.spec().log_n);
    let cap = f64::from(SHARE_CAP_BITS);
    let smudge = f64::from(ciphertext_noise_bits(params, k)) + log_n
        - f64::from(flooding_bits(params, k));
    let tail = TAIL_LOG2 + log_n;
    cap + (2f64.powf(smudge) + 2f64.powf(tail)).log2()
}

fn to_i32(x: u32) -> i32 {
    i32::try_from(x).unwrap_or(i32::MAX)
}

#[expect(
    clippy::cast_possible_truncation,
    reason = "log2 of a positive f64 is small"
)]
fn ceil_log2(x: f64) -> u32 {
    x.max(1.0).log2().ceil() as u32
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::params::PARAM_SPECS;

    /// erfc(x) for large x by its asymptotic series (four terms: relative error below
    /// 1e-4 at x = 6).
    fn erfc_large(x: f64) -> f64 {
        let x2 = x * x;
        let series = 1.0 - 1.0 / (2.0 * x2) + 3.0 / (4.0 * x2 * x2) - 15.0 / (8.0 * x2.powi(3));
        (-x2).exp() / (x * std::f64::consts::PI.sqrt()) * series
    }

    #[test]
    fn the_tail_figures_are_right() {
        let nine = erfc_large(9.0 / 2f64.sqrt()).log2();
        assert!((nine - (-61.94)).abs() < 0.01, "9 sd: 2^{nine}");
        assert!(nine > -62.0, "the 9 sd tail is not below 2^-62");
        let ten = erfc_large(TAIL_SDS / 2f64.sqrt()).log2();
        assert!((ten - TAIL_LOG2).abs() < 0.01, "10 sd: 2^{ten}");
    }

    #[test]
    fn the_largest_supported_set_of_every_published_set_keeps_its_margin() {
        for spec in PARAM_SPECS {
            let p = Params::by_name(spec.name).unwrap();
            let k = max_parties(&p);
            assert!(k >= 10, "{}: only {k} parties", spec.name);
            let m = correctness_margin_bits(&p, k);
            assert!(m >= MIN_MARGIN_BITS, "{}: margin {m} bits at {k}", spec.name);
            if k < MAX_PARTIES {
                assert!(correctness_margin_bits(&p, k + 1) < MIN_MARGIN_BITS);
            }
            assert!(flooding_bits(&p, k) <= 120);
            for k in [2, 3, 10, k] {
                let d = session_distance_log2(&p, k);
                assert!(d <= -39.99, "{} at {k}: 2^{d}", spec.name);
            }
        }
        let d = Params::by_name("default").unwrap();
        assert_eq!(max_parties(&d), 110);
        let l = Params::by_name("large").unwrap();
        assert_eq!(max_parties(&l), MAX_PARTIES);
    }

    #[test]
    fn flooding_and_margin_follow_the_size_of_the_set() {
        let p = Params::by_name("default").unwrap();
        assert!(flooding_bits(&p, 3) < flooding_bits(&p, 22));
        assert!(correctness_margin_bits(&p, 3) > correctness_margin_bits(&p, 22) + 4.0);
    }
}
