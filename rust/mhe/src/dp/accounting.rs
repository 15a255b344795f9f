//! Zero-concentrated DP accounting for shares of discrete Gaussian noise.
//!
//! A mechanism is `rho`-zCDP when the Renyi divergence of order `alpha` between its
//! outputs on neighbouring datasets is at most `alpha * rho` for every `alpha > 1`.
//! Costs of successive releases add ([`compose`]); a total converts to
//! `(epsilon, delta)`-DP ([`epsilon_of_rho`]) and back ([`rho_for_epsilon`]).
//!
//! # The guarantee of shares
//! `K` sites each add an independent `N_Z(0, sigma_i^2)` share to an integer query of
//! sensitivity `Delta`; the analyst colludes with at most `c` sites, so at least
//! `h = K - c` shares are unknown to it. Two analyses ([`Analysis`]):
//!
//! - [`Analysis::OneHonestShare`] (conservative): the analyst's view is a
//!   post-processing of `q(D) + Z_1` for one honest share `Z_1` (the other honest
//!   shares are independent of the data, the colluders' are known), and
//!   `N_Z(0, sigma^2)` alone gives `||Delta||_2^2 / (2 sigma^2)`-zCDP (Canonne, Kamath
//!   and Steinke 2020, Theorem 14 and its multivariate form);
//! - [`Analysis::SumOfHonestShares`] (tighter): the sum of `h` i.i.d. shares with
//!   `sigma >= 1/2` gives `eps^2 / 2`-zCDP with `eps = min(sqrt(||Delta||_2^2 /
//!   (h sigma^2) + 2 ||Delta||_1 tau / (sqrt(h) sigma) + tau^2 d), ||Delta||_2 /
//!   (sqrt(h) sigma) + tau sqrt(d))` and `tau = 10 sum_{k=1}^{h-1} exp(-2 pi^2 sigma^2
//!   k / (k+1))` (Kairouz, Liu and Steinke 2021, the distributed discrete Gaussian);
//!   the code takes the minimum of this and the conservative bound (both hold).
//!
//! [`calibrate`] uses the analysis it is given; the wiring should use
//! [`Analysis::SumOfHonestShares`], which for the fixed-point scales of dsMHE
//! (`sigma` in the millions of units and more, so `tau = 0` in `f64`) costs exactly what
//! one central Gaussian of the honest variance would.

use super::sampler::DiscreteGaussian;
use super::sensitivity::Sensitivity;
use super::{DpError, DpResult};

/// A zCDP cost `rho >= 0`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Rho(f64);

impl Rho {
    /// A cost from its value.
    ///
    /// # Errors
    /// [`DpError::InvalidParameter`] if `rho` is negative, NaN or infinite.
    pub fn new(rho: f64) -> DpResult<Rho> {
        if rho.is_finite() && rho >= 0.0 {
            Ok(Rho(rho))
        } else {
            Err(DpError::InvalidParameter(format!(
                "rho = {rho}: a zCDP cost must be finite and non-negative"
            )))
        }
    }

    /// The value.
    pub fn value(self) -> f64 {
        self.0
    }
}

/// Which argument turns the honest sites' shares into a guarantee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Analysis {
    /// One honest share alone protects: `rho = ||Delta||_2^2 / (2 sigma_i^2)`.
    OneHonestShare,
    /// The sum of the `h` honest shares protects (Kairouz, Liu and Steinke 2021),
    /// with its correction `tau`; never worse than [`Analysis::OneHonestShare`].
    SumOfHonestShares,
}

/// zCDP costs compose by addition.
///
/// # Errors
/// [`DpError::InvalidParameter`] if the total is not finite.
pub fn compose(costs: &[Rho]) -> DpResult<Rho> {
    Rho::new(costs.iter().map(|r| r.0).sum())
}

fn check_sigma2(sigma2: f64) -> DpResult<()> {
    if sigma2.is_finite() && sigma2 > 0.0 {
        Ok(())
    } else {
        Err(DpError::InvalidParameter(format!(
            "sigma^2 = {sigma2}: must be finite and positive"
        )))
    }
}

fn check_delta(delta: f64) -> DpResult<()> {
    if delta > 0.0 && delta < 1.0 {
        Ok(())
    } else {
        Err(DpError::InvalidParameter(format!(
            "delta = {delta}: must be strictly between 0 and 1"
        )))
    }
}

