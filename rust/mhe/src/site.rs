//! A site (party) of a federation, and the security policy it enforces.
//!
//! The analyst relays every message and may send anything; a site therefore checks
//! everything it receives and produces a decryption share only for a pooled aggregate
//! it can vouch for:
//!
//! - the roster holds this site, at least `min_parties` distinct sites, and, when the
//!   administrator pinned peers, only pinned ones;
//! - the collective key is the sum of the roster's signed key shares;
//! - each contribution is bound to (session, query, site, set of sites) and signed;
//!   a query id is used once, so masks are never reused;
//! - a decryption request names the set the site contributed to, carries a valid
//!   attestation from every member of it (its own included), and is served once per
//!   query; a `c1` is never decrypted twice (see [`DecryptionLedger`]);
//! - no polynomial to decrypt ever comes from the analyst: every contribution's `c1`
//!   derives from a group secret the sites share and the analyst does not
//!   ([`crate::protocols::group_secret`]), so each site computes the pooled `c1` of the
//!   declared set itself and shares only `s_i*c1 + flooding` for it;
//! - every contribution carries a pairwise zero-sum mask over its set, so the only
//!   combination of contributions that decrypts to anything but noise is the sum over
//!   the whole set.
//!
//! Every share produced is written to the audit log.

use std::collections::HashMap;
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::ciphertext::{Ciphertext, encrypt_with_shared};
use crate::encoding::{encode, num_plaintexts, reals_to_fixed};
use crate::error::{Error, Result};
use crate::identity::{SiteKeys, fingerprint, open, seal, verify};
use crate::keys::{PublicKey, SecretKey};
use crate::messages::{
    Confirmation, Contribution, DecryptRequest, DecryptShare, Digest32, Id, Identity, KeygenBundle,
    KeygenShare, MAX_LABEL, MAX_VALUES, Roster, Statement, args_digest, check_name, cts_digest,
    hex, public_key_digest,
};
use crate::params::Params;
use crate::protocols::key_switch::poly_digest;
use crate::protocols::{
    Combiner, DecryptionLedger, GroupSecret, GroupSecretProtocol, GroupSecretShare,
    KeySwitchProtocol, PublicKeyGenProtocol, PublicKeyGenShare, ShamirPolynomial, ShamirShare,
    Thresholdizer, zero_sum,
};
use crate::ring::{Form, Poly};
use crate::sampling::{Crs, SecretRng, derive_key};
use crate::wire::{Reader, Writer, check_context};

/// Most bytes a site buffers for one upload.
pub const MAX_BUFFER_BYTES: usize = 256 << 20;
/// Most uploads buffered at once.
pub const MAX_BUFFERS: usize = 16;

/// One line of the audit log: a decryption share this site produced.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Seconds since the Unix epoch.
    pub time: f64,
    /// Query id (hex).
    pub query: String,
    /// Query kind.
    pub kind: String,
    /// Variables, as the server function described them.
    pub variables: String,
    /// Contributing sites, comma-separated.
    pub sites: String,
    /// Decrypting sites, comma-separated.
    pub decryptors: String,
    /// SHA-256 of the decrypted `c1`s (hex).
    pub digest: String,
}

struct QueryRecord {
    kind: String,
    variables: String,
    args: Digest32,
    set: Vec<u16>,
    n_values: u32,
    cts_digest: Digest32,
    decrypted: bool,
}

struct Joined {
    roster: Roster,
    own: u16,
    threshold: usize,
    min_parties: usize,
    pairwise: Vec<Option<Zeroizing<[u8; 32]>>>,
    shamir_own: Option<ShamirShare>,
    group_own: GroupSecretShare,
}

struct Ready {
    collective: PublicKey,
    threshold_secret: Option<SecretKey>,
    group: GroupSecret,
}

/// A site's state for one session: its keys, the roster, the collective key, the
/// queries it contributed to, its decryption ledger and its audit log.
pub struct Site {
    params: Arc<Params>,
    name: String,
    session: Id,
    rng: SecretRng,
    keys: Option<SiteKeys>,
    sk: Option<SecretKey>,
    joined: Option<Joined>,
    ready: Option<Ready>,
    queries: HashMap<Id, QueryRecord>,
    ledger: DecryptionLedger,
    audit: Vec<AuditEntry>,
    buffers: HashMap<String, (Vec<u8>, usize)>,
}

