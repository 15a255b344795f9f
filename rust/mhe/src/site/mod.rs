//! A site (party) of a federation: its setup as a state machine, and the protocol
//! steps it runs under the security policy of [`crate::policy`].
//!
//! The analyst relays every message and may send anything; a site therefore checks
//! everything it receives:
//!
//! - setup goes `Created -> Joined -> Ready`, and `wipe()` leads to `Wiped` from any
//!   stage ([`SetupStage`]); a step out of order is refused;
//! - the roster holds this site, at least `min_parties` distinct sites (one site is one
//!   member: no two share a key), and exactly the pinned peers, or the admin allowed
//!   unpinned rosters ([`crate::policy::check_roster`]);
//! - the threshold is at least the admin's minimum ([`crate::policy::check_threshold`]);
//! - the collective key is the sum of the roster's signed key shares;
//! - each contribution is bound to (session, query, site, set of sites, call text) and
//!   signed; a query id is used once, so masks are never reused; its set follows the
//!   set rules, and each variable it reads stays tied to one set of sites forever
//!   (the durable ledger in the audit file, [`crate::audit`]);
//! - a decryption request names the set the site contributed to, carries a valid
//!   attestation from every member of it, and is served once per query; a `c1` is
//!   never decrypted twice (see [`DecryptionLedger`]);
//! - no polynomial to decrypt ever comes from the analyst: every contribution's `c1`
//!   derives from a group secret the sites share and the analyst does not
//!   ([`crate::protocols::group_secret`]);
//! - every contribution carries a pairwise zero-sum mask over its set.
//!
//! Every contribution and every decryption share is written to the audit file before
//! its blob is returned.

mod dp;
mod query;
mod setup;

pub use dp::{
    DpQuery, UNPINNED_ANALYST, analyst_challenge, analyst_identity, honest_sites,
    sign_analyst_challenge,
};
pub use query::QuerySpec;

use std::collections::HashMap;
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::audit::{self, AuditRecord};
use crate::dp::ZcdpBudget;
use crate::error::{Error, RefusalKind, Result};
use crate::identity::{SiteKeys, fingerprint};
use crate::keys::{PublicKey, SecretKey};
use crate::messages::{Digest32, Id, Identity, MAX_LABEL, Roster, check_name};
use crate::params::Params;
use crate::policy::{Release, SessionFacts, SitePolicy};
use crate::protocols::{
    DecryptionLedger, GroupSecret, GroupSecretShare, PublicKeyGenCrp, ShamirShare,
};
use crate::sampling::SecretRng;

/// Most bytes a site buffers for one upload.
pub const MAX_BUFFER_BYTES: usize = 256 << 20;
/// Most uploads buffered at once.
pub const MAX_BUFFERS: usize = 16;

/// Where a site is in its setup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupStage {
    /// Keys made, roster not joined.
    Created,
    /// Roster joined, key-generation share published.
    Joined,
    /// Collective key derived: the site contributes and decrypts.
    Ready,
    /// Secrets wiped: the site does nothing more.
    Wiped,
}

/// The long-term part of a site's secrets for the session: signing and key-agreement
/// keys, and the secret-key share.
struct Keys {
    signing: SiteKeys,
    sk: SecretKey,
}

/// What joining a roster fixed.
struct Joined {
    roster: Roster,
    own: u16,
    threshold: usize,
    policy: SitePolicy,
    /// The ledger identity of each member, in roster order.
    ids: Vec<String>,
    /// The CRP of the public-key generation, derived once from the roster.
    crp: PublicKeyGenCrp,
    pairwise: Vec<Option<Zeroizing<[u8; 32]>>>,
    shamir_own: Option<ShamirShare>,
    group_own: GroupSecretShare,
}

impl Joined {
    fn facts(&self) -> SessionFacts {
        SessionFacts {
            roster_size: self.roster.members.len(),
            own: self.own,
            threshold: self.threshold,
            min_parties: self.policy.min_parties,
            pinned: !self.policy.pinned.is_empty(),
        }
    }

    /// Ledger identities of the sites at `idx`, sorted.
    fn ids_of(&self, idx: &[u16]) -> Vec<String> {
        let mut v: Vec<String> = idx
            .iter()
            .filter_map(|&i| self.ids.get(usize::from(i)).cloned())
            .collect();
        v.sort_unstable();
        v
    }

    fn names_of(&self, idx: &[u16]) -> Vec<String> {
        idx.iter()
            .filter_map(|&i| self.roster.member(i).map(|m| m.name.clone()))
            .collect()
    }
}

