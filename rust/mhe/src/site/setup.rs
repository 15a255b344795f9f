//! Setup steps of a site: join a roster (`Created -> Joined`), then finish key
//! generation (`Joined -> Ready`).

use zeroize::Zeroizing;

use super::{Joined, Ready, Site, Stage, refused, stage_of, state_error};
use crate::error::{RefusalKind, Result};
use crate::identity::{SiteKeys, fingerprint, open, seal, verify};
use crate::messages::{
    Confirmation, Digest32, Id, KeygenBundle, KeygenShare, Roster, public_key_digest,
};
use crate::params::Params;
use crate::policy::{self, Member, SitePolicy};
use crate::protocols::{
    GroupSecretProtocol, GroupSecretShare, PublicKeyGenProtocol, PublicKeyGenShare,
    ShamirPolynomial, ShamirShare, Thresholdizer,
};
use crate::ring::Form;
use crate::sampling::{Crs, SecretRng, derive_key};
use crate::wire::{Reader, check_context, poly_bytes, write_poly};

/// The sealed key material for each peer, and this site's own Shamir share.
type Sealed = (Vec<(u16, Vec<u8>)>, Option<ShamirShare>);

impl Site {
    /// Checks the roster against `policy`, derives the pairwise keys, and returns the
    /// signed key-generation share: `-a*s_i + e_i` for the CRS of this roster, plus a
    /// sealed share of the group secret for every other member and (threshold mode)
    /// a Shamir share of `s_i`.
    ///
    /// `threshold` 0 (or the roster size) means all sites must decrypt; otherwise any
    /// `threshold` of them can, if the policy allows that threshold.
    ///
    /// # Errors
    /// [`crate::Error::Refused`] naming the rule a roster breaks; wire errors.
    pub fn join(
        &mut self,
        roster_blob: &[u8],
        threshold: usize,
        policy: &SitePolicy,
    ) -> Result<Vec<u8>> {
        let Stage::Created(keys) = &self.stage else {
            return Err(state_error(
                stage_of(&self.stage),
                super::SetupStage::Created,
            ));
        };
        let roster = Roster::parse(roster_blob)?;
        check_context(&roster.header, &self.params, &self.session)?;
        let members: Vec<Member> = roster
            .members
            .iter()
            .map(|m| Member {
                name: m.name.clone(),
                fingerprint: fingerprint(&m.vk),
            })
            .collect();
        let own_fp = fingerprint(&keys.signing.verifying_key());
        let own_idx = policy::check_roster(policy, &members, &self.name, &own_fp)?;
        let own =
            u16::try_from(own_idx).map_err(|_| refused(RefusalKind::Other, "roster too large"))?;
        let threshold = policy::check_threshold(policy, threshold, members.len())?;
        let pairwise = pairwise_keys(&keys.signing, &self.session, &roster)?;
        let ckg = PublicKeyGenProtocol::new(self.params.clone());
        let crs = Crs::from_seed(derive_key(
            b"mhe/crs-seed/v1",
            &self.session,
            &roster.digest,
        ));
        let crp = ckg.sample_crp(&crs);
        let share = ckg.gen_share(&keys.sk, &crp, &mut self.rng);
        let group_own = GroupSecretProtocol::new(self.params.clone()).gen_share(&mut self.rng);
        let ctx = SealContext {
            params: &self.params,
            session: &self.session,
            own,
            roster: &roster.digest,
        };
        let (sealed, shamir_own) = seal_for_peers(
            &ctx,
            &keys.sk,
            threshold,
            &pairwise,
            &group_own,
            &mut self.rng,
        )?;
        let t16 = u16::try_from(threshold)
            .map_err(|_| refused(RefusalKind::ThresholdBelowMinimum, "threshold too large"))?;
        let body = KeygenShare::body(
            &self.params,
            &self.session,
            own,
            &self.name,
            &roster.digest,
            t16,
            &share.0,
        );
        let blob = KeygenShare::finish(body.clone(), &keys.signing.sign(&body), &sealed);
        let ids = ledger_ids(&members, own_idx, policy, self.ledger_identity()?);
        let joined = Joined {
            roster,
            own,
            threshold,
            policy: policy.clone(),
            ids,
            crp,
            pairwise,
            shamir_own,
            group_own,
        };
        if let Stage::Created(keys) = std::mem::replace(&mut self.stage, Stage::Wiped) {
            self.stage = Stage::Joined(keys, Box::new(joined));
        }
        Ok(blob)
    }