impl std::fmt::Debug for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Site")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn refused(msg: impl Into<String>) -> Error {
    Error::Refused(msg.into())
}

const WIPED: &str = "this session's keys were wiped";
const NOT_JOINED: &str = "key generation has not started (call ds.mheSetup())";
const NOT_READY: &str = "key generation is not finished (call ds.mheSetup())";

fn need<'a, T>(slot: &'a Option<T>, what: &str) -> Result<&'a T> {
    slot.as_ref().ok_or_else(|| refused(what))
}

impl Site {
    /// A new site called `name` in `session` under the parameter set `params`, with
    /// fresh keys from the OS generator.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad name, [`Error::UnknownParams`],
    /// [`Error::Randomness`].
    pub fn new(name: &str, session: Id, params: &str) -> Result<Site> {
        Site::build(name, session, params, None)
    }

    /// As [`Site::new`], signing with the long-term key `seed` (see
    /// [`crate::key_file`]) so that peers can pin its fingerprint across sessions.
    ///
    /// # Errors
    /// As [`Site::new`].
    pub fn with_signing_key(
        name: &str,
        session: Id,
        params: &str,
        seed: &[u8; 32],
    ) -> Result<Site> {
        Site::build(name, session, params, Some(seed))
    }

    fn build(name: &str, session: Id, params: &str, seed: Option<&[u8; 32]>) -> Result<Site> {
        check_name(name)?;
        let params = Params::by_name(params)?;
        let mut rng = SecretRng::from_os()?;
        let keys = match seed {
            Some(seed) => SiteKeys::with_signing_seed(seed, &mut rng),
            None => SiteKeys::generate(&mut rng),
        };
        let sk = SecretKey::generate(&params, &mut rng);
        Ok(Site {
            params,
            name: name.to_owned(),
            session,
            rng,
            keys: Some(keys),
            sk: Some(sk),
            joined: None,
            ready: None,
            queries: HashMap::new(),
            ledger: DecryptionLedger::new(),
            audit: Vec::new(),
            buffers: HashMap::new(),
        })
    }

    /// The site's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The parameter set.
    pub fn params(&self) -> &Arc<Params> {
        &self.params
    }

    /// Fingerprint of this site's verification key.
    ///
    /// # Errors
    /// [`Error::Refused`] after [`Site::wipe`].
    pub fn fingerprint(&self) -> Result<String> {
        Ok(fingerprint(&need(&self.keys, WIPED)?.verifying_key()))
    }

    /// The signed identity blob.
    ///
    /// # Errors
    /// [`Error::Refused`] after [`Site::wipe`].
    pub fn identity(&self) -> Result<Vec<u8>> {
        let keys = need(&self.keys, WIPED)?;
        let mut body = Identity::body(
            &self.params,
            &self.session,
            &self.name,
            &keys.verifying_key(),
            &keys.dh_public(),
        );
        let sig = keys.sign(&body);
        body.extend_from_slice(&sig);
        Ok(body)
    }

