//! Exact sampling of the discrete Gaussian `N_Z(0, sigma^2)`.
//!
//! `P(x) = exp(-x^2 / (2 sigma^2)) / sum_y exp(-y^2 / (2 sigma^2))` for every integer
//! `x`. The algorithm follows the rejection scheme of Canonne, Kamath and Steinke
//! (2020, "The Discrete Gaussian for Differential Privacy"): a discrete Laplace
//! proposal accepted with a Bernoulli(`exp(-gamma)`) coin for a rational `gamma`, all
//! in integer arithmetic; the parametrisation differs (integer centre, rational
//! Laplace scale, see `DP.md`, section "Sampler") so that every intermediate value of
//! a draw fits `u128` for `sigma^2 <= 2^96`.
//!
//! # Exactness
//! Every coin is an exact rational Bernoulli drawn from uniform integers by rejection
//! (no modulo bias, no floating point). The only departure from the exact law is that
//! a proposal whose acceptance exponent does not fit 128 bits is discarded and drawn
//! again; such a proposal has `gamma >= 2^128 / (2 * 2^96) = 2^31` (for `sigma^2 >= 1`)
//! or `|y| >= 2^32` and `gamma > (|y| - 1)^2 / 2 >= 2^62` (below), i.e. an acceptance
//! probability below `exp(-2^31)`, so the output is the discrete Gaussian conditioned
//! on an event of probability at least `1 - exp(-2^31)`.
//!
//! # Timing
//! The sampler is **not constant-time**. The number of random words it consumes, and
//! so its running time, depends on the value drawn: the geometric part of the Laplace
//! proposal takes about `|x| / (sigma^2 / c) + 1` coins (`c ~ sigma`), so a slow draw
//! is likely a large `|x|`. Someone who times a single contribution could learn a
//! little about that site's share (never about the data). The wiring must therefore
//! keep the draws off the observable path: draw the noise for a contribution in a
//! fixed-size batch (as many draws as the largest query needs, whatever the query),
//! before the request is answered or from a pool refilled outside request handling,
//! so that the response time does not depend on the values drawn. Encrypting a
//! contribution takes milliseconds; a batch of draws takes microseconds.

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::{DpError, DpResult};
use crate::sampling::SecretRng;

/// Largest numerator of `sigma^2` (2^96, i.e. sigma up to 2^48 integer units).
pub const MAX_SIGMA2_NUM: u128 = 1 << 96;
/// Largest denominator of `sigma^2` (2^32).
pub const MAX_SIGMA2_DEN: u128 = 1 << 32;

/// The discrete Gaussian `N_Z(0, num/den)` over the integers, ready to sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscreteGaussian {
    /// Numerator of `sigma^2` (reduced, `1..=2^96`).
    num: u128,
    /// Denominator of `sigma^2` (reduced, `1..=2^32`).
    den: u128,
    /// Integer centre `c = floor(sigma) + 1` of the acceptance test when
    /// `sigma^2 >= 1`; unused below (the centre is then `sigma^2` itself).
    centre: u128,
    /// The proposal is a discrete Laplace of scale `lap_t / lap_s`: `num / (den c)`
    /// when `sigma^2 >= 1`, 1 below.
    lap_t: u128,
    /// See `lap_t`.
    lap_s: u128,
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        let r = a % b;
        a = b;
        b = r;
    }
    a
}

/// `x` as a `u128` when `x` is a whole number in `[0, 2^128)`.
pub(crate) fn whole_f64_to_u128(x: f64) -> Option<u128> {
    if !(x.is_finite()
        && x >= 0.0
        && x.fract() == 0.0
        && x < 340_282_366_920_938_463_463_374_607_431_768_211_456.0)
    {
        return None;
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "x is whole and below 2^128"
    )]
    let v = x as u128;
    Some(v)
}

