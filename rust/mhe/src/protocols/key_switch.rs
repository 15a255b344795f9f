//! Collective key switching, and decryption as a switch to the zero key (Mouchet et
//! al., PETS 2021, Protocol 3: KeySwitch).

use std::collections::HashSet;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::ciphertext::{Ciphertext, scale_and_round};
use crate::encoding::Plaintext;
use crate::error::{Error, Result};
use crate::keys::SecretKey;
use crate::noise;
use crate::params::Params;
use crate::ring::{Form, Poly};
use crate::sampling::{self, SecretRng};

/// SHA-256 of a polynomial's residues: identifies the `c1` a share was produced for.
pub fn poly_digest(p: &Poly) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"mhe/poly/v1");
    for r in p.residues() {
        h.update(r.to_le_bytes());
    }
    h.finalize().into()
}

/// The `c1` components a party has produced decryption or key-switch shares for.
///
/// Two shares for the same ciphertext under the same key, with independent flooding,
/// let an observer average the flooding away and eventually recover the key (eprint
/// 2024/194, 2025/409). The protocols record every `c1` here and refuse a second share,
/// whatever the set of parties or the target key.
#[derive(Debug, Default)]
pub struct DecryptionLedger {
    seen: HashSet<[u8; 32]>,
}

impl DecryptionLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `c1`; refuses one already recorded.
    ///
    /// # Errors
    /// [`Error::Refused`] if a share was already produced for this `c1`.
    pub fn record(&mut self, c1: &Poly) -> Result<[u8; 32]> {
        let d = poly_digest(c1);
        if !self.seen.insert(d) {
            return Err(Error::Refused(
                "a share for this ciphertext was already produced; start a new query".into(),
            ));
        }
        Ok(d)
    }

    /// Whether a share for `c1` was already produced.
    pub fn contains(&self, c1: &Poly) -> bool {
        self.seen.contains(&poly_digest(c1))
    }

    /// Number of ciphertexts recorded.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// A party's key-switch share `h_i = c1*(s_i - s'_i) + f_i` (coefficient form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySwitchShare(pub(crate) Poly);

impl KeySwitchShare {
    /// The share polynomial.
    pub fn poly(&self) -> &Poly {
        &self.0
    }
    /// A share from its polynomial (coefficient form).
    pub fn from_poly(mut p: Poly, params: &Params) -> Self {
        p.to_coeff(params);
        KeySwitchShare(p)
    }
}

/// Collective key switching from `s = Σ s_i` to `s' = Σ s'_i`, with noise flooding.
#[derive(Debug, Clone)]
pub struct KeySwitchProtocol {
    params: Arc<Params>,
    flooding_bits: u32,
}

impl KeySwitchProtocol {
    /// The protocol for `params`, flooding each share with uniform noise over
    /// `[-2^flooding_bits, 2^flooding_bits)`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a width below [`noise::flooding_bits`] (40 bits of
    /// statistical security) or beyond the correctness margin.
    pub fn new(params: Arc<Params>, flooding_bits: u32) -> Result<Self> {
        let min = noise::flooding_bits(&params);
        if flooding_bits < min || flooding_bits > min + 2 {
            return Err(Error::InvalidArgument(format!(
                "flooding width 2^{flooding_bits} outside [2^{min}, 2^{}] for parameter set '{}'",
                min + 2,
                params.name()
            )));
        }
        Ok(KeySwitchProtocol {
            params,
            flooding_bits,
        })
    }

    /// The protocol with the documented flooding width of its parameter set.
    pub fn with_default_flooding(params: Arc<Params>) -> Self {
        let flooding_bits = noise::flooding_bits(&params);
        KeySwitchProtocol {
            params,
            flooding_bits,
        }
    }

    /// `gen_share` computes `h_i = c1*(s_i - s'_i) + f_i` from the private input share
    /// `s_i`, the private output share `s'_i` (`None`: the zero key, i.e. decryption) and
    /// the public ciphertext. `f_i` is uniform over `[-W, W)`, `W = 2^flooding_bits`,
    /// which hides the ciphertext noise with 40 bits of statistical security (see
    /// [`crate::noise`]). Records `c1` in `ledger` and refuses a second share for it.
    ///
    /// # Errors
    /// [`Error::Refused`] when `ledger` already holds this ciphertext.
    pub fn gen_share(
        &self,
        sk_in: &SecretKey,
        sk_out: Option<&SecretKey>,
        ct: &Ciphertext,
        ledger: &mut DecryptionLedger,
        rng: &mut SecretRng,
    ) -> Result<KeySwitchShare> {
        let p = &self.params;
        ledger.record(&ct.c1)?;
        let mut h = ct.c1.clone();
        h.to_ntt(p);
        let mut key = sk_in.s.clone();
        if let Some(out) = sk_out {
            key.sub_assign(&out.s, p);
        }
        h.mul_assign_ntt(&key, p);
        zeroize::Zeroize::zeroize(&mut key);
        h.to_coeff(p);
        h.add_assign(&sampling::flooding_poly(p, rng, self.flooding_bits), p);
        Ok(KeySwitchShare(h))
    }

    /// `aggregate_shares` sums the shares.
    pub fn aggregate_shares<'a>(
        &self,
        shares: impl IntoIterator<Item = &'a KeySwitchShare>,
    ) -> KeySwitchShare {
        let mut acc = Poly::zero(&self.params, Form::Coeff);
        for s in shares {
            acc.add_assign(&s.0, &self.params);
        }
        KeySwitchShare(acc)
    }

    /// `key_switch` returns `(c0 + Σ h_i, c1)`, an encryption under `s'`.
    pub fn key_switch(&self, ct: &Ciphertext, aggregate: &KeySwitchShare) -> Ciphertext {
        let mut c0 = ct.c0.clone();
        c0.add_assign(&aggregate.0, &self.params);
        Ciphertext {
            c0,
            c1: ct.c1.clone(),
        }
    }

    /// `decrypt` finishes a switch to the zero key: `round(t/Q * (c0 + Σ h_i)) mod t`.
    pub fn decrypt(&self, ct: &Ciphertext, aggregate: &KeySwitchShare) -> Plaintext {
        let mut x = ct.c0.clone();
        x.add_assign(&aggregate.0, &self.params);
        scale_and_round(&self.params, &x)
    }
}