    /// Checks the roster, derives the pairwise keys, and returns the signed key-generation
    /// share: `-a*s_i + e_i` for the CRS of this roster, plus (threshold mode) a Shamir
    /// share of `s_i` sealed for every other member.
    ///
    /// `threshold` 0 (or the roster size) means all sites must decrypt; otherwise any
    /// `threshold` >= 2 of them can. `pinned`: when not empty, every other member's
    /// fingerprint must be in it.
    ///
    /// # Errors
    /// [`Error::Refused`] naming the rule a roster breaks; wire errors.
    pub fn join(
        &mut self,
        roster_blob: &[u8],
        threshold: usize,
        min_parties: usize,
        pinned: &[String],
    ) -> Result<Vec<u8>> {
        if self.joined.is_some() {
            return Err(refused(
                "this site already joined a roster in this session; start a new session",
            ));
        }
        let roster = Roster::parse(roster_blob)?;
        check_context(&roster.header, &self.params, &self.session)?;
        let keys = need(&self.keys, WIPED)?;
        let own_vk = keys.verifying_key();
        let own = roster
            .index_of(&self.name)
            .filter(|&i| roster.member(i).is_some_and(|m| m.vk == own_vk))
            .ok_or_else(|| {
                refused(format!(
                    "site '{}' with its own key is not in the roster",
                    self.name
                ))
            })?;
        let n = roster.members.len();
        if n < min_parties.max(1) {
            return Err(refused(format!(
                "the roster has {n} sites; mhe.min.parties is {min_parties}"
            )));
        }
        if !pinned.is_empty() {
            for m in roster.members.iter().filter(|m| m.vk != own_vk) {
                let fp = fingerprint(&m.vk);
                if !pinned.iter().any(|p| p.eq_ignore_ascii_case(&fp)) {
                    return Err(refused(format!(
                        "roster member '{}' (key {fp}) is not among the peers pinned in mhe.peers",
                        m.name
                    )));
                }
            }
        }
        let threshold = if threshold == 0 || threshold >= n {
            0
        } else {
            threshold
        };
        if threshold == 1 {
            return Err(refused(
                "a threshold of 1 would let any single site decrypt",
            ));
        }
        let mut pairwise = Vec::with_capacity(n);
        for m in &roster.members {
            if m.vk == own_vk {
                pairwise.push(None);
            } else {
                pairwise.push(Some(keys.pairwise_key(
                    &self.session,
                    &own_vk,
                    &m.vk,
                    &m.dh,
                )?));
            }
        }
        let crs = Crs::from_seed(derive_key(
            b"mhe/crs-seed/v1",
            &self.session,
            &roster.digest,
        ));
        let ckg = PublicKeyGenProtocol::new(self.params.clone());
        let sk = need(&self.sk, WIPED)?;
        let share = ckg.gen_share(sk, &ckg.sample_crp(&crs), &mut self.rng);
        // Every other member gets, sealed over the pairwise channel, this site's share
        // of the group secret and (threshold mode) its Shamir share of `s_i`.
        let group_own = GroupSecretProtocol::new(self.params.clone()).gen_share(&mut self.rng);
        let th = Thresholdizer::new(self.params.clone());
        let shamir_poly: Option<ShamirPolynomial> = if threshold > 0 {
            Some(th.gen_polynomial(sk, threshold, &mut self.rng)?)
        } else {
            None
        };
        let mut sealed = Vec::new();
        let mut shamir_own = None;
        for (j, key) in pairwise.iter().enumerate() {
            let j16 = u16::try_from(j).map_err(|_| refused("roster too large"))?;
            let shamir = match &shamir_poly {
                Some(poly) => Some(th.gen_share(poly, u64::from(j16) + 1)?),
                None => None,
            };
            let Some(k) = key else {
                shamir_own = shamir;
                continue;
            };
            let mut w = Writer::default();
            w.fixed(group_own.as_bytes());
            if let Some(sh) = &shamir {
                w.poly(&sh.0, &self.params);
            }
            let plain = Zeroizing::new(w.as_bytes().to_vec());
            let aad = seal_aad(&self.session, own, j16, &roster.digest);
            sealed.push((j16, seal(k, &aad, &plain, &mut self.rng)?));
        }
        let t16 = u16::try_from(threshold).map_err(|_| refused("threshold too large"))?;
        let body = KeygenShare::body(
            &self.params,
            &self.session,
            own,
            &self.name,
            &roster.digest,
            t16,
            &share.0,
        );
        let sig = keys.sign(&body);
        let blob = KeygenShare::finish(body, &sig, &sealed);
        self.joined = Some(Joined {
            roster,
            own,
            threshold,
            min_parties,
            pairwise,
            shamir_own,
            group_own,
        });
        Ok(blob)
    }

