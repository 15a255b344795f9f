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
use crate::ring::{Form, Poly, SecretPoly};
use crate::sampling::{self, SecretRng};

/// SHA-256 of a polynomial's residues: identifies the `c1` a share was produced for.
pub fn poly_digest(p: &Poly) -> [u8; 32] {
    const RESIDUES: usize = 64;
    let mut h = Sha256::new();
    h.update(b"mhe/poly/v1");
    // The residues' little-endian bytes go to the hash in blocks: the same bytes as
    // one update per residue, whose bookkeeping cost more than the compression.
    let mut buf = [0u8; 8 * RESIDUES];
    for chunk in p.residues().chunks(RESIDUES) {
        for (dst, r) in buf.chunks_exact_mut(8).zip(chunk) {
            dst.copy_from_slice(&r.to_le_bytes());
        }
        h.update(buf.get(..8 * chunk.len()).unwrap_or_default());
    }
    h.finalize().into()
}

/// The `c1` components a party has produced decryption or key-switch shares for.
///
/// Two shares for the same ciphertext under the same key, with independent flooding,
/// let an observer average the flooding away and eventually recover the key (eprint
/// 2024/194, 2025/409). The protocols record every `c1` here and refuse a second share,
/// whatever the set of parties or the target key.
///
/// The ledger also counts: one ledger (one key share, one session) records at most
/// [`noise::MAX_SHARES_PER_SESSION`] shares, the number the flooding width is sized
/// for, so the statistical distance of everything it lets out stays below 2^-40
/// (hybrid bound, see [`crate::noise`]).
#[derive(Debug, Default)]
pub struct DecryptionLedger {
    seen: HashSet<[u8; 32]>,
}