/// What finishing key generation produced.
struct Ready {
    collective: PublicKey,
    threshold_secret: Option<SecretKey>,
    group: GroupSecret,
}

enum Stage {
    Created(Box<Keys>),
    Joined(Box<Keys>, Box<Joined>),
    Ready(Box<Keys>, Box<Joined>, Box<Ready>),
    Wiped,
}

/// The site's earlier releases, read from its audit file up to `offset` (`lines`
/// lines).
#[derive(Default)]
struct ReleaseCache {
    offset: u64,
    lines: usize,
    releases: Vec<Release>,
    /// Each analyst's last budget line of this site (differential privacy).
    budgets: HashMap<String, ZcdpBudget>,
}

impl ReleaseCache {
    fn add_budget(&mut self, record: &AuditRecord) {
        if let Some(b) = record.dp.as_deref().and_then(|l| ZcdpBudget::from_line(l).ok()) {
            self.budgets.insert(b.analyst().to_owned(), b);
        }
    }
}

struct QueryRecord {
    kind: String,
    call: String,
    variables: Vec<String>,
    args: Digest32,
    set: Vec<u16>,
    n_values: u32,
    cts_digest: Digest32,
    decrypted: bool,
}

/// A site's state for one session: its keys, its setup stage, the queries it
/// contributed to, its decryption ledger and this session's audit records.
pub struct Site {
    params: Arc<Params>,
    name: String,
    session: Id,
    long_term: bool,
    /// The analyst's identity for the DP budget (see [`Site::authenticate_analyst`]).
    analyst: String,
    rng: SecretRng,
    stage: Stage,
    queries: HashMap<Id, QueryRecord>,
    ledger: DecryptionLedger,
    audit: Vec<AuditRecord>,
    releases: ReleaseCache,
    buffers: HashMap<String, (Vec<u8>, usize)>,
}

impl std::fmt::Debug for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Site")
            .field("name", &self.name)
            .field("stage", &self.stage())
            .finish_non_exhaustive()
    }
}

fn refused(kind: RefusalKind, msg: impl Into<String>) -> Error {
    Error::refused(kind, msg)
}

fn state_error(stage: SetupStage, wanted: SetupStage) -> Error {
    let msg = match (stage, wanted) {
        (SetupStage::Wiped, _) => "this session's keys were wiped",
        (SetupStage::Created, SetupStage::Ready) => {
            "key generation is not finished (call ds.mheSetup())"
        }
        (SetupStage::Created, _) => "key generation has not started (call ds.mheSetup())",
        (SetupStage::Joined, SetupStage::Created) => {
            "this site already joined a roster in this session; start a new session"
        }
        (SetupStage::Joined, _) => "key generation is not finished (call ds.mheSetup())",
        (SetupStage::Ready, _) => "key generation is already finished in this session",
    };
    refused(RefusalKind::State, msg)
}

fn stage_of(stage: &Stage) -> SetupStage {
    match stage {
        Stage::Created(_) => SetupStage::Created,
        Stage::Joined(..) => SetupStage::Joined,
        Stage::Ready(..) => SetupStage::Ready,
        Stage::Wiped => SetupStage::Wiped,
    }
}

fn keys_of(stage: &Stage) -> Result<&Keys> {
    match stage {
        Stage::Created(k) | Stage::Joined(k, _) | Stage::Ready(k, _, _) => Ok(k),
        Stage::Wiped => Err(state_error(SetupStage::Wiped, SetupStage::Created)),
    }
}

