//! The group secret: 32 bytes that every roster site knows and the analyst does not,
//! from which each site rederives the encryption randomness of every contribution.
//!
//! Why: a decryption share is `s_i*c1 + f_i`. If the analyst chose `c1`, a crafted one
//! (a large constant, say) would expose `s_i` through the share. So no site ever takes
//! a `c1` from the analyst. Each contribution is encrypted as `(p0*u + e0 + Δm,
//! p1*u + e1)` with `u` and `e1` drawn from a PRF keyed by the group secret and bound
//! to (session, query, site, ciphertext index); the contribution carries only `c0`, and
//! every decrypting site computes the pooled `c1 = p1*Σu_k + Σe1_k` over the query's
//! declared site set itself. `e0` stays private to the contributing site.
//!
//! Steps, as for every protocol here:
//! - `gen_share`: each site draws 32 random bytes and seals them to every other roster
//!   member over their pairwise channel (the sealing is the caller's);
//! - `aggregate_shares`: each site hashes all members' bytes in roster order, bound to
//!   the session and the roster, into the group secret;
//! - `pooled_c1`: the pooled `c1` of a query's ciphertext.
//!
//! To the analyst alone `u` is pseudorandom, so contributions are ordinary public-key
//! encryptions. An analyst colluding with a site learns every `u_k`; each `c0_k` then
//! reveals `e0_k + Δ(m_k + mask_k)`, and the pairwise zero-sum mask (see
//! [`super::zero_sum`]) still hides `m_k` while two honest sites remain. The flooding
//! width covers the extra terms such a coalition can subtract from a share
//! (`e_i*Σu_k + s_i*Σe1_k`, smaller than the pooled-ciphertext noise bound).

use std::sync::Arc;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::ciphertext::c1_with_shared;
use crate::keys::PublicKey;
use crate::params::Params;
use crate::ring::Poly;
use crate::sampling::{self, SecretRng};

/// Bytes of a share and of the secret.
pub const GROUP_SECRET_LEN: usize = 32;

/// One site's random contribution to the group secret. Zeroized on drop.
pub struct GroupSecretShare(pub(crate) Zeroizing<[u8; GROUP_SECRET_LEN]>);

impl std::fmt::Debug for GroupSecretShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupSecretShare").finish_non_exhaustive()
    }
}

impl GroupSecretShare {
    /// The share's bytes (to seal for a peer).
    pub fn as_bytes(&self) -> &[u8; GROUP_SECRET_LEN] {
        &self.0
    }

    /// A share received from a peer.
    pub fn from_bytes(bytes: [u8; GROUP_SECRET_LEN]) -> Self {
        GroupSecretShare(Zeroizing::new(bytes))
    }
}

/// The group secret. Zeroized on drop; no `Clone`.
pub struct GroupSecret(Zeroizing<[u8; GROUP_SECRET_LEN]>);

impl std::fmt::Debug for GroupSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupSecret").finish_non_exhaustive()
    }
}

/// The encryption randomness of one contribution's ciphertext that every site can
/// rederive: ternary `u` and Gaussian `e1`.
pub struct SharedRandomness {
    /// Coefficients of `u`.
    pub u: Zeroizing<Vec<i64>>,
    /// Coefficients of `e1`.
    pub e1: Zeroizing<Vec<i64>>,
}

/// The group-secret protocol for a parameter set.
#[derive(Debug, Clone)]
pub struct GroupSecretProtocol {
    params: Arc<Params>,
}

impl GroupSecretProtocol {
    /// The protocol for `params`.
    pub fn new(params: Arc<Params>) -> Self {
        GroupSecretProtocol { params }
    }

    /// `gen_share`: 32 fresh random bytes.
    pub fn gen_share(&self, rng: &mut SecretRng) -> GroupSecretShare {
        GroupSecretShare(rng.bytes32())
    }