    /// Verifies every roster member's signed key share, sums them into the collective
    /// public key, opens the key material sealed for this site (group-secret shares
    /// and, in threshold mode, Shamir shares), and returns a signed confirmation of the
    /// collective key and the group secret's commitment.
    ///
    /// # Errors
    /// [`crate::Error::Refused`] for a missing, extra, unsigned or inconsistent share.
    pub fn finalize(&mut self, bundle_blob: &[u8]) -> Result<Vec<u8>> {
        let Stage::Joined(keys, joined) = &self.stage else {
            return Err(state_error(
                stage_of(&self.stage),
                super::SetupStage::Joined,
            ));
        };
        let bundle = KeygenBundle::parse(bundle_blob)?;
        check_context(&bundle.header, &self.params, &self.session)?;
        if bundle.recipient != joined.own {
            return Err(refused(
                RefusalKind::Mismatch,
                "this key-generation bundle is addressed to another site",
            ));
        }
        let n = joined.roster.members.len();
        if bundle.entries.len() != n {
            return Err(refused(
                RefusalKind::Mismatch,
                format!(
                    "{} key shares for a roster of {n} sites",
                    bundle.entries.len()
                ),
            ));
        }
        let mut opened = Vec::with_capacity(n);
        for (i, (share, sealed)) in bundle.entries.iter().enumerate() {
            opened.push(self.open_entry(joined, i, share, sealed)?);
        }
        let ready = self.combine(joined, opened)?;
        let key_digest = public_key_digest(&self.params, &ready.collective);
        let body = Confirmation::body(
            &self.params,
            &self.session,
            joined.own,
            &joined.roster.digest,
            &key_digest,
            &ready.group.commitment(),
        );
        let mut blob = body.clone();
        blob.extend_from_slice(&keys.signing.sign(&body));
        if let Stage::Joined(keys, mut joined) = std::mem::replace(&mut self.stage, Stage::Wiped) {
            joined.shamir_own = None;
            self.stage = Stage::Ready(keys, joined, Box::new(ready));
        }
        Ok(blob)
    }

    /// Checks member `i`'s key share and opens what it sealed for this site.
    fn open_entry(
        &self,
        joined: &Joined,
        i: usize,
        share: &KeygenShare,
        sealed: &[u8],
    ) -> Result<Opened> {
        let member = joined
            .roster
            .members
            .get(i)
            .ok_or_else(|| refused(RefusalKind::Mismatch, "roster index"))?;
        check_context(&share.header, &self.params, &self.session)?;
        let who = &member.name;
        if usize::from(share.site) != i || share.name != *who {
            return Err(refused(
                RefusalKind::Mismatch,
                format!("key share {} is not from '{who}'", i + 1),
            ));
        }
        verify(&member.vk, &share.signed, &share.sig).map_err(|_| {
            refused(
                RefusalKind::BadAttestation,
                format!("key share from '{who}' is not signed by the roster key"),
            )
        })?;
        if share.roster != joined.roster.digest {
            return Err(refused(
                RefusalKind::Mismatch,
                format!("key share from '{who}' was made for another roster"),
            ));
        }
        if usize::from(share.threshold) != joined.threshold {
            return Err(refused(
                RefusalKind::Mismatch,
                format!(
                    "'{who}' uses threshold {}, this site {}",
                    share.threshold, joined.threshold
                ),
            ));
        }
        let pk = PublicKeyGenShare::from_poly(share.pk_share.clone(), &self.params);
        if share.site == joined.own {
            return Ok(Opened {
                pk,
                group: None,
                shamir: None,
            });
        }
        let key = joined
            .pairwise
            .get(i)
            .and_then(Option::as_ref)
            .ok_or_else(|| refused(RefusalKind::Mismatch, "missing pairwise key"))?;
        let aad = seal_aad(&self.session, share.site, joined.own, &joined.roster.digest);
        let plain = open(key, &aad, sealed).map_err(|_| {
            refused(
                RefusalKind::BadAttestation,
                format!("the sealed key material from '{who}' does not open"),
            )
        })?;
        let mut r = Reader::bare(&plain);
        let group = GroupSecretShare::from_bytes(r.array::<32>("group share")?);
        let shamir = if joined.threshold > 0 {
            Some(ShamirShare(r.poly(&self.params, Form::Ntt)?))
        } else {
            None
        };
        r.finish()?;
        Ok(Opened {
            pk,
            group: Some(group),
            shamir,
        })
    }

    /// The collective key, the threshold secret and the group secret from the opened
    /// entries (in roster order) and this site's own material.
    fn combine(&self, joined: &Joined, opened: Vec<Opened>) -> Result<Ready> {
        let ckg = PublicKeyGenProtocol::new(self.params.clone());
        let collective = ckg.gen_public_key(
            &ckg.aggregate_shares(opened.iter().map(|o| &o.pk)),
            &joined.crp,
        );
        let threshold_secret = if joined.threshold > 0 {
            let own = joined
                .shamir_own
                .as_ref()
                .ok_or_else(|| refused(RefusalKind::State, "own Shamir share missing"))?;
            let th = Thresholdizer::new(self.params.clone());
            let all = opened.iter().filter_map(|o| o.shamir.as_ref()).chain([own]);
            Some(th.aggregate_shares(all).into_secret(&self.params))
        } else {
            None
        };
        let group = GroupSecretProtocol::new(self.params.clone()).aggregate_shares(
            &self.session,
            &joined.roster.digest,
            opened
                .iter()
                .map(|o| o.group.as_ref().unwrap_or(&joined.group_own)),
        );
        Ok(Ready {
            collective,
            threshold_secret,
            group,
        })
    }
}