    /// Verifies every roster member's signed key share, sums them into the collective
    /// public key, opens the Shamir shares sealed for this site (threshold mode), and
    /// returns a signed confirmation of the collective key.
    ///
    /// # Errors
    /// [`Error::Refused`] for a missing, extra, unsigned or inconsistent share.
    pub fn finalize(&mut self, bundle_blob: &[u8]) -> Result<Vec<u8>> {
        if self.ready.is_some() {
            return Err(refused(
                "key generation is already finished in this session",
            ));
        }
        let bundle = KeygenBundle::parse(bundle_blob)?;
        check_context(&bundle.header, &self.params, &self.session)?;
        let joined = need(&self.joined, NOT_JOINED)?;
        if bundle.recipient != joined.own {
            return Err(refused(
                "this key-generation bundle is addressed to another site",
            ));
        }
        let n = joined.roster.members.len();
        if bundle.entries.len() != n {
            return Err(refused(format!(
                "{} key shares for a roster of {n} sites",
                bundle.entries.len()
            )));
        }
        let ckg = PublicKeyGenProtocol::new(self.params.clone());
        let th = Thresholdizer::new(self.params.clone());
        let mut pk_shares: Vec<PublicKeyGenShare> = Vec::with_capacity(n);
        let mut shamir: Vec<ShamirShare> = Vec::new();
        // Peers' shares of the group secret in roster order; `None` stands for this
        // site's own, which stays where it is rather than being copied.
        let mut group_shares: Vec<Option<GroupSecretShare>> = Vec::with_capacity(n);
        for (i, (share, sealed)) in bundle.entries.iter().enumerate() {
            let member = joined
                .roster
                .members
                .get(i)
                .ok_or_else(|| refused("roster index"))?;
            check_context(&share.header, &self.params, &self.session)?;
            let who = &member.name;
            if usize::from(share.site) != i || share.name != *who {
                return Err(refused(format!("key share {} is not from '{who}'", i + 1)));
            }
            verify(&member.vk, &share.signed, &share.sig).map_err(|_| {
                refused(format!(
                    "key share from '{who}' is not signed by the roster key"
                ))
            })?;
            if share.roster != joined.roster.digest {
                return Err(refused(format!(
                    "key share from '{who}' was made for another roster"
                )));
            }
            if usize::from(share.threshold) != joined.threshold {
                return Err(refused(format!(
                    "'{who}' uses threshold {}, this site {}",
                    share.threshold, joined.threshold
                )));
            }
            pk_shares.push(PublicKeyGenShare::from_poly(
                share.pk_share.clone(),
                &self.params,
            ));
            if share.site == joined.own {
                group_shares.push(None);
                continue;
            }
            let key = joined
                .pairwise
                .get(i)
                .and_then(Option::as_ref)
                .ok_or_else(|| refused("missing pairwise key"))?;
            let aad = seal_aad(&self.session, share.site, joined.own, &joined.roster.digest);
            let plain = open(key, &aad, sealed).map_err(|_| {
                refused(format!(
                    "the sealed key material from '{who}' does not open"
                ))
            })?;
            let mut r = Reader::bare(&plain);
            group_shares.push(Some(GroupSecretShare::from_bytes(
                r.array::<32>("group share")?,
            )));
            if joined.threshold > 0 {
                shamir.push(ShamirShare(r.poly(&self.params, Form::Ntt)?));
            }
            r.finish()?;
        }
        let crs = Crs::from_seed(derive_key(
            b"mhe/crs-seed/v1",
            &self.session,
            &joined.roster.digest,
        ));
        let collective = ckg.gen_public_key(
            &ckg.aggregate_shares(pk_shares.iter()),
            &ckg.sample_crp(&crs),
        );
        let threshold_secret = if joined.threshold > 0 {
            let own = self
                .joined
                .as_mut()
                .and_then(|j| j.shamir_own.take())
                .ok_or_else(|| refused("own Shamir share missing"))?;
            shamir.push(own);
            Some(th.aggregate_shares(shamir.iter()).into_secret(&self.params))
        } else {
            None
        };
        let key_digest = public_key_digest(&self.params, &collective);
        let joined = need(&self.joined, NOT_JOINED)?;
        let group = GroupSecretProtocol::new(self.params.clone()).aggregate_shares(
            &self.session,
            &joined.roster.digest,
            group_shares
                .iter()
                .map(|s| s.as_ref().unwrap_or(&joined.group_own)),
        );
        let body = Confirmation::body(
            &self.params,
            &self.session,
            joined.own,
            &joined.roster.digest,
            &key_digest,
            &group.commitment(),
        );
        let sig = need(&self.keys, WIPED)?.sign(&body);
        let mut blob = body;
        blob.extend_from_slice(&sig);
        self.ready = Some(Ready {
            collective,
            threshold_secret,
            group,
        });
        Ok(blob)
    }

