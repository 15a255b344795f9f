//! Differential privacy at a site (issue 14; design in `rust/mhe/DP.md`, section 8):
//! the query's noise share, drawn and added to the fixed-point values before they
//! are encrypted, the charge to the analyst's budget at this site, and the analyst's
//! proof of identity.
//!
//! The site computes everything from its admin's options and public values: the
//! number of contributing sites `K`, the threshold `t` (so `h = K - t + 1` honest
//! sites, 1 for `K`-of-`K`), the query's `epsilon` and `delta`, and the statistic's
//! sensitivity, which its server function states in the units of the values after
//! clipping. Every site of a query therefore draws its share from the same law.

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::dp::accounting::{Analysis, Calibration, calibrate, rho_for_epsilon};
use crate::dp::budget::ZcdpBudget;
use crate::dp::sensitivity::Sensitivity;
use crate::encoding::FRAC_BITS;
use crate::error::{Error, RefusalKind, Result};
use crate::identity::{SIGNATURE_LEN, SiteKeys, fingerprint, verify};
use crate::messages::{Digest32, DpFacts};
use crate::sampling::SecretRng;

/// The analyst identity every unpinned or unauthenticated analyst shares: one
/// budget for all of them, so a new key or a new login refills nothing.
pub const UNPINNED_ANALYST: &str = "unpinned";

/// What a site's admin set and the statistic states for one query under
/// differential privacy; [`crate::Site::contribute_dp`] takes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DpQuery {
    /// `mhe.dp.epsilon`: the analyst's total budget at this site, as `epsilon`.
    pub total_epsilon: f64,
    /// `mhe.dp.delta`: the `delta` of every conversion.
    pub delta: f64,
    /// This query's `epsilon`: the admin's per-query default, or less if the
    /// analyst asked for less.
    pub epsilon: f64,
    /// L2 sensitivity of the values (one row added or removed), in their units.
    pub l2: f64,
    /// L1 sensitivity of the values, in their units.
    pub l1: f64,
}

fn unsupported(msg: impl Into<String>) -> Error {
    Error::refused(RefusalKind::DpUnsupported, msg)
}

impl DpQuery {
    fn check(&self) -> Result<()> {
        let pos = |x: f64| x.is_finite() && x > 0.0;
        if !pos(self.total_epsilon) || !pos(self.epsilon) {
            return Err(unsupported(
                "differential privacy: epsilon and the total budget must be positive numbers",
            ));
        }
        if !(self.delta > 0.0 && self.delta < 1.0) {
            return Err(unsupported(
                "differential privacy: delta must lie strictly between 0 and 1",
            ));
        }
        if self.epsilon > self.total_epsilon {
            return Err(unsupported(format!(
                "differential privacy: a query's epsilon ({}) exceeds the total budget ({})",
                self.epsilon, self.total_epsilon
            )));
        }
        if !pos(self.l2) || !self.l1.is_finite() || self.l1 < self.l2 {
            return Err(unsupported(
                "differential privacy: the statistic's sensitivity must be finite and \
                 positive, with L1 >= L2",
            ));
        }
        Ok(())
    }
}

/// The number of honest sites the calibration assumes: `K - t + 1` for a `t`-of-`N`
/// key (the analyst colludes with at most `t - 1` sites), 1 when every site must
/// decrypt (`t = 0`: the analyst may collude with all others).
pub fn honest_sites(sites: usize, threshold: usize) -> u32 {
    let h = if threshold == 0 {
        1
    } else {
        sites.saturating_sub(threshold).saturating_add(1).max(1)
    };
    u32::try_from(h).unwrap_or(u32::MAX)
}