/// What one bundle entry gave: the member's public-key share and, from a peer, its
/// share of the group secret and its Shamir share for this site.
struct Opened {
    pk: PublicKeyGenShare,
    group: Option<GroupSecretShare>,
    shamir: Option<ShamirShare>,
}

/// Ledger identity of each member: its fingerprint when the peers are pinned (their
/// keys are long-term), its name otherwise; this site's own identity in its place.
fn ledger_ids(members: &[Member], own: usize, policy: &SitePolicy, own_id: String) -> Vec<String> {
    let pinned = !policy.pinned.is_empty();
    let mut own_id = Some(own_id);
    members
        .iter()
        .enumerate()
        .map(|(i, m)| match (i == own, pinned) {
            (true, _) => own_id.take().unwrap_or_default(),
            (false, true) => m.fingerprint.to_ascii_lowercase(),
            (false, false) => m.name.clone(),
        })
        .collect()
}

fn pairwise_keys(
    keys: &SiteKeys,
    session: &Id,
    roster: &Roster,
) -> Result<Vec<Option<Zeroizing<[u8; 32]>>>> {
    let own_vk = keys.verifying_key();
    roster
        .members
        .iter()
        .map(|m| {
            if m.vk == own_vk {
                Ok(None)
            } else {
                keys.pairwise_key(session, &own_vk, &m.vk, &m.dh).map(Some)
            }
        })
        .collect()
}

struct SealContext<'a> {
    params: &'a std::sync::Arc<Params>,
    session: &'a Id,
    own: u16,
    roster: &'a Digest32,
}

/// Seals, for every other member, this site's share of the group secret and (with a
/// threshold) its Shamir share of `s_i` at that member's point; returns them with the
/// Shamir share at this site's own point. The plaintext of each sealed message lives
/// in a pre-sized `Zeroizing` buffer, so no copy of it is left behind by a growing
/// vector.
fn seal_for_peers(
    ctx: &SealContext<'_>,
    sk: &crate::keys::SecretKey,
    threshold: usize,
    pairwise: &[Option<Zeroizing<[u8; 32]>>],
    group_own: &GroupSecretShare,
    rng: &mut SecretRng,
) -> Result<Sealed> {
    let th = Thresholdizer::new(ctx.params.clone());
    let shamir_poly: Option<ShamirPolynomial> = if threshold > 0 {
        Some(th.gen_polynomial(sk, threshold, rng)?)
    } else {
        None
    };
    let capacity = 32
        + if threshold > 0 {
            poly_bytes(ctx.params)
        } else {
            0
        };
    let mut sealed = Vec::with_capacity(pairwise.len());
    let mut shamir_own = None;
    for (j, key) in pairwise.iter().enumerate() {
        let j16 = u16::try_from(j).map_err(|_| refused(RefusalKind::Other, "roster too large"))?;
        let shamir = match &shamir_poly {
            Some(poly) => Some(th.gen_share(poly, u64::from(j16) + 1)?),
            None => None,
        };
        let Some(k) = key else {
            shamir_own = shamir;
            continue;
        };
        let mut plain = Zeroizing::new(Vec::with_capacity(capacity));
        plain.extend_from_slice(group_own.as_bytes());
        if let Some(sh) = &shamir {
            write_poly(&mut plain, &sh.0, ctx.params);
        }
        let aad = seal_aad(ctx.session, ctx.own, j16, ctx.roster);
        sealed.push((j16, seal(k, &aad, &plain, rng)?));
    }
    Ok((sealed, shamir_own))
}

pub(super) fn seal_aad(session: &Id, from: u16, to: u16, roster: &Digest32) -> Vec<u8> {
    let mut v = Vec::with_capacity(16 + 4 + 32 + 16);
    v.extend_from_slice(b"mhe/shamir/v1");
    v.extend_from_slice(session);
    v.extend_from_slice(&from.to_le_bytes());
    v.extend_from_slice(&to.to_le_bytes());
    v.extend_from_slice(roster);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Params;

    /// The sealed plaintext buffer never reallocates: its capacity fits the group
    /// share and a packed polynomial exactly, so no unzeroized copy is left behind.
    #[test]
    fn the_seal_buffer_is_sized_for_its_content() {
        let params = Params::by_name("default").unwrap();
        let capacity = 32 + poly_bytes(&params);
        let mut plain = Zeroizing::new(Vec::<u8>::with_capacity(capacity));
        plain.extend_from_slice(&[7u8; 32]);
        let p = crate::ring::Poly::zero(&params, Form::Ntt);
        let before = plain.as_ptr();
        write_poly(&mut plain, &p, &params);
        assert_eq!(plain.len(), capacity);
        assert_eq!(plain.as_ptr(), before);
    }
}