    /// Encrypts `values` (reals, fixed point with 40 fractional bits) for `query`, with
    /// this site's zero-sum mask over the participating `sites`, and signs the result.
    ///
    /// `variables` describes completely what the site computed (the server call's
    /// arguments); the signed statement carries its digest, so a pool can only combine
    /// contributions computed from the same arguments, and a site decrypts only a
    /// request that names its own. Its first 1000 characters go to the audit log.
    ///
    /// # Errors
    /// [`Error::Refused`] before setup, for a reused query id, a set without this site,
    /// with unknown sites or below `min_parties`; [`Error::OutOfRange`] for a value that
    /// cannot be encoded.
    pub fn contribute(
        &mut self,
        query: Id,
        kind: &str,
        variables: &str,
        sites: &[String],
        values: &[f64],
    ) -> Result<Vec<u8>> {
        need(&self.ready, NOT_READY)?;
        let joined = need(&self.joined, NOT_JOINED)?;
        if kind.is_empty() || kind.len() > MAX_LABEL {
            return Err(Error::InvalidArgument(
                "query kind must be 1 to 64 bytes".into(),
            ));
        }
        if values.is_empty() || values.len() > MAX_VALUES {
            return Err(Error::InvalidArgument(format!(
                "1 to {MAX_VALUES} values per query, not {}",
                values.len()
            )));
        }
        if self.queries.contains_key(&query) {
            return Err(refused(
                "this query id was already used; every query needs a fresh id",
            ));
        }
        let mut set = Vec::with_capacity(sites.len());
        for s in sites {
            let i = joined
                .roster
                .index_of(s)
                .ok_or_else(|| refused(format!("'{s}' is not in the roster")))?;
            set.push(i);
        }
        set.sort_unstable();
        set.dedup();
        if set.len() != sites.len() {
            return Err(refused("a site appears twice in the query's site list"));
        }
        if !set.contains(&joined.own) {
            return Err(refused("this site is not in the query's site list"));
        }
        if set.len() < joined.min_parties {
            return Err(refused(format!(
                "the query names {} sites; mhe.min.parties is {}",
                set.len(),
                joined.min_parties
            )));
        }
        if joined.threshold == 0 && set.len() != joined.roster.members.len() {
            return Err(refused(
                "without a threshold every roster site must take part in a query",
            ));
        }
        let fixed = reals_to_fixed(values)?;
        let mut pts = encode(&self.params, &fixed)?;
        let peers: Vec<(usize, &[u8; 32])> = set
            .iter()
            .filter_map(|&j| {
                joined
                    .pairwise
                    .get(usize::from(j))
                    .and_then(Option::as_ref)
                    .map(|k| (usize::from(j), &**k))
            })
            .collect();
        for (c, pt) in pts.iter_mut().enumerate() {
            let ctx = mask_context(&self.session, &query, c, &set);
            let m = zero_sum::mask(&self.params, usize::from(joined.own), &peers, &ctx);
            pt.add_assign(&m, &self.params);
        }
        let ready = need(&self.ready, NOT_READY)?;
        let gsp = GroupSecretProtocol::new(self.params.clone());
        let mut c0s = Vec::with_capacity(pts.len());
        for (c, pt) in pts.iter().enumerate() {
            let shared = gsp.shared_randomness(&ready.group, &self.session, &query, joined.own, c);
            c0s.push(encrypt_with_shared(
                &self.params,
                &ready.collective,
                pt,
                &shared.u,
                &mut self.rng,
            ));
        }
        let n_values = u32::try_from(values.len()).map_err(|_| refused("too many values"))?;
        let st = Statement {
            site: joined.own,
            query,
            roster: joined.roster.digest,
            set: set.clone(),
            kind: kind.to_owned(),
            args: args_digest(variables),
            n_values,
            cts_digest: cts_digest(&self.params, &c0s),
        };
        let sig = need(&self.keys, WIPED)?.sign(&st.signed_bytes(&self.params, &self.session));
        let blob = Contribution::encode(
            &self.params,
            &self.session,
            &st,
            &joined.roster.names(),
            &c0s,
            &sig,
        );
        self.queries.insert(
            query,
            QueryRecord {
                kind: kind.to_owned(),
                variables: variables.chars().take(1000).collect(),
                args: st.args,
                set,
                n_values,
                cts_digest: st.cts_digest,
                decrypted: false,
            },
        );
        Ok(blob)
    }

