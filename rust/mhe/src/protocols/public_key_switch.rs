//! Collective public-key switching: re-encrypt under a recipient's public key without
//! anyone decrypting (Mouchet et al., PETS 2021, Protocol 4: PubKeySwitch).

use std::sync::Arc;

use crate::ciphertext::Ciphertext;
use crate::error::Result;
use crate::keys::{PublicKey, SecretKey};
use crate::noise;
use crate::params::Params;
use crate::protocols::key_switch::{DecryptionLedger, checked_flooding};
use crate::ring::{Form, Poly, SecretPoly};
use crate::sampling::{self, SecretRng};

/// A party's share `(h0_i, h1_i) = (s_i*c1 + u_i*p0' + f_i, u_i*p1' + e_i)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeySwitchShare {
    pub(crate) h0: Poly,
    pub(crate) h1: Poly,
}

impl PublicKeySwitchShare {
    /// The two share polynomials (coefficient form).
    pub fn polys(&self) -> (&Poly, &Poly) {
        (&self.h0, &self.h1)
    }
}

/// Public-key switch from the collective key to a recipient's key `(p0', p1')`.
#[derive(Debug, Clone)]
pub struct PublicKeySwitchProtocol {
    params: Arc<Params>,
    flooding_bits: u32,
}

impl PublicKeySwitchProtocol {
    /// The protocol for a set of `parties` parties under `params`, flooding with
    /// `2^flooding_bits` (see [`KeySwitchProtocol::with_flooding`] for the rules).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a width outside the documented range or a set
    /// size the parameter set does not support.
    pub fn new(params: Arc<Params>, parties: usize, flooding_bits: u32) -> Result<Self> {
        let flooding_bits = checked_flooding(&params, parties, Some(flooding_bits))?;
        Ok(PublicKeySwitchProtocol {
            params,
            flooding_bits,
        })
    }

    /// The protocol for `parties` parties with the documented width
    /// [`noise::flooding_bits`] for that set.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a set size the parameter set does not support.
    pub fn for_parties(params: Arc<Params>, parties: usize) -> Result<Self> {
        let bits = noise::flooding_bits(&params, parties);
        Self::new(params, parties, bits)
    }

    /// `gen_share` computes `h0_i = s_i*c1 + u_i*p0' + f_i` and `h1_i = u_i*p1' + e_i`
    /// from the private share `s_i`, the recipient's public key and the ciphertext, with
    /// fresh ternary `u_i`, Gaussian `e_i` and flooding `f_i` of width `2^flooding_bits`.
    /// Records `c1` in `ledger`. Expected noise after aggregation: `Σ f_i` plus the
    /// fresh-encryption noise of the recipient's key. `s_i*c1`, `u_i` and the
    /// intermediate products are zeroized.
    ///
    /// # Errors
    /// [`Error::Refused`] when `ledger` already holds this ciphertext or `rng` was
    /// wiped; [`Error::ShareLimit`] when the ledger's session cap is reached.
    pub fn gen_share(
        &self,
        sk: &SecretKey,
        target: &PublicKey,
        ct: &Ciphertext,
        ledger: &mut DecryptionLedger,
        rng: &mut SecretRng,
    ) -> Result<PublicKeySwitchShare> {
        let p = &self.params;
        rng.check()?;
        ledger.record(&ct.c1)?;
        let u = sampling::small_poly_ntt(p, &sampling::ternary(rng, p.n()));
        let mut h0 = SecretPoly::new(ct.c1.clone());
        h0.to_ntt(p);
        h0.mul_assign_ntt(&sk.s, p);
        let mut up0 = SecretPoly::new(target.p0.clone());
        up0.mul_assign_ntt(&u, p);
        h0.add_assign(&up0, p);
        h0.to_coeff(p);
        sampling::add_flooding(p, &mut h0, rng, self.flooding_bits);
        let mut h1 = SecretPoly::new(target.p1.clone());
        h1.mul_ntt_to_coeff(&u, p);
        h1.add_signed(p, &sampling::gaussian(rng, p.n()));
        Ok(PublicKeySwitchShare {
            h0: h0.into_public(),
            h1: h1.into_public(),
        })
    }

    /// `aggregate_shares` sums the shares.
    pub fn aggregate_shares<'a>(
        &self,
        shares: impl IntoIterator<Item = &'a PublicKeySwitchShare>,
    ) -> PublicKeySwitchShare {
        let mut h0 = Poly::zero(&self.params, Form::Coeff);
        let mut h1 = Poly::zero(&self.params, Form::Coeff);
        for s in shares {
            h0.add_assign(&s.h0, &self.params);
            h1.add_assign(&s.h1, &self.params);
        }
        PublicKeySwitchShare { h0, h1 }
    }

    /// `key_switch` returns `(c0 + Σ h0_i, Σ h1_i)`, an encryption under the recipient's key.
    pub fn key_switch(&self, ct: &Ciphertext, aggregate: &PublicKeySwitchShare) -> Ciphertext {
        let mut c0 = ct.c0.clone();
        c0.add_assign(&aggregate.h0, &self.params);
        Ciphertext {
            c0,
            c1: aggregate.h1.clone(),
        }
    }
}