impl DiscreteGaussian {
    /// The discrete Gaussian with `sigma^2 = num / den`.
    ///
    /// # Errors
    /// [`DpError::InvalidParameter`] if `num` or `den` is zero, or if after reduction
    /// `num > 2^96` or `den > 2^32`.
    pub fn new(num: u128, den: u128) -> DpResult<DiscreteGaussian> {
        if num == 0 || den == 0 {
            return Err(DpError::InvalidParameter(format!(
                "sigma^2 = {num}/{den}: numerator and denominator must be positive"
            )));
        }
        let g = gcd(num, den);
        let (num, den) = (num / g, den / g);
        if num > MAX_SIGMA2_NUM || den > MAX_SIGMA2_DEN {
            return Err(DpError::InvalidParameter(format!(
                "sigma^2 = {num}/{den}: the reduced numerator must be at most 2^96 and the \
                 denominator at most 2^32"
            )));
        }
        let (centre, lap_t, lap_s) = if num >= den {
            let c = (num / den).isqrt() + 1;
            let s = den
                .checked_mul(c)
                .ok_or(DpError::Overflow("discrete Gaussian setup"))?;
            (c, num, s)
        } else {
            (0, 1, 1)
        };
        Ok(DiscreteGaussian {
            num,
            den,
            centre,
            lap_t,
            lap_s,
        })
    }

    /// The discrete Gaussian whose `sigma^2` is `sigma2` rounded **up** to a rational
    /// with a power-of-two denominator (at most 2^32): more noise, never less.
    ///
    /// # Errors
    /// [`DpError::InvalidParameter`] if `sigma2` is not finite and positive or exceeds
    /// 2^96.
    pub fn from_variance_ceil(sigma2: f64) -> DpResult<DiscreteGaussian> {
        if !(sigma2.is_finite() && sigma2 > 0.0) {
            return Err(DpError::InvalidParameter(format!(
                "sigma^2 = {sigma2}: must be finite and positive"
            )));
        }
        // The largest power-of-two denominator whose numerator stays within 2^96;
        // scaling an f64 by a power of two is exact, and so is its ceiling.
        let mut k: i32 = 32;
        loop {
            let scaled = (sigma2 * 2f64.powi(k)).ceil();
            if let Some(num) = whole_f64_to_u128(scaled)
                && num <= MAX_SIGMA2_NUM
            {
                return DiscreteGaussian::new(num, 1u128 << k);
            }
            if k == 0 {
                return Err(DpError::InvalidParameter(format!(
                    "sigma^2 = {sigma2}: must be at most 2^96"
                )));
            }
            k -= 1;
        }
    }

    /// `sigma^2` as the reduced fraction `(numerator, denominator)`.
    pub fn sigma2_ratio(&self) -> (u128, u128) {
        (self.num, self.den)
    }

    /// `sigma^2` as an `f64` (the scale parameter, not quite the variance: see
    /// [`DiscreteGaussian::variance`]).
    pub fn sigma2(&self) -> f64 {
        self.num as f64 / self.den as f64
    }

    /// The variance of the distribution, computed from its mass function.
    ///
    /// It is at most `sigma^2` (Canonne, Kamath and Steinke 2020) and equal to it up to
    /// a relative `1e-6` once `sigma >= 1`; above `sigma^2 = 100` the two
    /// differ by a relative amount below `exp(-1900)` and `sigma^2` is returned.
    pub fn variance(&self) -> f64 {
        let s2 = self.sigma2();
        if s2 >= 100.0 {
            return s2;
        }
        // sigma < 10: 40 sigma + 2 terms on each side leave a tail below exp(-800).
        let bound = (40.0 * s2.sqrt()).ceil() + 2.0;
        let (mut mass, mut second) = (1.0f64, 0.0f64);
        let mut y = 1.0f64;
        while y <= bound {
            let w = (-y * y / (2.0 * s2)).exp();
            mass += 2.0 * w;
            second += 2.0 * y * y * w;
            y += 1.0;
        }
        second / mass
    }

    /// One draw, from the crate's secret generator.
    ///
    /// # Errors
    /// [`DpError::Overflow`] only if the counter of a Bernoulli(`exp(-gamma)`) coin,
    /// times its denominator (at most 2^97), exceeds 128 bits: the counter must reach
    /// 2^31, an event of probability below `1 / (2^31)!`.
    pub fn sample(&self, rng: &mut SecretRng) -> DpResult<i128> {
        // One draw of the generator, which then re-keys (fast key erasure).
        rng.draw(|r| self.sample_with(r))
    }