    /// Checks a decryption request against the policy and, if it passes, returns this
    /// site's decryption share of every pooled ciphertext and logs it.
    ///
    /// # Errors
    /// [`Error::Refused`] naming the rule the request breaks.
    pub fn decrypt(&mut self, request_blob: &[u8]) -> Result<Vec<u8>> {
        let req = DecryptRequest::parse(request_blob)?;
        check_context(&req.header, &self.params, &self.session)?;
        let ready = need(&self.ready, NOT_READY)?;
        let joined = need(&self.joined, NOT_JOINED)?;
        if req.roster != joined.roster.digest {
            return Err(refused("the request was made for another roster"));
        }
        let rec = self
            .queries
            .get(&req.query)
            .ok_or_else(|| refused("this site did not contribute to this query"))?;
        if rec.decrypted {
            return Err(refused("this query was already decrypted (replay)"));
        }
        if req.set != rec.set {
            return Err(refused(
                "the request's site set differs from the one this site contributed to",
            ));
        }
        if req.kind != rec.kind || req.n_values != rec.n_values {
            return Err(refused(
                "the request does not match the query this site contributed to",
            ));
        }
        if req.args != rec.args {
            return Err(refused(
                "the request names other arguments than this site computed with",
            ));
        }
        if req.set.len() < joined.min_parties {
            return Err(refused(format!(
                "fewer than mhe.min.parties ({}) contributions",
                joined.min_parties
            )));
        }
        // One valid attestation per member of the set, in order.
        if req.attestations.len() != req.set.len() {
            return Err(refused(format!(
                "{} attestations for {} contributing sites",
                req.attestations.len(),
                req.set.len()
            )));
        }
        for (a, &member) in req.attestations.iter().zip(&req.set) {
            let m = joined
                .roster
                .member(member)
                .ok_or_else(|| refused("unknown site index"))?;
            if a.site != member {
                return Err(refused(format!(
                    "the attestation of '{}' is missing",
                    m.name
                )));
            }
            let st = Statement {
                site: member,
                query: req.query,
                roster: joined.roster.digest,
                set: req.set.clone(),
                kind: req.kind.clone(),
                args: req.args,
                n_values: req.n_values,
                cts_digest: a.cts_digest,
            };
            verify(&m.vk, &st.signed_bytes(&self.params, &self.session), &a.sig).map_err(|_| {
                refused(format!(
                    "contribution from '{}' is not signed by the roster key",
                    m.name
                ))
            })?;
            if member == joined.own && a.cts_digest != rec.cts_digest {
                return Err(refused(
                    "the request does not carry this site's own contribution",
                ));
            }
        }
        // Decrypting sites.
        if !req.decryptors.contains(&joined.own) {
            return Err(refused(
                "this site is not among the request's decrypting sites",
            ));
        }
        if req.decryptors.iter().any(|d| !req.set.contains(d)) {
            return Err(refused("a decrypting site did not contribute to the query"));
        }
        let additive = if joined.threshold == 0 {
            if req.decryptors.len() != joined.roster.members.len() {
                return Err(refused(
                    "without a threshold every roster site must decrypt",
                ));
            }
            None
        } else {
            if req.decryptors.len() < joined.threshold {
                return Err(refused(format!(
                    "{} decrypting sites; the threshold is {}",
                    req.decryptors.len(),
                    joined.threshold
                )));
            }
            let points: Vec<u64> = req.decryptors.iter().map(|&d| u64::from(d) + 1).collect();
            let tsk = ready
                .threshold_secret
                .as_ref()
                .ok_or_else(|| refused("threshold secret missing"))?;
            let comb = Combiner::new(
                self.params.clone(),
                u64::from(joined.own) + 1,
                joined.threshold,
            );
            Some(comb.gen_additive_share(&points, tsk)?)
        };
        // The pooled c1s of the declared set, computed here: none comes from the analyst.
        let gsp = GroupSecretProtocol::new(self.params.clone());
        let c1s: Vec<Poly> = (0..num_plaintexts(&self.params, req.n_values as usize))
            .map(|c| {
                gsp.pooled_c1(
                    &ready.group,
                    &ready.collective,
                    &self.session,
                    &req.query,
                    &req.set,
                    c,
                )
            })
            .collect();
        if c1s.iter().any(|c1| self.ledger.contains(c1)) {
            return Err(refused(
                "a share for this ciphertext was already produced (replay)",
            ));
        }
        let key: &SecretKey = match &additive {
            Some(k) => k,
            None => need(&self.sk, WIPED)?,
        };
        self.ledger.ensure_room(c1s.len())?;
        let ks = KeySwitchProtocol::new(self.params.clone(), req.set.len())?;
        let mut shares = Vec::with_capacity(c1s.len());
        let mut digest = sha2::Sha256::default();
        for c1 in c1s {
            use sha2::Digest;
            digest.update(poly_digest(&c1));
            let ct = Ciphertext::from_polys(Poly::zero(&self.params, Form::Coeff), c1);
            shares.push(
                ks.gen_share(key, None, &ct, &mut self.ledger, &mut self.rng)?
                    .0,
            );
        }
        let names = |idx: &[u16]| -> String {
            idx.iter()
                .filter_map(|&i| joined.roster.member(i).map(|m| m.name.clone()))
                .collect::<Vec<_>>()
                .join(",")
        };
        let entry = AuditEntry {
            time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            query: hex(&req.query),
            kind: rec.kind.clone(),
            variables: rec.variables.clone(),
            sites: names(&req.set),
            decryptors: names(&req.decryptors),
            digest: hex(&sha2::Digest::finalize(digest)),
        };
        let out = DecryptShare {
            header: req.header,
            site: joined.own,
            query: req.query,
            shares,
        };
        let blob = out.encode(&self.params);
        self.audit.push(entry);
        if let Some(r) = self.queries.get_mut(&req.query) {
            r.decrypted = true;
        }
        Ok(blob)
    }