/// The correction `tau = 10 sum_{k=1}^{h-1} exp(-2 pi^2 sigma^2 k / (k + 1))` of the
/// bound for a sum of `h` discrete Gaussians of parameter `sigma^2` (0 for `h <= 1`).
pub fn kls_tau(sigma2: f64, honest: u32) -> f64 {
    let c = 2.0 * std::f64::consts::PI * std::f64::consts::PI * sigma2;
    let mut tau = 0.0;
    for k in 1..honest {
        let kf = f64::from(k);
        let term = (-c * kf / (kf + 1.0)).exp();
        tau += term;
        if term == 0.0 {
            break; // later terms are smaller still
        }
    }
    10.0 * tau
}

/// The zCDP cost of one release of a query of sensitivity `sens` when each site adds
/// an independent `N_Z(0, sigma2)` share and at least `honest` shares are unknown to
/// the analyst.
///
/// # Errors
/// [`DpError::InvalidParameter`] if `sigma2` is not finite and positive or `honest`
/// is zero.
pub fn rho_of_shares(
    analysis: Analysis,
    sens: &Sensitivity,
    sigma2: f64,
    honest: u32,
) -> DpResult<Rho> {
    check_sigma2(sigma2)?;
    if honest == 0 {
        return Err(DpError::InvalidParameter(
            "at least one site must be honest (not colluding with the analyst)".to_string(),
        ));
    }
    let l2_sq = sens.l2_sq() as f64;
    let one = l2_sq / (2.0 * sigma2);
    if analysis == Analysis::OneHonestShare || honest == 1 || sigma2 < 0.25 {
        return Rho::new(one);
    }
    let h = f64::from(honest);
    let tau = kls_tau(sigma2, honest);
    let d = sens.dim() as f64;
    let l1 = sens.l1() as f64;
    let hs2 = h * sigma2;
    let e1_sq = l2_sq / hs2 + 2.0 * l1 * tau / hs2.sqrt() + tau * tau * d;
    let e2 = (l2_sq / hs2).sqrt() + tau * d.sqrt();
    let sum = 0.5 * e1_sq.min(e2 * e2);
    Rho::new(sum.min(one))
}

/// The standard conversion: `rho`-zCDP implies `(rho + 2 sqrt(rho ln(1/delta)),
/// delta)`-DP.
///
/// # Errors
/// [`DpError::InvalidParameter`] unless `0 < delta < 1`.
pub fn epsilon_standard(rho: Rho, delta: f64) -> DpResult<f64> {
    check_delta(delta)?;
    Ok(rho.0 + 2.0 * (rho.0 * (1.0 / delta).ln()).sqrt())
}

/// `epsilon(alpha) = alpha rho + (ln(1/delta) - ln alpha) / (alpha - 1) + ln(1 - 1/alpha)`
/// with `alpha = 1 + e^s`, computed stably.
fn cks_objective(s: f64, rho: f64, log_inv_delta: f64) -> f64 {
    let am1 = s.exp(); // alpha - 1
    let ln_alpha = am1.ln_1p();
    (1.0 + am1) * rho + (log_inv_delta - ln_alpha) / am1 + (s - ln_alpha)
}