    /// `n` independent draws, from the crate's secret generator. A site's noise share
    /// is secret (whoever knows it can subtract it), so the draws are wiped on drop.
    ///
    /// # Errors
    /// As [`DiscreteGaussian::sample`].
    pub fn sample_n(&self, rng: &mut SecretRng, n: usize) -> DpResult<Zeroizing<Vec<i128>>> {
        rng.draw(|inner| {
            let mut out = Zeroizing::new(Vec::with_capacity(n));
            for _ in 0..n {
                out.push(self.sample_with(inner)?);
            }
            Ok(out)
        })
    }

    /// One draw from any cryptographically secure generator.
    ///
    /// # Errors
    /// As [`DiscreteGaussian::sample`].
    pub fn sample_with<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> DpResult<i128> {
        let large = self.num >= self.den;
        loop {
            let Some(y) = self.laplace_proposal(rng)? else {
                continue;
            };
            let mag = y.unsigned_abs();
            // Acceptance exp(-gamma), gamma = (|y| - centre)^2 / (2 sigma^2):
            // sigma^2 >= 1: centre c, gamma = (|y| - c)^2 den / (2 num), 2 num <= 2^97;
            // sigma^2 < 1: centre sigma^2, gamma = (|y| den - num)^2 / (2 num den),
            // 2 num den < 2^65.
            let (a, b) = if large {
                let e = mag.abs_diff(self.centre);
                (
                    e.checked_mul(e).and_then(|v| v.checked_mul(self.den)),
                    self.num << 1,
                )
            } else {
                let w = mag.checked_mul(self.den).map(|v| v.abs_diff(self.num));
                (w.and_then(|w| w.checked_mul(w)), (self.num * self.den) << 1)
            };
            let Some(a) = a else {
                // gamma >= 2^31: see the module docs (truncated tail).
                continue;
            };
            if bernoulli_exp(rng, a, b)? {
                return Ok(y);
            }
        }
    }

    /// A discrete Laplace draw of scale `lap_t / lap_s`: `P(y) ~ exp(-|y| lap_s / lap_t)`;
    /// `None` if an intermediate value leaves 128 bits, which needs the geometric count
    /// to reach `2^128 / t >= 2^31` (probability below `exp(-2^31)`).
    fn laplace_proposal<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> DpResult<Option<i128>> {
        let t = self.lap_t;
        loop {
            // X = U + t V has P(X = x) ~ exp(-x / t) for x >= 0.
            let u = uniform_below(rng, t);
            if !bernoulli_exp_unit(rng, u, t)? {
                continue;
            }
            let mut v: u128 = 0;
            while bernoulli_exp_unit(rng, 1, 1)? {
                let Some(next) = v.checked_add(1) else {
                    return Ok(None);
                };
                v = next;
            }
            let Some(x) = t.checked_mul(v).and_then(|tv| tv.checked_add(u)) else {
                return Ok(None);
            };
            // Y = floor(X / s) has P(Y = y) ~ exp(-y s / t).
            let y = x / self.lap_s;
            let negative = rng.next_u32() & 1 == 1;
            if negative && y == 0 {
                continue;
            }
            let Ok(y) = i128::try_from(y) else {
                return Ok(None);
            };
            return Ok(Some(if negative { -y } else { y }));
        }
    }
}

/// A uniform integer in `[0, n)` by rejection of masked 128-bit words; `n >= 1`.
fn uniform_below<R: CryptoRng + ?Sized>(rng: &mut R, n: u128) -> u128 {
    if n <= 1 {
        return 0;
    }
    let top = n - 1;
    let bits = 128 - top.leading_zeros();
    if bits <= 64 {
        let mask = if bits == 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        };
        loop {
            let x = u128::from(rng.next_u64() & mask);
            if x < n {
                return x;
            }
        }
    }
    let mask = if bits == 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    loop {
        let x = ((u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())) & mask;
        if x < n {
            return x;
        }
    }
}

/// Bernoulli(`a / d`) for `a <= d`, `d >= 1`.
fn bernoulli_ratio<R: CryptoRng + ?Sized>(rng: &mut R, a: u128, d: u128) -> bool {
    uniform_below(rng, d) < a
}