/// The sensitivity of `dim` values of sensitivity `(l2, l1)` (value units) once
/// encoded on a grid of `g` fractional bits. The site rounds each released sum,
/// not each row, and rounds twice (to 40 bits, then to the grid), so a coordinate
/// may move by up to 2 units more than `|Delta_j| 2^g`: `L2 <= l2 2^g + 2 sqrt(d)`,
/// `L1 <= l1 2^g + 2 d`.
fn grid_sensitivity(l2: f64, l1: f64, dim: usize, g: u32) -> Option<Sensitivity> {
    let scale = 2f64.powi(i32::try_from(g).ok()?);
    let d = dim as f64;
    let l2_int = l2 * scale + 2.0 * d.sqrt();
    let l1_int = l1 * scale + 2.0 * d;
    let l2_sq = crate::dp::sampler::whole_f64_to_u128((l2_int * l2_int).ceil())?;
    let l1 = crate::dp::sampler::whole_f64_to_u128(l1_int.ceil())?;
    if l2_sq > 1u128 << 124 {
        return None;
    }
    // L2 <= L1 <= sqrt(d) L2 always holds for the true change: clamp into it.
    let ceil_sqrt = |v: u128| {
        let r = v.isqrt();
        if r * r == v { r } else { r + 1 }
    };
    let dim64 = u64::try_from(dim).ok()?;
    let hi = ceil_sqrt(u128::from(dim64).checked_mul(l2_sq)?);
    let l1 = l1.max(ceil_sqrt(l2_sq)).min(hi);
    Sensitivity::new(l2_sq, l1, dim64).ok()
}

/// The finest grid (`g <= 40`) on which the share fits the sampler, and the
/// calibration there.
fn calibrate_on_grid(q: &DpQuery, dim: usize, sites: u32, honest: u32) -> Result<(u32, Calibration)> {
    let rho = rho_for_epsilon(q.epsilon, q.delta)?.value();
    // The share's sigma in value units, about l2 / sqrt(2 rho h); the sampler takes
    // sigma up to 2^48 units, so start where it fits with a margin and go coarser.
    let sigma = q.l2 / (2.0 * rho * f64::from(honest)).sqrt();
    let start = if sigma > 0.0 {
        (46.0 - sigma.log2()).floor().clamp(0.0, f64::from(FRAC_BITS))
    } else {
        f64::from(FRAC_BITS)
    };
    #[expect(clippy::cast_possible_truncation, reason = "clamped to [0, 40]")]
    let start = start as u32;
    let mut last = None;
    for g in (0..=start).rev() {
        let Some(sens) = grid_sensitivity(q.l2, q.l1, dim, g) else {
            continue;
        };
        match calibrate(
            Analysis::SumOfHonestShares,
            q.epsilon,
            q.delta,
            &sens,
            sites,
            honest,
        ) {
            Ok(c) => return Ok((g, c)),
            Err(e) => last = Some(e),
        }
    }
    Err(unsupported(format!(
        "differential privacy: no grid of at most {FRAC_BITS} fractional bits carries noise \
         for a sensitivity of {} at epsilon {}{}",
        q.l2,
        q.epsilon,
        last.map(|e| format!(" ({e})")).unwrap_or_default()
    )))
}

/// A contribution's noise, ready to add: the values rounded to the grid and the
/// share drawn, both in 40-bit fixed-point units, with the facts and the budget line
/// to log.
pub(super) struct Noised {
    pub(super) fixed: Zeroizing<Vec<i128>>,
    pub(super) facts: DpFacts,
    pub(super) budget_line: String,
}