fn ready_of(stage: &Stage) -> Result<(&Keys, &Joined, &Ready)> {
    match stage {
        Stage::Ready(k, j, r) => Ok((k, j, r)),
        other => Err(state_error(stage_of(other), SetupStage::Ready)),
    }
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
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
        let signing = match seed {
            Some(seed) => SiteKeys::with_signing_seed(seed, &mut rng),
            None => SiteKeys::generate(&mut rng),
        };
        let sk = SecretKey::generate(&params, &mut rng);
        Ok(Site {
            params,
            name: name.to_owned(),
            session,
            long_term: seed.is_some(),
            analyst: UNPINNED_ANALYST.to_owned(),
            rng,
            stage: Stage::Created(Box::new(Keys { signing, sk })),
            queries: HashMap::new(),
            ledger: DecryptionLedger::new(),
            audit: Vec::new(),
            releases: ReleaseCache::default(),
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

    /// Where the site is in its setup.
    pub fn stage(&self) -> SetupStage {
        stage_of(&self.stage)
    }

    /// Fingerprint of this site's verification key.
    ///
    /// # Errors
    /// [`Error::Refused`] after [`Site::wipe`].
    pub fn fingerprint(&self) -> Result<String> {
        Ok(fingerprint(&keys_of(&self.stage)?.signing.verifying_key()))
    }

    /// The site's identity in its audit file and ledger: the fingerprint of its
    /// long-term signing key, or its name when its signing key is fresh per session.
    ///
    /// # Errors
    /// [`Error::Refused`] after [`Site::wipe`].
    pub fn ledger_identity(&self) -> Result<String> {
        if self.long_term {
            self.fingerprint()
        } else {
            Ok(self.name.clone())
        }
    }

    /// The challenge an analyst signs with its long-term key to be known to this
    /// site by that key's fingerprint ([`analyst_challenge`] of this session's
    /// identity blob).
    ///
    /// # Errors
    /// [`Error::Refused`] after [`Site::wipe`].
    pub fn analyst_challenge(&self) -> Result<Digest32> {
        Ok(analyst_challenge(&self.identity()?))
    }

    /// Checks the analyst's signature of [`Site::analyst_challenge`] with the
    /// verification key `vk`, and from then on charges this session's queries to the
    /// key's fingerprint if it is in `pinned` (the admin's `mhe.dp.analysts`), to the
    /// shared [`UNPINNED_ANALYST`] budget otherwise. Returns that identity.
    ///
    /// # Errors
    /// [`Error::Refused`] for a signature that does not verify (the identity is then
    /// unchanged) or after [`Site::wipe`].
    pub fn authenticate_analyst(
        &mut self,
        vk: &[u8; 32],
        sig: &[u8; crate::identity::SIGNATURE_LEN],
        pinned: &[String],
    ) -> Result<String> {
        let id = analyst_identity(&self.analyst_challenge()?, vk, sig, pinned)?;
        self.analyst.clone_from(&id);
        Ok(id)
    }

    /// The analyst's identity for the DP budget in this session.
    pub fn analyst(&self) -> &str {
        &self.analyst
    }

    /// The signed identity blob.
    ///
    /// # Errors
    /// [`Error::Refused`] after [`Site::wipe`].
    pub fn identity(&self) -> Result<Vec<u8>> {
        let keys = &keys_of(&self.stage)?.signing;
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

    /// This session's audit records (contributions and decryption shares), oldest
    /// first. The durable copy is the audit file.
    pub fn audit(&self) -> &[AuditRecord] {
        &self.audit
    }

    /// Brings this site's earlier releases up to date: its own records in the audit
    /// file (every session that wrote to it; only the lines appended since the last
    /// read are parsed), or this session's when the policy names no file.
    fn refresh_releases(&mut self, audit_file: Option<&std::path::Path>) -> Result<&[Release]> {
        let own = self.ledger_identity()?;
        let mine = |r: &&AuditRecord| r.site == own;
        match audit_file {
            Some(path) => {
                let c = &mut self.releases;
                let (new, offset) = audit::read_new(path, c.offset, c.lines)?;
                c.offset = offset;
                c.lines += new.len();
                for r in new.iter().filter(mine) {
                    c.releases.extend(r.release());
                    c.add_budget(r);
                }
            }
            None => {
                let c = &mut self.releases;
                c.releases.clear();
                c.budgets.clear();
                for r in self.audit.iter().filter(mine) {
                    c.releases.extend(r.release());
                    c.add_budget(r);
                }
            }
        }
        Ok(&self.releases.releases)
    }

    /// Writes `record` to the audit file (if any) and keeps it for this session.
    fn log(&mut self, audit_file: Option<&std::path::Path>, record: AuditRecord) -> Result<()> {
        if let Some(path) = audit_file {
            audit::append(path, &record)?;
        }
        self.audit.push(record);
        Ok(())
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

    /// The key the site's generator holds now (`None` once wiped): what a reader of the
    /// site's memory would find. For the tests of [`Site::wipe`].
    #[cfg(any(test, feature = "test-utils"))]
    pub fn generator_key(&self) -> Option<[u8; 32]> {
        self.rng.current_key()
    }

    /// Zeroizes and drops every secret now; the site can do nothing afterwards. The
    /// stage (signing and key-agreement keys, secret-key share, pairwise keys, group
    /// secret, threshold share) is dropped, and the generator that made them is
    /// zeroed. The audit records stay (they hold no secret), and so does the audit
    /// file.
    pub fn wipe(&mut self) {
        self.stage = Stage::Wiped;
        self.buffers.clear();
        self.queries.clear();
        // Zero the generator's state now (fast key erasure keeps it from leading back to
        // earlier draws anyway); a wiped generator refuses every further protocol step.
        self.rng.wipe();
    }
}