/// The tighter conversion (Canonne, Kamath and Steinke 2020, Corollary 13; derived
/// in `DP.md`): `rho`-zCDP implies `(epsilon, delta)`-DP for
/// `epsilon = inf_{alpha > 1} alpha rho + (ln(1/delta) - ln alpha) / (alpha - 1) +
/// ln(1 - 1/alpha)`. Minimised numerically over `alpha` (a grid over `ln(alpha - 1)`
/// then golden-section refinement); the result is never above
/// [`epsilon_standard`], whose value is also a valid bound, and never below 0.
///
/// # Errors
/// [`DpError::InvalidParameter`] unless `0 < delta < 1`.
pub fn epsilon_of_rho(rho: Rho, delta: f64) -> DpResult<f64> {
    let standard = epsilon_standard(rho, delta)?;
    if rho.0 == 0.0 {
        return Ok(0.0);
    }
    let l = (1.0 / delta).ln();
    let f = |s: f64| cks_objective(s, rho.0, l);
    // Grid over s = ln(alpha - 1) in [-30, 50].
    let (mut best_s, mut best) = (0.0f64, f64::INFINITY);
    let mut i = 0u32;
    while i <= 1600 {
        let s = -30.0 + 0.05 * f64::from(i);
        let v = f(s);
        if v < best {
            best = v;
            best_s = s;
        }
        i += 1;
    }
    // Golden-section refinement around the best grid point.
    let (mut a, mut b) = (best_s - 0.05, best_s + 0.05);
    let g = 0.5 * (5f64.sqrt() - 1.0);
    let (mut x1, mut x2) = (b - g * (b - a), a + g * (b - a));
    let (mut f1, mut f2) = (f(x1), f(x2));
    for _ in 0..80 {
        if f1 < f2 {
            b = x2;
            x2 = x1;
            f2 = f1;
            x1 = b - g * (b - a);
            f1 = f(x1);
        } else {
            a = x1;
            x1 = x2;
            f1 = f2;
            x2 = a + g * (b - a);
            f2 = f(x2);
        }
    }
    let refined = best.min(f1).min(f2);
    let eps = if refined.is_finite() {
        refined.min(standard)
    } else {
        standard
    };
    Ok(eps.max(0.0))
}