/// Charges `q` to `budget` (refused, unchanged, if it does not fit), rounds
/// `fixed` (40-bit fixed point) to the grid and adds one discrete Gaussian share
/// per value from `rng`.
pub(super) fn noise(
    q: &DpQuery,
    fixed: &[i128],
    sites: usize,
    threshold: usize,
    budget: Option<ZcdpBudget>,
    analyst: &str,
    rng: &mut SecretRng,
) -> Result<Noised> {
    q.check()?;
    let k = u32::try_from(sites).map_err(|_| unsupported("too many sites"))?;
    let honest = honest_sites(sites, threshold);
    let (g, cal) = calibrate_on_grid(q, fixed.len(), k, honest)?;
    let total = rho_for_epsilon(q.total_epsilon, q.delta)?.value();
    let mut budget = match budget {
        Some(b) => b.with_total(total)?,
        None => ZcdpBudget::new(analyst, total)?,
    };
    budget.spend(cal.rho)?;
    let shift = FRAC_BITS - g;
    let draws = cal.per_site.sample_n(rng, fixed.len())?;
    let mut out = Zeroizing::new(Vec::with_capacity(fixed.len()));
    for (&v, &z) in fixed.iter().zip(draws.iter()) {
        let on_grid = if shift == 0 {
            v
        } else {
            v.saturating_add(1i128 << (shift - 1)) >> shift
        };
        let noisy = on_grid
            .checked_add(z)
            .and_then(|x| x.checked_mul(1i128 << shift))
            .ok_or_else(|| unsupported("a noisy value does not fit the encoding"))?;
        out.push(noisy);
    }
    let unit = 2f64.powi(-i32::try_from(g).unwrap_or(0));
    let variance = cal.per_site.variance() * unit * unit;
    let facts = DpFacts {
        mechanism: DpFacts::DISCRETE_GAUSSIAN_SHARES,
        grid_bits: u8::try_from(g).unwrap_or(0),
        honest: u16::try_from(honest).unwrap_or(u16::MAX),
        epsilon: cal.epsilon,
        delta: q.delta,
        rho: cal.rho.value(),
        sigma: variance.sqrt(),
        variance,
        budget_total: budget.total_rho(),
        budget_spent: budget.spent_rho(),
        epsilon_spent: budget.epsilon_spent(q.delta)?,
        queries: budget.queries(),
        analyst: budget.analyst().to_owned(),
    };
    Ok(Noised {
        fixed: out,
        facts,
        budget_line: budget.to_line(),
    })
}

/// The challenge an analyst signs to prove, to one site, that it holds its
/// long-term key: a digest of the site's signed identity for this session, which
/// carries the session id and the site's fresh key-agreement key (site-chosen), so a
/// signature is good for this site and session only.
pub fn analyst_challenge(identity_blob: &[u8]) -> Digest32 {
    let mut h = Sha256::new();
    h.update(b"mhe/dp/analyst-challenge/v1");
    h.update((identity_blob.len() as u64).to_le_bytes());
    h.update(identity_blob);
    h.finalize().into()
}

/// The analyst's side: signs the challenge of a site's identity blob with the
/// long-term key `seed`; returns the verification key and the signature.
///
/// # Errors
/// [`Error::Randomness`] if the OS generator fails (it seeds the unused
/// key-agreement half of the key pair).
pub fn sign_analyst_challenge(
    seed: &[u8; 32],
    identity_blob: &[u8],
) -> Result<([u8; 32], [u8; SIGNATURE_LEN])> {
    let mut rng = SecretRng::from_os()?;
    let keys = SiteKeys::with_signing_seed(seed, &mut rng);
    let sig = keys.sign(&analyst_challenge(identity_blob));
    Ok((keys.verifying_key(), sig))
}

/// The identity an analyst who signed `challenge` with `vk` has at a site whose
/// admin pinned the fingerprints `pinned`: the fingerprint when pinned,
/// [`UNPINNED_ANALYST`] otherwise.
///
/// # Errors
/// [`Error::Refused`] of kind `BadAttestation` for a signature that does not verify.
pub fn analyst_identity(
    challenge: &Digest32,
    vk: &[u8; 32],
    sig: &[u8; SIGNATURE_LEN],
    pinned: &[String],
) -> Result<String> {
    verify(vk, challenge, sig).map_err(|_| {
        Error::refused(
            RefusalKind::BadAttestation,
            "the analyst's signature of this site's challenge does not verify",
        )
    })?;
    let fp = fingerprint(vk);
    Ok(if pinned.iter().any(|p| p.eq_ignore_ascii_case(&fp)) {
        fp
    } else {
        UNPINNED_ANALYST.to_owned()
    })
}