    /// The audit log.
    pub fn audit(&self) -> &[AuditEntry] {
        &self.audit
    }

    /// Appends a decoded chunk to the named upload buffer; chunks must come in order
    /// (`index` 1, 2, ...). Returns the bytes buffered.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an out-of-order chunk, too many buffers, or a
    /// buffer beyond [`MAX_BUFFER_BYTES`].
    pub fn buffer_append(&mut self, name: &str, index: usize, chunk: &[u8]) -> Result<usize> {
        if name.is_empty() || name.len() > MAX_LABEL {
            return Err(Error::InvalidArgument(
                "buffer name must be 1 to 64 bytes".into(),
            ));
        }
        if index == 1 {
            if !self.buffers.contains_key(name) && self.buffers.len() >= MAX_BUFFERS {
                return Err(Error::InvalidArgument(format!(
                    "more than {MAX_BUFFERS} uploads pending"
                )));
            }
            self.buffers.insert(name.to_owned(), (Vec::new(), 1));
        }
        let (buf, next) = self.buffers.get_mut(name).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "no upload '{name}' in progress (chunk {index} without chunk 1)"
            ))
        })?;
        if index != *next {
            let expected = *next;
            self.buffers.remove(name);
            return Err(Error::InvalidArgument(format!(
                "upload '{name}': chunk {index} arrived, chunk {expected} expected"
            )));
        }
        if buf.len().saturating_add(chunk.len()) > MAX_BUFFER_BYTES {
            self.buffers.remove(name);
            return Err(Error::InvalidArgument(format!(
                "upload larger than {MAX_BUFFER_BYTES} bytes"
            )));
        }
        buf.extend_from_slice(chunk);
        *next += 1;
        Ok(buf.len())
    }

    /// Removes and returns the named upload.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when there is no such upload.
    pub fn buffer_take(&mut self, name: &str) -> Result<Vec<u8>> {
        self.buffers
            .remove(name)
            .map(|(b, _)| b)
            .ok_or_else(|| Error::InvalidArgument(format!("no upload named '{name}'")))
    }

    /// Zeroizes and drops every secret now; the site can do nothing afterwards.
    pub fn wipe(&mut self) {
        self.rng.wipe();
        self.keys = None;
        self.sk = None;
        self.joined = None;
        self.ready = None;
        self.buffers.clear();
    }
}

fn seal_aad(session: &Id, from: u16, to: u16, roster: &Digest32) -> Vec<u8> {
    let mut v = Vec::with_capacity(16 + 4 + 32 + 16);
    v.extend_from_slice(b"mhe/shamir/v1");
    v.extend_from_slice(session);
    v.extend_from_slice(&from.to_le_bytes());
    v.extend_from_slice(&to.to_le_bytes());
    v.extend_from_slice(roster);
    v
}

fn mask_context(session: &Id, query: &Id, ct_index: usize, set: &[u16]) -> Vec<u8> {
    let mut v = Vec::with_capacity(64 + 2 * set.len());
    v.extend_from_slice(b"mhe/mask/v1");
    v.extend_from_slice(session);
    v.extend_from_slice(query);
    v.extend_from_slice(&(ct_index as u64).to_le_bytes());
    for s in set {
        v.extend_from_slice(&s.to_le_bytes());
    }
    v
}