impl DecryptionLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `c1`; refuses one already recorded, and any beyond the session's cap.
    ///
    /// # Errors
    /// [`Error::Refused`] if a share was already produced for this `c1`;
    /// [`Error::ShareLimit`] once [`noise::MAX_SHARES_PER_SESSION`] are recorded.
    pub fn record(&mut self, c1: &Poly) -> Result<[u8; 32]> {
        self.ensure_room(1)?;
        let d = poly_digest(c1);
        if !self.seen.insert(d) {
            return Err(Error::Refused(
                "a share for this ciphertext was already produced; start a new query".into(),
            ));
        }
        Ok(d)
    }

    /// Checks that `count` more shares fit under the session's cap, so that a request
    /// is refused whole rather than served in part.
    ///
    /// # Errors
    /// [`Error::ShareLimit`] if they do not.
    pub fn ensure_room(&self, count: usize) -> Result<()> {
        if self.seen.len().saturating_add(count) > noise::MAX_SHARES_PER_SESSION {
            return Err(Error::ShareLimit {
                limit: noise::MAX_SHARES_PER_SESSION,
            });
        }
        Ok(())
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

/// Collective key switching from `s = Σ s_i` to `s' = Σ s'_i`, with noise flooding
/// sized for the set of parties it serves.
#[derive(Debug, Clone)]
pub struct KeySwitchProtocol {
    params: Arc<Params>,
    flooding_bits: u32,
}

/// The flooding width for `parties` parties, checked against the parameter set: at
/// least [`noise::flooding_bits`] for that set, at most 2 bits more, and a correctness
/// margin of at least [`noise::MIN_MARGIN_BITS`].
pub(crate) fn checked_flooding(params: &Params, parties: usize, bits: Option<u32>) -> Result<u32> {
    let max = params.max_parties();
    if parties == 0 || parties > max {
        return Err(Error::InvalidArgument(format!(
            "a set of {parties} parties: parameter set '{}' supports 1 to {max}",
            params.name()
        )));
    }
    let min = noise::flooding_bits(params, parties);
    let bits = bits.unwrap_or(min);
    if bits < min || bits > min + 2 {
        return Err(Error::InvalidArgument(format!(
            "flooding width 2^{bits} outside [2^{min}, 2^{}] for {parties} parties under parameter set '{}'",
            min + 2,
            params.name()
        )));
    }
    if noise::margin_with(params, parties, bits) < noise::MIN_MARGIN_BITS {
        return Err(Error::InvalidArgument(format!(
            "flooding width 2^{bits} leaves no correctness margin for {parties} parties"
        )));
    }
    Ok(bits)
}

impl KeySwitchProtocol {
    /// The protocol for a set of `parties` parties under `params`, flooding each share
    /// with uniform noise over `[-W, W)`, `W = 2^noise::flooding_bits(params, parties)`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty set or one larger than
    /// [`Params::max_parties`].
    pub fn new(params: Arc<Params>, parties: usize) -> Result<Self> {
        let flooding_bits = checked_flooding(&params, parties, None)?;
        Ok(KeySwitchProtocol {
            params,
            flooding_bits,
        })
    }

    /// As [`KeySwitchProtocol::new`] with an explicit flooding width.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a width below [`noise::flooding_bits`] for the set
    /// (40 bits of statistical security over a session), more than 2 bits above it, or
    /// beyond the correctness margin; or a bad set size.
    pub fn with_flooding(params: Arc<Params>, parties: usize, flooding_bits: u32) -> Result<Self> {
        let flooding_bits = checked_flooding(&params, parties, Some(flooding_bits))?;
        Ok(KeySwitchProtocol {
            params,
            flooding_bits,
        })
    }

    /// The protocol sized for the largest set its parameter set supports
    /// ([`Params::max_parties`]): for the side that only combines shares, or when the
    /// set is not known. A site producing shares should use [`KeySwitchProtocol::new`]
    /// with its set, which floods less and keeps more margin.
    pub fn with_default_flooding(params: Arc<Params>) -> Self {
        let flooding_bits = params.flooding_bits();
        KeySwitchProtocol {
            params,
            flooding_bits,
        }
    }

    /// The flooding width, log2 of `W`.
    pub fn flooding_bits(&self) -> u32 {
        self.flooding_bits
    }

    /// `gen_share` computes `h_i = c1*(s_i - s'_i) + f_i` from the private input share
    /// `s_i`, the private output share `s'_i` (`None`: the zero key, i.e. decryption) and
    /// the public ciphertext. `f_i` is uniform over `[-W, W)`, `W = 2^flooding_bits`,
    /// which hides the ciphertext noise with 40 bits of statistical security over all
    /// the shares of a session (see [`crate::noise`]). Expected noise of the share
    /// against `c1*(s_i - s'_i)`: `f_i` alone. The product `c1*(s_i - s'_i)` and the
    /// key difference are zeroized before the share is returned. Records `c1` in
    /// `ledger` and refuses a second share for it.
    ///
    /// # Errors
    /// [`Error::Refused`] when `ledger` already holds this ciphertext or `rng` was
    /// wiped; [`Error::ShareLimit`] when the ledger's session cap is reached.
    pub fn gen_share(
        &self,
        sk_in: &SecretKey,
        sk_out: Option<&SecretKey>,
        ct: &Ciphertext,
        ledger: &mut DecryptionLedger,
        rng: &mut SecretRng,
    ) -> Result<KeySwitchShare> {
        let p = &self.params;
        rng.check()?;
        ledger.record(&ct.c1)?;
        let mut h = SecretPoly::new(ct.c1.clone());
        h.to_ntt(p);
        match sk_out {
            Some(out) => {
                let mut key = SecretPoly::new(sk_in.s.clone());
                key.sub_assign(&out.s, p);
                h.mul_ntt_to_coeff(&key, p);
            }
            None => h.mul_ntt_to_coeff(&sk_in.s, p),
        }
        sampling::add_flooding(p, &mut h, rng, self.flooding_bits);
        Ok(KeySwitchShare(h.into_public()))
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

    /// `decrypt_shares` is [`KeySwitchProtocol::aggregate_shares`] followed by
    /// [`KeySwitchProtocol::decrypt`], summing the shares straight into a copy of `c0`:
    /// one ring-sized buffer instead of two, which keeps glibc's allocator from
    /// trimming and re-faulting its heap on every combine (see `BENCHMARKS.md`).
    pub fn decrypt_shares<'a>(
        &self,
        ct: &Ciphertext,
        shares: impl IntoIterator<Item = &'a KeySwitchShare>,
    ) -> Plaintext {
        let mut x = ct.c0.clone();
        for s in shares {
            x.add_assign(&s.0, &self.params);
        }
        scale_and_round(&self.params, &x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_hashes_every_residue_little_endian_after_its_label() {
        for params in [Params::toy(), Params::by_name("default").unwrap()] {
            let values: Vec<i64> = (0..params.n() as i64).map(|i| i * 977 - 5000).collect();
            let p = Poly::from_signed(&params, &values);
            let mut h = Sha256::new();
            h.update(b"mhe/poly/v1");
            for r in p.residues() {
                h.update(r.to_le_bytes());
            }
            let want: [u8; 32] = h.finalize().into();
            assert_eq!(poly_digest(&p), want);
            let mut other = p.clone();
            other.neg_assign(&params);
            assert_ne!(poly_digest(&other), want);
        }
    }
}
