//! Noise estimates, flooding width and correctness margin, in one place.
//!
//! # Ciphertext noise
//!
//! A fresh encryption under the collective key of `k` parties, `(p0*u + e0 + Δm,
//! p1*u + e1)` with `p0 = -a*s + e_pk`, `s = Σ s_i`, `e_pk = Σ e_i`, decrypts to
//! `Δm + e_pk*u + e0 + e1*s`. With ternary `u, s_i` (variance 2/3) and Gaussian errors
//! (variance σ² = 3.2²), each coefficient of that noise has variance about
//! `σ² (4Nk/3 + 1)`: [`fresh_sd`]. A pooled ciphertext sums one such encryption per
//! party, so its noise has variance `k` times that: [`pooled_sd`]. We bound it by
//! [`TAIL_SDS`] = 9 standard deviations (a Gaussian exceeds that with probability
//! below 2^-62 per coefficient) at `k` = [`MAX_PARTIES`]: [`ciphertext_noise_bits`].
//!
//! # Flooding
//!
//! A decryption share `c1*s_i + f_i` carries uniform smudging noise `f_i` over
//! `[-W, W)`, `W = 2^flooding_bits`, with `W >= 2^40 * N * B` for the ciphertext bound
//! `B`: by the smudging lemma the statistical distance between `f_i` and `f_i + e` for
//! any `|e| <= B` is at most `B/W` per coefficient, so at most `N * B / W <= 2^-40` for
//! the whole polynomial. Each party floods on its own, so one honest party suffices.
//!
//! # Correctness margin
//!
//! Decryption rounds `t/Q * (Δm + noise)`; it is exact while `|noise| < Q/(2t)`. The
//! noise of a pooled decryption is at most `K*W` (flooding, worst case, not a
//! probabilistic bound) `+ B` (ciphertext) `+ K*t` (the wrap-around of masked
//! plaintexts, see [`crate::protocols::zero_sum`]), with `K <= MAX_PARTIES`.
//! [`correctness_margin_bits`] is `log2(Q/(2t)) - log2(that)`; every published set
//! keeps it positive (tested).

use crate::params::{MAX_PARTIES, Params};
use crate::sampling::SIGMA;

/// Bits of statistical security that flooding gives against the ciphertext noise.
pub const STATISTICAL_SECURITY_BITS: u32 = 40;
/// Standard deviations at which the Gaussian ciphertext noise is bounded.
pub const TAIL_SDS: f64 = 9.0;

/// Standard deviation of a coefficient of the noise of a fresh encryption under the
/// collective key of `k` parties.
pub fn fresh_sd(n: usize, k: usize) -> f64 {
    SIGMA * (4.0 * n as f64 * k as f64 / 3.0 + 1.0).sqrt()
}

/// Standard deviation of the noise of the sum of `k` such encryptions.
pub fn pooled_sd(n: usize, k: usize) -> f64 {
    (k as f64).sqrt() * fresh_sd(n, k)
}

/// log2 of the bound `B` on the noise of a pooled ciphertext of [`MAX_PARTIES`] parties.
pub fn ciphertext_noise_bits(params: &Params) -> u32 {
    ceil_log2(TAIL_SDS * pooled_sd(params.n(), MAX_PARTIES))
}

/// log2 of the flooding half-width `W`: `B * N * 2^40`.
pub fn flooding_bits(params: &Params) -> u32 {
    ciphertext_noise_bits(params) + params.spec().log_n + STATISTICAL_SECURITY_BITS
}

/// log2 of the worst-case noise of a pooled decryption by [`MAX_PARTIES`] parties.
pub fn decryption_noise_bits(params: &Params) -> f64 {
    let k = MAX_PARTIES as f64;
    let flood = k * 2f64.powi(to_i32(flooding_bits(params)));
    let ct = 2f64.powi(to_i32(ciphertext_noise_bits(params)));
    let wrap = k * 2f64.powi(to_i32(params.plain_bits()));
    (flood + ct + wrap).log2()
}

/// log2(Q / (2t)) minus [`decryption_noise_bits`]: positive means decryption is exact.
pub fn correctness_margin_bits(params: &Params) -> f64 {
    params.log_q() - f64::from(params.plain_bits()) - 1.0 - decryption_noise_bits(params)
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
    use super::*;
    use crate::params::PARAM_SPECS;

    #[test]
    fn every_published_set_keeps_a_positive_margin() {
        for spec in PARAM_SPECS {
            let p = Params::by_name(spec.name).unwrap();
            let m = correctness_margin_bits(&p);
            assert!(m >= 2.0, "{}: margin {m} bits", spec.name);
            assert!(flooding_bits(&p) <= 100);
        }
    }
}