/// Bernoulli(`exp(-a/b)`) for `0 <= a <= b`, `b >= 1`: count the run of successes of
/// Bernoulli(`gamma / k`), `k = 1, 2, ...`; the first failure comes at an odd `k` with
/// probability `sum_j (-gamma)^j / j! = exp(-gamma)`.
fn bernoulli_exp_unit<R: CryptoRng + ?Sized>(rng: &mut R, a: u128, b: u128) -> DpResult<bool> {
    let mut k: u128 = 1;
    loop {
        let d = b
            .checked_mul(k)
            .ok_or(DpError::Overflow("Bernoulli(exp(-gamma)) counter"))?;
        if !bernoulli_ratio(rng, a, d) {
            return Ok(k % 2 == 1);
        }
        k += 1;
    }
}

/// Bernoulli(`exp(-a/b)`) for any `a >= 0`, `b >= 1`: `floor(a/b)` coins of
/// `exp(-1)` (stopping at the first failure), then one of `exp(-(a mod b)/b)`.
pub(crate) fn bernoulli_exp<R: CryptoRng + ?Sized>(
    rng: &mut R,
    a: u128,
    b: u128,
) -> DpResult<bool> {
    if b == 0 {
        return Err(DpError::InvalidParameter(
            "Bernoulli(exp(-a/b)) needs b >= 1".to_string(),
        ));
    }
    let whole = a / b;
    let mut i: u128 = 0;
    while i < whole {
        if !bernoulli_exp_unit(rng, 1, 1)? {
            return Ok(false);
        }
        i += 1;
    }
    bernoulli_exp_unit(rng, a % b, b)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn uniform_below_covers_the_range_evenly() {
        let mut rng = ChaCha20Rng::from_seed([1; 32]);
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            let x = uniform_below(&mut rng, 7);
            counts[usize::try_from(x).unwrap()] += 1;
        }
        for c in counts {
            assert!((9_400..10_600).contains(&c), "count {c}");
        }
        let big = (1u128 << 100) + 3;
        for _ in 0..1000 {
            assert!(uniform_below(&mut rng, big) < big);
        }
        assert_eq!(uniform_below(&mut rng, 1), 0);
    }

    #[test]
    fn bernoulli_exp_matches_its_probability() {
        let mut rng = ChaCha20Rng::from_seed([2; 32]);
        // gamma = 7/3: exp(-7/3) = 0.09697.
        for (a, b) in [(7u128, 3u128), (1, 2), (0, 5), (5, 5)] {
            let n = 200_000;
            let hits = (0..n)
                .filter(|_| bernoulli_exp(&mut rng, a, b).unwrap())
                .count();
            let p = (-(a as f64) / (b as f64)).exp();
            let se = (p * (1.0 - p) / n as f64).sqrt().max(1e-9);
            let got = hits as f64 / n as f64;
            assert!(
                (got - p).abs() < 5.0 * se + 1e-12,
                "a/b = {a}/{b}: {got} vs {p}"
            );
        }
        assert!(bernoulli_exp(&mut rng, 1, 0).is_err());
    }

    #[test]
    fn parameters_are_reduced_and_bounded() {
        let d = DiscreteGaussian::new(6, 4).unwrap();
        assert_eq!(d.sigma2_ratio(), (3, 2));
        assert!(DiscreteGaussian::new(0, 1).is_err());
        assert!(DiscreteGaussian::new(1, 0).is_err());
        assert!(DiscreteGaussian::new(MAX_SIGMA2_NUM + 1, 1).is_err());
        assert!(DiscreteGaussian::new(1, MAX_SIGMA2_DEN + 1).is_err());
        let q = DiscreteGaussian::from_variance_ceil(0.25).unwrap();
        assert_eq!(q.sigma2_ratio(), (1, 4));
        let r = DiscreteGaussian::from_variance_ceil(0.1).unwrap();
        let (rn, rd) = r.sigma2_ratio();
        // ceil(0.1 * 2^32) = ceil(429496729.6...) over 2^32, reduced.
        assert_eq!((rn, rd), (214_748_365, 1 << 31));
        assert!(DiscreteGaussian::from_variance_ceil(f64::NAN).is_err());
        assert!(DiscreteGaussian::from_variance_ceil(-1.0).is_err());
        assert!(DiscreteGaussian::from_variance_ceil(2f64.powi(97)).is_err());
        assert!(DiscreteGaussian::from_variance_ceil(2f64.powi(96)).is_ok());
    }
}
