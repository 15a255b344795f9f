//! Collective public-key generation (Mouchet et al., PETS 2021, Protocol 1: EncKeyGen),
//! with the check that lets a site accept the aggregated key without seeing every
//! other site's share: each site evaluates its own share at points derived from the
//! digest of the aggregate (Fiat-Shamir), and the signed evaluations must sum to the
//! aggregate's evaluation (Schwartz-Zippel; see `SECURITY.md`, section 5.3).

use std::sync::Arc;

use crate::keys::{PublicKey, SecretKey};
use crate::params::Params;
use crate::ring::{Form, Poly, SecretPoly};
use crate::sampling::{self, Crs, SecretRng};

/// Points at which each share is evaluated, per RNS modulus. A nonzero difference
/// of degree below `N` vanishes at a uniform point of `Z_q` with probability at most
/// `(N - 1)/q` (below `2^-40` for every parameter set), so three independent points
/// bound a forged aggregate's chance to `2^-120` per attempt.
pub const CHECK_POINTS: usize = 3;

/// The common random polynomial `a` of the public key, drawn from the CRS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyGenCrp(pub(crate) Poly);

/// A party's share `p0_i = -a*s_i + e_i` (NTT form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyGenShare(pub(crate) Poly);

impl PublicKeyGenShare {
    /// The share polynomial.
    pub fn poly(&self) -> &Poly {
        &self.0
    }
    /// A share from its polynomial (put in NTT form).
    pub fn from_poly(mut p: Poly, params: &Params) -> Self {
        p.to_ntt(params);
        PublicKeyGenShare(p)
    }
}

/// Collective public-key generation: the parties publish `-a*s_i + e_i` for a common
/// `a`; the sum is an RLWE public key for `s = Σ s_i`.
#[derive(Debug, Clone)]
pub struct PublicKeyGenProtocol {
    params: Arc<Params>,
}

impl PublicKeyGenProtocol {
    /// The protocol for `params`.
    pub fn new(params: Arc<Params>) -> Self {
        PublicKeyGenProtocol { params }
    }

    /// `sample_crp` draws `a` from the CRS under the label `public_key_gen`.
    pub fn sample_crp(&self, crs: &Crs) -> PublicKeyGenCrp {
        let mut a = crs.uniform_poly(&self.params, b"public_key_gen");
        a.to_ntt(&self.params);
        PublicKeyGenCrp(a)
    }

    /// `gen_share` computes `-a*s_i + e_i` from the private share `s_i` and the public
    /// CRP `a`, with a fresh Gaussian `e_i` (sigma 3.2). The share is an RLWE sample, so
    /// it hides `s_i`; its noise `e_i` adds to the collective key noise `Σ e_i`
    /// (expected: variance σ² per coefficient). `a*s_i` and `e_i` are zeroized.
    pub fn gen_share(
        &self,
        sk: &SecretKey,
        crp: &PublicKeyGenCrp,
        rng: &mut SecretRng,
    ) -> PublicKeyGenShare {
        let p = &self.params;
        let mut share = SecretPoly::new(crp.0.clone());
        share.mul_assign_ntt(&sk.s, p);
        share.neg_assign(p);
        let e = sampling::small_poly_ntt(p, &sampling::gaussian(rng, p.n()));
        share.add_assign(&e, p);
        PublicKeyGenShare(share.into_public())
    }