    /// `aggregate_shares`: SHA-256 of every member's share in roster order, bound to the
    /// session and the roster digest. `shares` must hold one share per member, in
    /// roster order, the caller's own included.
    pub fn aggregate_shares<'a>(
        &self,
        session: &[u8; 16],
        roster: &[u8; 32],
        shares: impl IntoIterator<Item = &'a GroupSecretShare>,
    ) -> GroupSecret {
        let mut h = Sha256::new();
        h.update(b"mhe/group-secret/v1");
        h.update(session);
        h.update(roster);
        for s in shares {
            h.update(s.0.as_ref());
        }
        GroupSecret(Zeroizing::new(h.finalize().into()))
    }

    /// The randomness of ciphertext `ct` of `site`'s contribution to `query`.
    pub fn shared_randomness(
        &self,
        secret: &GroupSecret,
        session: &[u8; 16],
        query: &[u8; 16],
        site: u16,
        ct: usize,
    ) -> SharedRandomness {
        let mut context = Vec::with_capacity(64);
        context.extend_from_slice(b"mhe/encryption-randomness/v1");
        context.extend_from_slice(session);
        context.extend_from_slice(query);
        context.extend_from_slice(&site.to_le_bytes());
        context.extend_from_slice(&(ct as u64).to_le_bytes());
        let mut rng = SecretRng::from_prf(&secret.0, &context);
        let n = self.params.n();
        let u = sampling::ternary(&mut rng, n);
        let e1 = sampling::gaussian(&mut rng, n);
        SharedRandomness { u, e1 }
    }

    /// `pooled_c1`: `p1*Σu_k + Σe1_k` over the sites of `set`, for ciphertext `ct` of
    /// `query`, coefficient form: the `c1` of the sum of their contributions.
    pub fn pooled_c1(
        &self,
        secret: &GroupSecret,
        pk: &PublicKey,
        session: &[u8; 16],
        query: &[u8; 16],
        set: &[u16],
        ct: usize,
    ) -> Poly {
        let n = self.params.n();
        let mut u_sum = Zeroizing::new(vec![0i64; n]);
        let mut e1_sum = Zeroizing::new(vec![0i64; n]);
        for &site in set {
            let r = self.shared_randomness(secret, session, query, site, ct);
            for (acc, x) in u_sum.iter_mut().zip(r.u.iter()) {
                *acc += x;
            }
            for (acc, x) in e1_sum.iter_mut().zip(r.e1.iter()) {
                *acc += x;
            }
        }
        c1_with_shared(&self.params, pk, &u_sum, &e1_sum)
    }
}

impl GroupSecret {
    /// A public commitment to the secret (SHA-256 under its own domain): sites put it
    /// in their key confirmation so the analyst can check they all derived the same
    /// secret, without learning it.
    pub fn commitment(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"mhe/group-secret-commitment/v1");
        h.update(self.0.as_ref());
        h.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::ciphertext::{Ciphertext, decrypt, encrypt_with_shared};
    use crate::encoding::encode;

    #[test]
    fn the_pooled_c1_matches_the_sum_of_the_contributions() {
        let params = Params::toy();
        let mut rng = SecretRng::from_seed_insecure([5; 32]);
        let (sk, pk) = PublicKey::generate_pair(&params, &mut rng).unwrap();
        let proto = GroupSecretProtocol::new(params.clone());
        let shares: Vec<GroupSecretShare> = (0..3).map(|_| proto.gen_share(&mut rng)).collect();
        let g = proto.aggregate_shares(&[1; 16], &[2; 32], &shares);
        let query = [3u8; 16];
        let mut pooled: Option<Ciphertext> = None;
        for site in 0..3u16 {
            let pt = &encode(&params, &[i128::from(site) + 10]).unwrap()[0];
            let r = proto.shared_randomness(&g, &[1; 16], &query, site, 0);
            let c0 = encrypt_with_shared(&params, &pk, pt, &r.u, &mut rng);
            let ct = Ciphertext::from_polys(c0, c1_with_shared(&params, &pk, &r.u, &r.e1));
            match pooled.as_mut() {
                None => pooled = Some(ct),
                Some(p) => p.add_assign(&ct, &params),
            }
        }
        let pooled = pooled.unwrap();
        let c1 = proto.pooled_c1(&g, &pk, &[1; 16], &query, &[0, 1, 2], 0);
        assert_eq!(pooled.polys().1, &c1);
        let got = decrypt(&params, &sk, &pooled);
        assert_eq!(got, encode(&params, &[33]).unwrap()[0]);
        // Another set, query, or secret gives another c1.
        assert_ne!(proto.pooled_c1(&g, &pk, &[1; 16], &query, &[0, 1], 0), c1);
        assert_ne!(
            proto.pooled_c1(&g, &pk, &[1; 16], &[4; 16], &[0, 1, 2], 0),
            c1
        );
        let other = proto.aggregate_shares(&[1; 16], &[2; 32], &shares[..2]);
        assert_ne!(
            proto.pooled_c1(&other, &pk, &[1; 16], &query, &[0, 1, 2], 0),
            c1
        );
        assert_ne!(g.commitment(), other.commitment());
    }
}
