//! t-out-of-N threshold secret sharing of the key (Mouchet et al., eprint 2022/780,
//! after Shamir): each party shares its `s_i` with a random polynomial of degree t-1
//! over R_Q; party j's threshold secret is the sum of the evaluations it received at
//! its point `x_j`; any t parties turn theirs into additive shares of `s` with Lagrange
//! coefficients, and t-1 parties learn nothing about `s`.

use std::sync::Arc;

use zeroize::Zeroize;

use crate::arith::{inv_mod, mul_mod, sub_mod};
use crate::error::{Error, Result};
use crate::keys::SecretKey;
use crate::params::Params;
use crate::ring::{Form, Poly, SecretPoly};
use crate::sampling::{self, SecretRng};

/// A party's secret sharing polynomial `P_i(X) = s_i + r_1 X + ... + r_{t-1} X^{t-1}`.
/// Secret; zeroized on drop.
pub struct ShamirPolynomial {
    coeffs: Vec<Poly>,
}

impl Drop for ShamirPolynomial {
    fn drop(&mut self) {
        self.coeffs.iter_mut().for_each(Zeroize::zeroize);
    }
}

impl std::fmt::Debug for ShamirPolynomial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShamirPolynomial").finish_non_exhaustive()
    }
}

/// An evaluation `P_i(x_j)`, or the sum of those a party received. Secret: it travels
/// only sealed to its recipient (see [`crate::identity`]). Zeroized on drop.
pub struct ShamirShare(pub(crate) Poly);

impl Drop for ShamirShare {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for ShamirShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShamirShare").finish_non_exhaustive()
    }
}

impl ShamirShare {
    /// The aggregated share as the party's threshold secret.
    pub fn into_secret(mut self, params: &Params) -> SecretKey {
        let p = std::mem::replace(&mut self.0, Poly::zero(params, Form::Ntt));
        SecretKey::from_poly(p, params)
    }
}

/// Shares a key among N parties so that any `threshold` of them can decrypt.
#[derive(Debug, Clone)]
pub struct Thresholdizer {
    params: Arc<Params>,
}

impl Thresholdizer {
    /// The protocol for `params`.
    pub fn new(params: Arc<Params>) -> Self {
        Thresholdizer { params }
    }

    /// `gen_polynomial` draws `P_i` with `P_i(0) = s_i` and `threshold - 1` uniform
    /// coefficients from the private generator.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a threshold of 0; [`Error::Refused`] if `rng`
    /// was wiped.
    pub fn gen_polynomial(
        &self,
        sk: &SecretKey,
        threshold: usize,
        rng: &mut SecretRng,
    ) -> Result<ShamirPolynomial> {
        if threshold == 0 {
            return Err(Error::InvalidArgument(
                "threshold must be at least 1".into(),
            ));
        }
        rng.check()?;
        let p = &self.params;
        let mut coeffs = Vec::with_capacity(threshold);
        coeffs.push(sk.s.clone());
        for _ in 1..threshold {
            let mut r = sampling::secret_uniform_poly(p, rng);
            r.to_ntt(p);
            coeffs.push(r.into_public());
        }
        Ok(ShamirPolynomial { coeffs })
    }

    /// `gen_share` evaluates `P_i` at the recipient's public point `x_j` (Horner).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for the point 0, which would reveal `s_i`.
    pub fn gen_share(&self, poly: &ShamirPolynomial, point: u64) -> Result<ShamirShare> {
        if point == 0 {
            return Err(Error::InvalidArgument(
                "Shamir point 0 is the secret itself".into(),
            ));
        }
        let p = &self.params;
        let mut acc = SecretPoly::zero(p, Form::Ntt);
        for c in poly.coeffs.iter().rev() {
            acc.mul_scalar_assign(point, p);
            acc.add_assign(c, p);
        }
        Ok(ShamirShare(acc.into_public()))
    }

    /// `aggregate_shares` sums the evaluations a party received (its own included).
    pub fn aggregate_shares<'a>(
        &self,
        shares: impl IntoIterator<Item = &'a ShamirShare>,
    ) -> ShamirShare {
        let mut acc = Poly::zero(&self.params, Form::Ntt);
        for s in shares {
            acc.add_assign(&s.0, &self.params);
        }
        ShamirShare(acc)
    }
}

/// Turns a threshold secret into an additive share of `s` for a given set of at least
/// `threshold` active parties.
#[derive(Debug, Clone)]
pub struct Combiner {
    params: Arc<Params>,
    own_point: u64,
    threshold: usize,
}

impl Combiner {
    /// The combiner of the party at `own_point` for a `threshold`-out-of-N sharing.
    pub fn new(params: Arc<Params>, own_point: u64, threshold: usize) -> Self {
        Combiner {
            params,
            own_point,
            threshold,
        }
    }

    /// `gen_additive_share` returns `λ_i * s'_i` with the Lagrange coefficient
    /// `λ_i = Π_{j != i} x_j / (x_j - x_i)` over the active points, so that the
    /// active parties' results sum to `s`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the active set is smaller than the threshold, holds
    /// a repeated or zero point, or does not hold this party.
    pub fn gen_additive_share(&self, active_points: &[u64], tsk: &SecretKey) -> Result<SecretKey> {
        let mut sorted = active_points.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != active_points.len() || sorted.contains(&0) {
            return Err(Error::InvalidArgument(
                "active points must be distinct and nonzero".into(),
            ));
        }
        if sorted.len() < self.threshold {
            return Err(Error::InvalidArgument(format!(
                "{} active parties, threshold is {}",
                sorted.len(),
                self.threshold
            )));
        }
        if !sorted.contains(&self.own_point) {
            return Err(Error::InvalidArgument(
                "this party is not in the active set".into(),
            ));
        }
        let p = &self.params;
        let lambda: Vec<u64> = p
            .moduli()
            .map(|q| {
                let xi = self.own_point % q;
                sorted
                    .iter()
                    .filter(|&&x| x != self.own_point)
                    .fold(1u64, |acc, &xj| {
                        let xj = xj % q;
                        mul_mod(acc, mul_mod(xj, inv_mod(sub_mod(xj, xi, q), q), q), q)
                    })
            })
            .collect();
        let mut s = SecretPoly::new(tsk.s.clone());
        s.mul_rns_scalar_assign(&lambda, p);
        Ok(SecretKey::from_poly(s.into_public(), p))
    }
}
