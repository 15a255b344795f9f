//! Setup steps of a site: join a roster (`Created -> Joined`), receive the
//! aggregated key and publish evaluations of its own share (`Joined -> Checking`),
//! then check every member's evaluations against the aggregate (`Checking -> Ready`).

use zeroize::Zeroizing;

use super::{Joined, Keys, Ready, Site, Stage, refused, stage_of, state_error};
use crate::error::{RefusalKind, Result};
use crate::identity::{SiteKeys, fingerprint, open, seal, verify};
use crate::keys::PublicKey;
use crate::messages::{
    Confirmation, Digest32, Id, KeyEvaluation, KeygenBundle, KeygenShare, Roster,
    key_check_seed, public_key_digest,
};
use crate::params::Params;
use crate::policy::{self, Member, SitePolicy};
use crate::protocols::{
    GroupSecretProtocol, GroupSecretShare, PublicKeyGenProtocol, ShamirPolynomial, ShamirShare,
    Thresholdizer,
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
        let members = members_of(&roster);
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
            pk_share: share,
            pairwise,
            shamir_own,
            group_own,
        };
        if let Stage::Created(keys) = std::mem::replace(&mut self.stage, Stage::Wiped) {
            self.stage = Stage::Joined(keys, Box::new(joined));
        }
        Ok(blob)
    }

    /// Receives the aggregated key `Σ p0_i` that the analyst summed from the roster's
    /// signed shares, opens the key material each member sealed for this site
    /// (group-secret shares and, in threshold mode, Shamir shares), and returns its
    /// signed evaluations of its own share at the points derived from the digest of
    /// the aggregate it received (the aggregate is accepted only by [`Site::confirm`]).
    ///
    /// # Errors
    /// [`crate::Error::Refused`] for a bundle addressed to another site, of the wrong
    /// size, or with key material that does not open, naming the member.
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
        if bundle.sealed.len() != n {
            return Err(refused(
                RefusalKind::Mismatch,
                format!(
                    "key material from {} sites for a roster of {n} sites",
                    bundle.sealed.len()
                ),
            ));
        }
        let mut opened = Vec::with_capacity(n);
        for (i, sealed) in bundle.sealed.iter().enumerate() {
            opened.push(self.open_entry(joined, i, sealed)?);
        }
        let ready = self.combine(joined, bundle.key, opened)?;
        let blob = self.evaluation(keys, joined, &ready)?;
        if let Stage::Joined(keys, joined) = std::mem::replace(&mut self.stage, Stage::Wiped) {
            self.stage = Stage::Checking(keys, joined, Box::new(ready));
        }
        Ok(blob)
    }

    /// The signed evaluations of this site's share at the check points of the
    /// aggregated key in `ready`.
    fn evaluation(&self, keys: &Keys, joined: &Joined, ready: &Ready) -> Result<Vec<u8>> {
        let ckg = PublicKeyGenProtocol::new(self.params.clone());
        let key_digest = public_key_digest(&self.params, &ready.collective);
        let seed = key_check_seed(&self.session, &joined.roster.digest, &key_digest);
        let values = ckg.evaluate(joined.pk_share.poly(), &ckg.check_points(&seed));
        let t16 = u16::try_from(joined.threshold)
            .map_err(|_| refused(RefusalKind::ThresholdBelowMinimum, "threshold too large"))?;
        let body = KeyEvaluation::body(
            &self.params,
            &self.session,
            joined.own,
            &joined.roster.digest,
            &key_digest,
            t16,
            &values,
        );
        let mut blob = body.clone();
        blob.extend_from_slice(&keys.signing.sign(&body));
        Ok(blob)
    }

    /// Checks every member's signed evaluations (relayed as one blob) against the
    /// aggregated key: each is signed by its member's roster key, made for this
    /// roster, threshold and aggregate, this site's own is its own, and they sum to
    /// the aggregate's evaluation at every check point. Then the key is the sum of the
    /// members' shares (`SECURITY.md`, section 5.3), and the site returns a signed
    /// confirmation of the collective key and of the group secret's commitment.
    ///
    /// # Errors
    /// [`crate::Error::Refused`] naming the member whose evaluation is missing,
    /// unsigned or made for something else, or saying that the aggregate is not the
    /// sum of the shares.
    pub fn confirm(&mut self, evaluations_blob: &[u8]) -> Result<Vec<u8>> {
        let Stage::Checking(keys, joined, ready) = &self.stage else {
            return Err(state_error(
                stage_of(&self.stage),
                super::SetupStage::Checking,
            ));
        };
        let (header, all) = KeyEvaluation::parse_all(evaluations_blob)?;
        check_context(&header, &self.params, &self.session)?;
        let key_digest = public_key_digest(&self.params, &ready.collective);
        self.check_evaluations(joined, &key_digest, &all)?;
        let ckg = PublicKeyGenProtocol::new(self.params.clone());
        let seed = key_check_seed(&self.session, &joined.roster.digest, &key_digest);
        let points = ckg.check_points(&seed);
        let own = all
            .get(usize::from(joined.own))
            .ok_or_else(|| refused(RefusalKind::Mismatch, "own evaluation missing"))?;
        if own.values != ckg.evaluate(joined.pk_share.poly(), &points) {
            return Err(refused(
                RefusalKind::Mismatch,
                "the key evaluation relayed as this site's is not its own",
            ));
        }
        let sum = ckg.sum_evaluations(all.iter().map(|e| e.values.as_slice()));
        if sum != Some(ckg.evaluate(ready.collective.polys().0, &points)) {
            return Err(refused(
                RefusalKind::Mismatch,
                "the collective key relayed by the analyst is not the sum of the roster's \
                 key shares (their signed evaluations do not add up to it)",
            ));
        }
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
        if let Stage::Checking(keys, mut joined, ready) =
            std::mem::replace(&mut self.stage, Stage::Wiped)
        {
            joined.shamir_own = None;
            self.stage = Stage::Ready(keys, joined, ready);
        }
        Ok(blob)
    }

    /// Each member's evaluation: there, signed by its roster key, and made for this
    /// session, roster, threshold and aggregated key.
    fn check_evaluations(
        &self,
        joined: &Joined,
        key_digest: &Digest32,
        all: &[KeyEvaluation],
    ) -> Result<()> {
        let n = joined.roster.members.len();
        if all.len() != n {
            return Err(refused(
                RefusalKind::Mismatch,
                format!("key evaluations from {} sites for a roster of {n}", all.len()),
            ));
        }
        for (i, (e, member)) in all.iter().zip(&joined.roster.members).enumerate() {
            let who = &member.name;
            check_context(&e.header, &self.params, &self.session)?;
            if usize::from(e.site) != i {
                return Err(refused(
                    RefusalKind::Mismatch,
                    format!("the key evaluation of '{who}' is missing or out of place"),
                ));
            }
            verify(&member.vk, &e.signed, &e.sig).map_err(|_| {
                refused(
                    RefusalKind::BadAttestation,
                    format!("the key evaluation of '{who}' is not signed by its roster key"),
                )
            })?;
            if e.roster != joined.roster.digest {
                return Err(refused(
                    RefusalKind::Mismatch,
                    format!("the key evaluation of '{who}' was made for another roster"),
                ));
            }
            if usize::from(e.threshold) != joined.threshold {
                return Err(refused(
                    RefusalKind::Mismatch,
                    format!(
                        "'{who}' uses threshold {}, this site {}",
                        e.threshold, joined.threshold
                    ),
                ));
            }
            if e.key != *key_digest {
                return Err(refused(
                    RefusalKind::Mismatch,
                    format!(
                        "'{who}' received another collective key than this site \
                         (the analyst relayed different keys)"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Opens what member `i` sealed for this site (nothing for the site itself).
    fn open_entry(&self, joined: &Joined, i: usize, sealed: &[u8]) -> Result<Opened> {
        let member = joined
            .roster
            .members
            .get(i)
            .ok_or_else(|| refused(RefusalKind::Mismatch, "roster index"))?;
        let who = &member.name;
        let from = u16::try_from(i).map_err(|_| refused(RefusalKind::Other, "roster too large"))?;
        if from == joined.own {
            return Ok(Opened {
                group: None,
                shamir: None,
            });
        }
        let key = joined
            .pairwise
            .get(i)
            .and_then(Option::as_ref)
            .ok_or_else(|| refused(RefusalKind::Mismatch, "missing pairwise key"))?;
        let aad = seal_aad(&self.session, from, joined.own, &joined.roster.digest);
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
            group: Some(group),
            shamir,
        })
    }

    /// The collective key (the aggregate `key` with the CRP), the threshold secret and
    /// the group secret from the opened entries (in roster order) and this site's own
    /// material.
    fn combine(&self, joined: &Joined, key: crate::ring::Poly, opened: Vec<Opened>) -> Result<Ready> {
        let collective = PublicKey {
            p0: key,
            p1: joined.crp.0.clone(),
        };
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

/// What one bundle entry gave: from a peer, its share of the group secret and its
/// Shamir share for this site.
struct Opened {
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

/// The roster's members as the policy sees them: names and key fingerprints.
fn members_of(roster: &Roster) -> Vec<Member> {
    roster
        .members
        .iter()
        .map(|m| Member {
            name: m.name.clone(),
            fingerprint: fingerprint(&m.vk),
        })
        .collect()
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