/// The largest `rho` whose [`epsilon_of_rho`] at `delta` is at most `epsilon`
/// (bisection; `epsilon_of_rho` increases with `rho`).
///
/// # Errors
/// [`DpError::InvalidParameter`] unless `epsilon` is finite and positive and
/// `0 < delta < 1`.
pub fn rho_for_epsilon(epsilon: f64, delta: f64) -> DpResult<Rho> {
    check_delta(delta)?;
    if !(epsilon.is_finite() && epsilon > 0.0) {
        return Err(DpError::InvalidParameter(format!(
            "epsilon = {epsilon}: must be finite and positive"
        )));
    }
    let l = (1.0 / delta).ln();
    // The standard bound inverted in closed form: sqrt(rho) = sqrt(l + eps) - sqrt(l).
    let root = (l + epsilon).sqrt() - l.sqrt();
    let mut lo = root * root;
    let mut hi = lo.max(f64::MIN_POSITIVE) * 2.0;
    let mut grow = 0;
    while epsilon_of_rho(Rho(hi), delta)? <= epsilon {
        lo = hi;
        hi *= 2.0;
        grow += 1;
        if grow > 2000 || !hi.is_finite() {
            return Err(DpError::InvalidParameter(format!(
                "epsilon = {epsilon}: no finite rho reaches it"
            )));
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if epsilon_of_rho(Rho(mid), delta)? <= epsilon {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Rho::new(lo)
}

/// The inverse for one central discrete Gaussian: the `sigma^2` that makes one release
/// of a query of sensitivity `sens` `(epsilon, delta)`-DP,
/// `||Delta||_2^2 / (2 rho_for_epsilon(epsilon, delta))`.
///
/// # Errors
/// As [`rho_for_epsilon`].
pub fn central_variance(epsilon: f64, delta: f64, sens: &Sensitivity) -> DpResult<f64> {
    let rho = rho_for_epsilon(epsilon, delta)?;
    Ok(sens.l2_sq() as f64 / (2.0 * rho.0))
}

/// Each site's share for a query: what [`calibrate`] returns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// The distribution each site draws its share from.
    pub per_site: DiscreteGaussian,
    /// The zCDP cost of one release with these shares (at most the target).
    pub rho: Rho,
    /// The `epsilon` of that cost at the calibration's `delta`.
    pub epsilon: f64,
    /// Variance of the total noise in the pooled value: `sites` shares.
    pub total_variance: f64,
}

/// `sigma^2` of each site's share for a target `sigma_total^2`: the variance one
/// central discrete Gaussian would need. Under [`Analysis::OneHonestShare`] every
/// share must carry it alone (`sigma_i^2 = sigma_total^2`); under
/// [`Analysis::SumOfHonestShares`] the `h` honest shares carry it together
/// (`sigma_i^2 = sigma_total^2 / h`, before the `tau` correction that [`calibrate`]
/// applies).
///
/// # Errors
/// [`DpError::InvalidParameter`] if `sigma_total2` is not finite and positive or
/// `honest` is zero.
pub fn per_site_variance(analysis: Analysis, sigma_total2: f64, honest: u32) -> DpResult<f64> {
    check_sigma2(sigma_total2)?;
    if honest == 0 {
        return Err(DpError::InvalidParameter(
            "at least one site must be honest (not colluding with the analyst)".to_string(),
        ));
    }
    Ok(match analysis {
        Analysis::OneHonestShare => sigma_total2,
        Analysis::SumOfHonestShares => sigma_total2 / f64::from(honest),
    })
}

/// The share each of `sites` sites adds so that one release of a query of
/// sensitivity `sens` is `(epsilon, delta)`-DP against an analyst colluding with up
/// to `sites - honest` sites: `rho* = rho_for_epsilon(epsilon, delta)`, the central
/// `sigma_total^2 = ||Delta||_2^2 / (2 rho*)`, the [`per_site_variance`], then the
/// smallest `sigma_i^2` (by bisection, rounded up to a rational) whose
/// [`rho_of_shares`] is at most `rho*`.
///
/// # Errors
/// [`DpError::InvalidParameter`] for an invalid `epsilon` or `delta`, `honest == 0`,
/// `honest > sites`, or a per-site `sigma^2` outside the sampler's range (2^96).
pub fn calibrate(
    analysis: Analysis,
    epsilon: f64,
    delta: f64,
    sens: &Sensitivity,
    sites: u32,
    honest: u32,
) -> DpResult<Calibration> {
    if honest == 0 || honest > sites {
        return Err(DpError::InvalidParameter(format!(
            "{honest} honest sites out of {sites}: need 1 <= honest <= sites"
        )));
    }
    let target = rho_for_epsilon(epsilon, delta)?;
    let central = central_variance(epsilon, delta, sens)?;
    let fits = |s2: f64| -> DpResult<Option<(DiscreteGaussian, Rho)>> {
        let dg = DiscreteGaussian::from_variance_ceil(s2)?;
        let rho = rho_of_shares(analysis, sens, dg.sigma2(), honest)?;
        Ok((rho.0 <= target.0).then_some((dg, rho)))
    };
    let start = per_site_variance(analysis, central, honest)?;
    let (dg, rho) = match fits(start)? {
        Some(found) => found,
        None => {
            // tau (or rounding) pushed rho above the target: the one-share bound holds
            // at `central` (slightly above to absorb rounding), so bisect in between.
            let mut hi = central * (1.0 + 1e-12);
            let mut hi_fit = fits(hi)?;
            let mut guard = 0;
            while hi_fit.is_none() {
                hi *= 1.0 + 1e-9;
                hi_fit = fits(hi)?;
                guard += 1;
                if guard > 100 {
                    return Err(DpError::InvalidParameter(
                        "calibration did not converge".to_string(),
                    ));
                }
            }
            let mut lo = start;
            let mut best = hi_fit.ok_or(DpError::Overflow("calibration"))?;
            for _ in 0..100 {
                let mid = 0.5 * (lo + hi);
                if !(mid > lo && mid < hi) {
                    break;
                }
                match fits(mid)? {
                    Some(found) => {
                        hi = mid;
                        best = found;
                    }
                    None => lo = mid,
                }
            }
            best
        }
    };
    Ok(Calibration {
        per_site: dg,
        rho,
        epsilon: epsilon_of_rho(rho, delta)?,
        total_variance: f64::from(sites) * dg.variance(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn composition_adds_costs() {
        let total = compose(&[Rho::new(0.1).unwrap(), Rho::new(0.25).unwrap()]).unwrap();
        assert!((total.value() - 0.35).abs() < 1e-15);
        assert!(Rho::new(-1.0).is_err());
        assert!(Rho::new(f64::INFINITY).is_err());
    }

    #[test]
    fn tau_vanishes_for_one_share_and_large_sigma() {
        assert_eq!(kls_tau(1.0, 1), 0.0);
        assert_eq!(kls_tau(1e6, 1000), 0.0);
        // sigma = 1, h = 2: 10 exp(-pi^2).
        let t = kls_tau(1.0, 2);
        let want = 10.0 * (-std::f64::consts::PI.powi(2)).exp();
        assert!((t - want).abs() < 1e-18);
    }
}