    /// `aggregate_shares` sums the shares.
    pub fn aggregate_shares<'a>(
        &self,
        shares: impl IntoIterator<Item = &'a PublicKeyGenShare>,
    ) -> PublicKeyGenShare {
        let mut acc = Poly::zero(&self.params, Form::Ntt);
        for s in shares {
            acc.add_assign(&s.0, &self.params);
        }
        PublicKeyGenShare(acc)
    }

    /// `check_points` derives the evaluation points of the aggregate check from
    /// `seed` (a digest that binds the session, the roster and the aggregate itself):
    /// [`CHECK_POINTS`] points per modulus, limb-major, each a SHA-256 output reduced
    /// modulo that limb's prime (bias below `2^-190`).
    pub fn check_points(&self, seed: &[u8; 32]) -> Vec<u64> {
        use sha2::{Digest, Sha256};
        let mut points = Vec::with_capacity(self.params.num_limbs() * CHECK_POINTS);
        for (limb, q) in self.params.moduli().enumerate() {
            for j in 0..CHECK_POINTS {
                let mut h = Sha256::new();
                h.update(b"mhe/pk-check-point/v1");
                h.update(seed);
                h.update((limb as u64).to_le_bytes());
                h.update((j as u64).to_le_bytes());
                let d: [u8; 32] = h.finalize().into();
                let wide = d
                    .iter()
                    .take(16)
                    .fold(0u128, |acc, &b| (acc << 8) | u128::from(b));
                points.push(reduce_u128(wide, q));
            }
        }
        points
    }

    /// `evaluate` returns the polynomial `p` (of either form) read in coefficient
    /// form as `Σ c_k x^k` at each point of [`Self::check_points`], modulo that
    /// point's limb prime: limb-major, [`CHECK_POINTS`] values per limb. The map is
    /// linear, so the evaluations of the shares sum to the evaluation of their sum.
    pub fn evaluate(&self, p: &Poly, points: &[u64]) -> Vec<u64> {
        let mut c = p.clone();
        if c.form() == Form::Ntt {
            c.to_coeff(&self.params);
        }
        let mut out = Vec::with_capacity(points.len());
        for ((row, q), pts) in c
            .rows()
            .zip(self.params.moduli())
            .zip(points.chunks(CHECK_POINTS))
        {
            for &x in pts {
                let v = row.iter().rev().fold(0u64, |acc, &ck| {
                    reduce_u128(u128::from(acc) * u128::from(x) + u128::from(ck), q)
                });
                out.push(v);
            }
        }
        out
    }

    /// `sum_evaluations` adds evaluations limb by limb (each modulo its prime).
    /// Returns `None` when one has not [`CHECK_POINTS`] values per limb.
    pub fn sum_evaluations<'a>(
        &self,
        evaluations: impl IntoIterator<Item = &'a [u64]>,
    ) -> Option<Vec<u64>> {
        let width = self.params.num_limbs() * CHECK_POINTS;
        let mut acc = vec![0u64; width];
        for e in evaluations {
            if e.len() != width {
                return None;
            }
            let moduli = self
                .params
                .moduli()
                .flat_map(|q| std::iter::repeat_n(q, CHECK_POINTS));
            for ((a, &v), q) in acc.iter_mut().zip(e).zip(moduli) {
                *a = reduce_u128(u128::from(*a) + u128::from(v), q);
            }
        }
        Some(acc)
    }

    /// `gen_public_key` returns the collective key `(Σ p0_i, a)`.
    pub fn gen_public_key(
        &self,
        aggregate: &PublicKeyGenShare,
        crp: &PublicKeyGenCrp,
    ) -> PublicKey {
        PublicKey {
            p0: aggregate.0.clone(),
            p1: crp.0.clone(),
        }
    }
}

/// `v mod q` for public values (variable time).
fn reduce_u128(v: u128, q: u64) -> u64 {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "a remainder modulo a 64-bit modulus fits in 64 bits"
    )]
    let r = (v % u128::from(q)) as u64;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The evaluations of the shares sum to the evaluation of the aggregate, and a
    /// share left out (or changed in one coefficient) breaks the sum.
    #[test]
    fn evaluations_are_linear_and_catch_a_missing_share() {
        let params = Params::by_name("default").unwrap();
        let ckg = PublicKeyGenProtocol::new(params.clone());
        let crp = ckg.sample_crp(&Crs::from_seed([3u8; 32]));
        let mut rng = SecretRng::from_os().unwrap();
        let shares: Vec<PublicKeyGenShare> = (0..3)
            .map(|_| {
                let sk = SecretKey::generate(&params, &mut rng);
                ckg.gen_share(&sk, &crp, &mut rng)
            })
            .collect();
        let agg = ckg.aggregate_shares(&shares);
        let points = ckg.check_points(&[9u8; 32]);
        assert_eq!(points.len(), params.num_limbs() * CHECK_POINTS);
        let evals: Vec<Vec<u64>> = shares.iter().map(|s| ckg.evaluate(&s.0, &points)).collect();
        let sum = ckg
            .sum_evaluations(evals.iter().map(Vec::as_slice))
            .unwrap();
        assert_eq!(sum, ckg.evaluate(&agg.0, &points));
        let two = ckg
            .sum_evaluations(evals.iter().take(2).map(Vec::as_slice))
            .unwrap();
        assert_ne!(two, ckg.evaluate(&agg.0, &points));
        let mut off = agg.0.clone();
        off.to_coeff(&params);
        let mut one = Poly::zero(&params, Form::Coeff);
        one.add_assign(&Poly::from_signed(&params, &[0, 0, 0, 1]), &params);
        off.add_assign(&one, &params);
        assert_ne!(sum, ckg.evaluate(&off, &points));
        assert!(ckg.sum_evaluations([&[1u64][..]]).is_none());
    }
}
