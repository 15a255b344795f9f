//! Collective public-key generation (Mouchet et al., PETS 2021, Protocol 1: EncKeyGen).

use std::sync::Arc;

use crate::keys::{PublicKey, SecretKey};
use crate::params::Params;
use crate::ring::{Form, Poly, SecretPoly};
use crate::sampling::{self, Crs, SecretRng};

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
