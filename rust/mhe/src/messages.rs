//! The messages of a federation and their encodings in the [`wire`](crate::wire)
//! format. Each `parse` checks the header's kind and every length; checking the
//! context (parameters, session) and signatures is the receiver's job, in
//! [`site`](crate::site) and [`analyst`](crate::analyst).

use sha2::{Digest, Sha256};

use crate::error::{Error, RefusalKind, Result};
use crate::identity::SIGNATURE_LEN;
use crate::params::{MAX_PARTIES, Params};
use crate::ring::{Form, Poly};
use crate::wire::{Header, Kind, Reader, Writer};

/// Most values one query may carry.
pub const MAX_VALUES: usize = 1 << 24;
/// Longest site name, in bytes.
pub const MAX_NAME: usize = 64;
/// Longest query kind or label, in bytes.
pub const MAX_LABEL: usize = 64;

/// A session or query id.
pub type Id = [u8; 16];
/// A SHA-256 digest.
pub type Digest32 = [u8; 32];

/// Checks a site name: 1 to 64 characters of `[A-Za-z0-9_.-]`.
///
/// # Errors
/// [`Error::InvalidArgument`].
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "site name '{}' must be 1 to 64 characters of A-Z a-z 0-9 _ . -",
            name.chars().take(80).collect::<String>()
        )))
    }
}

fn sha256(parts: &[&[u8]]) -> Digest32 {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().into()
}

fn read_sig(r: &mut Reader<'_>) -> Result<[u8; SIGNATURE_LEN]> {
    r.array::<SIGNATURE_LEN>("signature")
}

fn write_indices(w: &mut Writer, idx: &[u16]) {
    w.count(idx.len());
    for &i in idx {
        w.u16(i);
    }
}

fn read_indices(r: &mut Reader<'_>, field: &'static str) -> Result<Vec<u16>> {
    let n = r.count(field, MAX_PARTIES, 2)?;
    let v = (0..n).map(|_| r.u16()).collect::<Result<Vec<u16>>>()?;
    let strictly_increasing = v.windows(2).all(|w| matches!(w, [a, b] if a < b));
    if !strictly_increasing {
        return Err(Error::Malformed(format!(
            "{field} must be distinct and sorted"
        )));
    }
    Ok(v)
}

/// A site's signed identity: name, verification key, key-agreement key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Header (session, parameters).
    pub header: Header,
    /// Site name.
    pub name: String,
    /// Ed25519 verification key.
    pub vk: [u8; 32],
    /// X25519 public key.
    pub dh: [u8; 32],
    /// The signed bytes.
    pub signed: Vec<u8>,
    /// Self-signature over `signed`.
    pub sig: [u8; SIGNATURE_LEN],
}

impl Identity {
    /// The unsigned body.
    pub fn body(
        params: &Params,
        session: &Id,
        name: &str,
        vk: &[u8; 32],
        dh: &[u8; 32],
    ) -> Vec<u8> {
        let mut w = Writer::new(Kind::Identity, params, session);
        w.str(name).fixed(vk).fixed(dh);
        w.finish()
    }

    /// Parses an identity blob (signature not yet checked).
    ///
    /// # Errors
    /// Wire errors, [`Error::InvalidArgument`] for a bad name.
    pub fn parse(blob: &[u8]) -> Result<Identity> {
        let (mut r, header) = Reader::new(blob, Kind::Identity)?;
        let name = r.str("site name", MAX_NAME)?.to_owned();
        check_name(&name)?;
        let vk = r.array::<32>("verification key")?;
        let dh = r.array::<32>("key-agreement key")?;
        let signed = r.consumed().to_vec();
        let sig = read_sig(&mut r)?;
        r.finish()?;
        Ok(Identity {
            header,
            name,
            vk,
            dh,
            signed,
            sig,
        })
    }
}

/// The roster: identities in roster order (a site's index is its position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roster {
    /// Header.
    pub header: Header,
    /// Members.
    pub members: Vec<Identity>,
    /// SHA-256 of the roster blob.
    pub digest: Digest32,
}

impl Roster {
    /// Encodes a roster from identity blobs.
    pub fn encode(params: &Params, session: &Id, identities: &[&[u8]]) -> Vec<u8> {
        let mut w = Writer::new(Kind::Roster, params, session);
        w.count(identities.len());
        for id in identities {
            w.bytes(id);
        }
        w.finish()
    }

    /// Parses a roster and checks every self-signature, that every identity belongs to
    /// the roster's session and parameters, and that names and keys are distinct.
    ///
    /// # Errors
    /// Wire errors, [`Error::BadSignature`], [`Error::Refused`] for a repeated name or key.
    pub fn parse(blob: &[u8]) -> Result<Roster> {
        let (mut r, header) = Reader::new(blob, Kind::Roster)?;
        let n = r.count("roster", MAX_PARTIES, 4)?;
        if n == 0 {
            return Err(Error::Malformed("empty roster".into()));
        }
        let mut members: Vec<Identity> = Vec::with_capacity(n);
        for _ in 0..n {
            let id = Identity::parse(r.bytes("identity")?)?;
            if id.header.session != header.session || id.header.params_id != header.params_id {
                return Err(Error::refused(
                    RefusalKind::Mismatch,
                    format!("identity of '{}' belongs to another session", id.name),
                ));
            }
            crate::identity::verify(&id.vk, &id.signed, &id.sig).map_err(|_| {
                Error::refused(
                    RefusalKind::BadAttestation,
                    format!("identity of '{}' is not signed by its key", id.name),
                )
            })?;
            if members
                .iter()
                .any(|m| m.name == id.name || m.vk == id.vk || m.dh == id.dh)
            {
                return Err(Error::refused(
                    RefusalKind::DuplicateMember,
                    format!(
                        "site '{}' or its keys appear twice in the roster (one site is one member)",
                        id.name
                    ),
                ));
            }
            members.push(id);
        }
        r.finish()?;
        Ok(Roster {
            header,
            members,
            digest: sha256(&[blob]),
        })
    }

    /// Index of the member called `name`.
    pub fn index_of(&self, name: &str) -> Option<u16> {
        self.members
            .iter()
            .position(|m| m.name == name)
            .and_then(|i| u16::try_from(i).ok())
    }

    /// The member at `idx`.
    pub fn member(&self, idx: u16) -> Option<&Identity> {
        self.members.get(usize::from(idx))
    }

    /// Member names in roster order.
    pub fn names(&self) -> Vec<String> {
        self.members.iter().map(|m| m.name.clone()).collect()
    }
}

/// The signed part of a key-generation share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeygenShare {
    /// Header.
    pub header: Header,
    /// Sender's roster index.
    pub site: u16,
    /// Sender's name.
    pub name: String,
    /// Roster digest.
    pub roster: Digest32,
    /// Threshold (0: all sites).
    pub threshold: u16,
    /// Public-key share, NTT form.
    pub pk_share: Poly,
    /// The bytes the signature covers (the whole signed part).
    pub signed: Vec<u8>,
    /// Signature.
    pub sig: [u8; SIGNATURE_LEN],
    /// Sealed Shamir shares: (recipient index, sealed bytes).
    pub sealed: Vec<(u16, Vec<u8>)>,
}

impl KeygenShare {
    /// Encodes the signed part (without signature).
    pub fn body(
        params: &Params,
        session: &Id,
        site: u16,
        name: &str,
        roster: &Digest32,
        threshold: u16,
        pk_share: &Poly,
    ) -> Vec<u8> {
        let mut w = Writer::new(Kind::KeygenShare, params, session);
        w.u16(site)
            .str(name)
            .fixed(roster)
            .u16(threshold)
            .poly(pk_share, params);
        w.finish()
    }

    /// Appends signature and sealed shares to a body.
    pub fn finish(body: Vec<u8>, sig: &[u8; SIGNATURE_LEN], sealed: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut w = Writer::resume(body);
        w.fixed(sig).count(sealed.len());
        for (to, s) in sealed {
            w.u16(*to).bytes(s);
        }
        w.finish()
    }

    /// Parses a key-generation share.
    ///
    /// # Errors
    /// Wire errors.
    pub fn parse(blob: &[u8]) -> Result<KeygenShare> {
        let (mut r, header) = Reader::new(blob, Kind::KeygenShare)?;
        let params = Params::by_id(header.params_id)?;
        let site = r.u16()?;
        let name = r.str("site name", MAX_NAME)?.to_owned();
        let roster = r.array::<32>("roster digest")?;
        let threshold = r.u16()?;
        let pk_share = r.poly(&params, Form::Ntt)?;
        let signed = r.consumed().to_vec();
        let sig = read_sig(&mut r)?;
        let n = r.count("sealed shares", MAX_PARTIES, 6)?;
        let mut sealed = Vec::with_capacity(n);
        for _ in 0..n {
            let to = r.u16()?;
            sealed.push((to, r.bytes("sealed share")?.to_vec()));
        }
        r.finish()?;
        Ok(KeygenShare {
            header,
            site,
            name,
            roster,
            threshold,
            pk_share,
            signed,
            sig,
            sealed,
        })
    }
}

/// What one site needs to finish key generation: every site's signed share and the
/// Shamir share sealed for this site.
#[derive(Debug, Clone)]
pub struct KeygenBundle {
    /// Header.
    pub header: Header,
    /// Recipient index.
    pub recipient: u16,
    /// Per site: the signed part, its signature, and the sealed share for the
    /// recipient (empty when there is none).
    pub entries: Vec<(KeygenShare, Vec<u8>)>,
}

impl KeygenBundle {
    /// Encodes a bundle.
    pub fn encode(
        params: &Params,
        session: &Id,
        recipient: u16,
        entries: &[(&KeygenShare, &[u8])],
    ) -> Vec<u8> {
        let mut w = Writer::new(Kind::KeygenBundle, params, session);
        w.u16(recipient).count(entries.len());
        for (share, sealed) in entries {
            let only_mine: Vec<(u16, Vec<u8>)> = Vec::new();
            w.bytes(&KeygenShare::finish(
                share.signed.clone(),
                &share.sig,
                &only_mine,
            ));
            w.bytes(sealed);
        }
        w.finish()
    }

    /// Parses a bundle.
    ///
    /// # Errors
    /// Wire errors.
    pub fn parse(blob: &[u8]) -> Result<KeygenBundle> {
        let (mut r, header) = Reader::new(blob, Kind::KeygenBundle)?;
        let recipient = r.u16()?;
        let n = r.count("bundle", MAX_PARTIES, 8)?;
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let share = KeygenShare::parse(r.bytes("key-generation share")?)?;
            let sealed = r.bytes("sealed share")?.to_vec();
            entries.push((share, sealed));
        }
        r.finish()?;
        Ok(KeygenBundle {
            header,
            recipient,
            entries,
        })
    }
}

/// A site's signed confirmation of the collective key.
#[derive(Debug, Clone)]
pub struct Confirmation {
    /// Header.
    pub header: Header,
    /// Site index.
    pub site: u16,
    /// Roster digest.
    pub roster: Digest32,
    /// Digest of the collective public key.
    pub key: Digest32,
    /// Commitment to the group secret (see [`crate::protocols::group_secret`]).
    pub group: Digest32,
    /// Signed bytes.
    pub signed: Vec<u8>,
    /// Signature.
    pub sig: [u8; SIGNATURE_LEN],
}

impl Confirmation {
    /// Encodes the signed body.
    pub fn body(
        params: &Params,
        session: &Id,
        site: u16,
        roster: &Digest32,
        key: &Digest32,
        group: &Digest32,
    ) -> Vec<u8> {
        let mut w = Writer::new(Kind::Confirmation, params, session);
        w.u16(site).fixed(roster).fixed(key).fixed(group);
        w.finish()
    }

    /// Parses a confirmation.
    ///
    /// # Errors
    /// Wire errors.
    pub fn parse(blob: &[u8]) -> Result<Confirmation> {
        let (mut r, header) = Reader::new(blob, Kind::Confirmation)?;
        let site = r.u16()?;
        let roster = r.array::<32>("roster digest")?;
        let key = r.array::<32>("key digest")?;
        let group = r.array::<32>("group commitment")?;
        let signed = r.consumed().to_vec();
        let sig = read_sig(&mut r)?;
        r.finish()?;
        Ok(Confirmation {
            header,
            site,
            roster,
            key,
            group,
            signed,
            sig,
        })
    }
}

/// What a contribution's signature states: who contributed what to which query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Site index.
    pub site: u16,
    /// Query id.
    pub query: Id,
    /// Roster digest.
    pub roster: Digest32,
    /// Participating sites, sorted.
    pub set: Vec<u16>,
    /// Query kind.
    pub kind: String,
    /// Digest of the query's arguments as the site's server function received them
    /// ([`args_digest`]): every contribution to a pool must come from the same call.
    pub args: Digest32,
    /// Number of values.
    pub n_values: u32,
    /// Digest of the contribution's content: the ciphertexts' `c0`s and the DP facts
    /// ([`content_digest`]). Attestations carry it, so the facts are signed with the
    /// ciphertexts and cannot be altered or dropped by the analyst.
    pub cts_digest: Digest32,
}

/// The differential-privacy facts of one site's contribution (wire version 3), set
/// by the site and signed with its ciphertexts: how its noise share was drawn and
/// what this analyst's budget at this site is after the charge.
#[derive(Debug, Clone, PartialEq)]
pub struct DpFacts {
    /// Mechanism code: [`DpFacts::DISCRETE_GAUSSIAN_SHARES`] is the only one.
    pub mechanism: u8,
    /// Fractional bits of the grid the values and the noise were rounded to.
    pub grid_bits: u8,
    /// Honest sites the calibration assumes (`h = K - t + 1`, 1 for K-of-K).
    pub honest: u16,
    /// The query's `epsilon` (achieved, at most the target).
    pub epsilon: f64,
    /// The `delta` of the conversion.
    pub delta: f64,
    /// The zCDP cost charged.
    pub rho: f64,
    /// Standard deviation of this site's share, in the units of the values.
    pub sigma: f64,
    /// Variance of this site's share (exact discrete Gaussian variance), in the
    /// units of the values squared.
    pub variance: f64,
    /// Total budget of the analyst at this site, as `rho`.
    pub budget_total: f64,
    /// What the analyst has spent at this site, this query included, as `rho`.
    pub budget_spent: f64,
    /// The `epsilon` that spending amounts to at `delta`.
    pub epsilon_spent: f64,
    /// Queries charged to the analyst at this site, this one included.
    pub queries: u64,
    /// The analyst's identity at this site: a pinned key's fingerprint or `unpinned`.
    pub analyst: String,
}

impl DpFacts {
    /// Mechanism code of discrete Gaussian shares accounted in zCDP.
    pub const DISCRETE_GAUSSIAN_SHARES: u8 = 1;

    /// The mechanism's name.
    pub fn mechanism_name(&self) -> &'static str {
        match self.mechanism {
            DpFacts::DISCRETE_GAUSSIAN_SHARES => "discrete Gaussian shares (zCDP)",
            _ => "unknown",
        }
    }

    fn write(facts: Option<&DpFacts>, w: &mut Writer) {
        let Some(f) = facts else {
            w.u8(0);
            return;
        };
        w.u8(1).u8(f.mechanism).u8(f.grid_bits).u16(f.honest);
        for x in [
            f.epsilon,
            f.delta,
            f.rho,
            f.sigma,
            f.variance,
            f.budget_total,
            f.budget_spent,
            f.epsilon_spent,
        ] {
            w.fixed(&x.to_le_bytes());
        }
        w.fixed(&f.queries.to_le_bytes()).str(&f.analyst);
    }

    fn read(r: &mut Reader<'_>) -> Result<Option<DpFacts>> {
        match r.u8()? {
            0 => return Ok(None),
            1 => {}
            v => {
                return Err(Error::Malformed(format!(
                    "unknown differential-privacy block version {v}"
                )));
            }
        }
        let mechanism = r.u8()?;
        let grid_bits = r.u8()?;
        let honest = r.u16()?;
        let mut num = |field: &'static str, nonneg: bool| -> Result<f64> {
            let x = f64::from_le_bytes(r.array::<8>(field)?);
            if !x.is_finite() || (nonneg && x < 0.0) {
                return Err(Error::Malformed(format!(
                    "differential-privacy {field} must be a finite non-negative number"
                )));
            }
            Ok(x)
        };
        let epsilon = num("epsilon", true)?;
        let delta = num("delta", true)?;
        let rho = num("rho", true)?;
        let sigma = num("sigma", true)?;
        let variance = num("variance", true)?;
        let budget_total = num("budget total", true)?;
        let budget_spent = num("budget spent", true)?;
        let epsilon_spent = num("epsilon spent", true)?;
        let queries = u64::from_le_bytes(r.array::<8>("queries")?);
        let analyst = r.str("analyst", 128)?.to_owned();
        let ok = mechanism == DpFacts::DISCRETE_GAUSSIAN_SHARES
            && grid_bits <= 40
            && honest >= 1
            && delta < 1.0
            && sigma > 0.0
            && !analyst.is_empty();
        if !ok {
            return Err(Error::Malformed(
                "differential-privacy facts out of range (mechanism, grid, honest sites, \
                 delta, sigma or analyst)"
                    .into(),
            ));
        }
        Ok(Some(DpFacts {
            mechanism,
            grid_bits,
            honest,
            epsilon,
            delta,
            rho,
            sigma,
            variance,
            budget_total,
            budget_spent,
            epsilon_spent,
            queries,
            analyst,
        }))
    }

    /// The facts' bytes as the wire carries them (a `0` byte for none).
    pub fn bytes(facts: Option<&DpFacts>) -> Vec<u8> {
        let mut w = Writer::default();
        DpFacts::write(facts, &mut w);
        w.as_bytes().to_vec()
    }
}

/// Digest of a contribution's content: the `c0`s' digest ([`cts_digest`]) and the DP
/// facts. This is what a contribution's signature covers and what an attestation
/// names.
pub fn content_digest(cts: &Digest32, dp: Option<&DpFacts>) -> Digest32 {
    sha256(&[b"mhe/content/v3", cts, &DpFacts::bytes(dp)])
}

impl Statement {
    /// The bytes that are signed, bound to parameters and session.
    pub fn signed_bytes(&self, params: &Params, session: &Id) -> Vec<u8> {
        let mut w = Writer::new(Kind::Contribution, params, session);
        w.fixed(b"statement");
        self.write_fields(&mut w);
        w.fixed(&self.cts_digest);
        w.finish()
    }

    /// Writes the fields a contribution carries in the clear, in wire order (the
    /// `c0`s' digest is not among them: the reader recomputes it).
    fn write_fields(&self, w: &mut Writer) {
        w.u16(self.site).fixed(&self.query).fixed(&self.roster);
        write_indices(w, &self.set);
        w.str(&self.kind).fixed(&self.args).u32(self.n_values);
    }
}

/// Digest of a query's arguments: the text that describes, completely, what a site's
/// server function computed (see `Site::contribute`).
pub fn args_digest(arguments: &str) -> Digest32 {
    sha256(&[b"mhe/args/v1", arguments.as_bytes()])
}

/// Digest of a contribution's ciphertexts, which travel as their `c0`s only.
pub fn cts_digest(params: &Params, c0s: &[Poly]) -> Digest32 {
    let mut h = Sha256::new();
    h.update(b"mhe/cts/v2");
    for c0 in c0s {
        let mut w = Writer::default();
        w.poly(c0, params);
        h.update(w.as_bytes());
    }
    h.finalize().into()
}

/// A site's signed, encrypted contribution to a query: the `c0` of each ciphertext.
/// Every site rederives the `c1`s from the group secret, so none travels.
#[derive(Debug, Clone)]
pub struct Contribution {
    /// Header.
    pub header: Header,
    /// What is signed.
    pub statement: Statement,
    /// Roster names, so the analyst can name decryptors.
    pub names: Vec<String>,
    /// The DP facts of this site's noise share; `None` when its admin has DP off.
    pub dp: Option<DpFacts>,
    /// The ciphertexts' `c0`s.
    pub c0s: Vec<Poly>,
    /// Signature over the statement.
    pub sig: [u8; SIGNATURE_LEN],
}

impl Contribution {
    /// Encodes a contribution; `st.cts_digest` must be the [`content_digest`] of
    /// `c0s` and `dp`.
    pub fn encode(
        params: &Params,
        session: &Id,
        st: &Statement,
        names: &[String],
        dp: Option<&DpFacts>,
        c0s: &[Poly],
        sig: &[u8; SIGNATURE_LEN],
    ) -> Vec<u8> {
        let mut w = Writer::new(Kind::Contribution, params, session);
        st.write_fields(&mut w);
        DpFacts::write(dp, &mut w);
        w.count(names.len());
        for n in names {
            w.str(n);
        }
        w.count(c0s.len());
        for c0 in c0s {
            w.poly(c0, params);
        }
        w.fixed(sig);
        w.finish()
    }

    /// Parses a contribution (signature not yet checked).
    ///
    /// # Errors
    /// Wire errors.
    pub fn parse(blob: &[u8]) -> Result<Contribution> {
        let (mut r, header) = Reader::new(blob, Kind::Contribution)?;
        let params = Params::by_id(header.params_id)?;
        let site = r.u16()?;
        let query = r.array::<16>("query id")?;
        let roster = r.array::<32>("roster digest")?;
        let set = read_indices(&mut r, "site set")?;
        let kind = r.str("query kind", MAX_LABEL)?.to_owned();
        let args = r.array::<32>("arguments digest")?;
        let n_values = r.u32()?;
        let dp = DpFacts::read(&mut r)?;
        let n_names = r.count("roster names", MAX_PARTIES, 3)?;
        let names = (0..n_names)
            .map(|_| r.str("site name", MAX_NAME).map(str::to_owned))
            .collect::<Result<Vec<_>>>()?;
        let poly_len = crate::wire::poly_bytes(&params);
        let n_cts = r.count("ciphertexts", MAX_VALUES, poly_len)?;
        check_ct_count(&params, n_cts, n_values)?;
        let c0s = (0..n_cts)
            .map(|_| r.poly(&params, Form::Coeff))
            .collect::<Result<Vec<_>>>()?;
        let sig = read_sig(&mut r)?;
        r.finish()?;
        let cts_digest = content_digest(&cts_digest(&params, &c0s), dp.as_ref());
        let statement = Statement {
            site,
            query,
            roster,
            set,
            kind,
            args,
            n_values,
            cts_digest,
        };
        Ok(Contribution {
            header,
            statement,
            names,
            dp,
            c0s,
            sig,
        })
    }
}

/// An attestation: a contribution's signed statement without its ciphertexts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attestation {
    /// Site index.
    pub site: u16,
    /// Digest of that site's ciphertexts.
    pub cts_digest: Digest32,
    /// The site's signature on its statement.
    pub sig: [u8; SIGNATURE_LEN],
}

/// A decryption request: which query, which sites contributed and decrypt, and the
/// attestation of every contribution. It carries no polynomial: each decrypting site
/// computes the pooled `c1`s itself (see [`crate::protocols::group_secret`]).
#[derive(Debug, Clone)]
pub struct DecryptRequest {
    /// Header.
    pub header: Header,
    /// Query id.
    pub query: Id,
    /// Roster digest.
    pub roster: Digest32,
    /// Query kind.
    pub kind: String,
    /// Digest of the query's arguments.
    pub args: Digest32,
    /// Number of values.
    pub n_values: u32,
    /// Participating sites.
    pub set: Vec<u16>,
    /// Decrypting sites.
    pub decryptors: Vec<u16>,
    /// One attestation per participating site.
    pub attestations: Vec<Attestation>,
}

impl DecryptRequest {
    /// Encodes a request.
    pub fn encode(&self, params: &Params) -> Vec<u8> {
        let mut w = Writer::new(Kind::DecryptRequest, params, &self.header.session);
        w.fixed(&self.query)
            .fixed(&self.roster)
            .str(&self.kind)
            .fixed(&self.args)
            .u32(self.n_values);
        write_indices(&mut w, &self.set);
        write_indices(&mut w, &self.decryptors);
        w.count(self.attestations.len());
        for a in &self.attestations {
            w.u16(a.site).fixed(&a.cts_digest).fixed(&a.sig);
        }
        w.finish()
    }

    /// Parses a request.
    ///
    /// # Errors
    /// Wire errors.
    pub fn parse(blob: &[u8]) -> Result<DecryptRequest> {
        let (mut r, header) = Reader::new(blob, Kind::DecryptRequest)?;
        // An unknown parameter set is refused here, as in every other blob.
        Params::by_id(header.params_id)?;
        let query = r.array::<16>("query id")?;
        let roster = r.array::<32>("roster digest")?;
        let kind = r.str("query kind", MAX_LABEL)?.to_owned();
        let args = r.array::<32>("arguments digest")?;
        let n_values = r.u32()?;
        let set = read_indices(&mut r, "site set")?;
        let decryptors = read_indices(&mut r, "decrypting sites")?;
        let n_att = r.count("attestations", MAX_PARTIES, 2 + 32 + SIGNATURE_LEN)?;
        let mut attestations = Vec::with_capacity(n_att);
        for _ in 0..n_att {
            let site = r.u16()?;
            let cts_digest = r.array::<32>("digest")?;
            let sig = read_sig(&mut r)?;
            attestations.push(Attestation {
                site,
                cts_digest,
                sig,
            });
        }
        check_n_values(n_values)?;
        r.finish()?;
        Ok(DecryptRequest {
            header,
            query,
            roster,
            kind,
            args,
            n_values,
            set,
            decryptors,
            attestations,
        })
    }
}

/// The pooled ciphertexts' `c0`s that the analyst keeps, with what `combine` checks.
#[derive(Debug, Clone)]
pub struct Pooled {
    /// Header.
    pub header: Header,
    /// Query id.
    pub query: Id,
    /// Number of values.
    pub n_values: u32,
    /// Decrypting sites.
    pub decryptors: Vec<u16>,
    /// The pooled `c0` of each ciphertext.
    pub c0s: Vec<Poly>,
}

impl Pooled {
    /// Encodes.
    pub fn encode(&self, params: &Params) -> Vec<u8> {
        let mut w = Writer::new(Kind::Pooled, params, &self.header.session);
        w.fixed(&self.query).u32(self.n_values);
        write_indices(&mut w, &self.decryptors);
        w.count(self.c0s.len());
        for c0 in &self.c0s {
            w.poly(c0, params);
        }
        w.finish()
    }

    /// Parses.
    ///
    /// # Errors
    /// Wire errors.
    pub fn parse(blob: &[u8]) -> Result<Pooled> {
        let (mut r, header) = Reader::new(blob, Kind::Pooled)?;
        let params = Params::by_id(header.params_id)?;
        let query = r.array::<16>("query id")?;
        let n_values = r.u32()?;
        let decryptors = read_indices(&mut r, "decrypting sites")?;
        let n = r.count("ciphertexts", MAX_VALUES, crate::wire::poly_bytes(&params))?;
        check_ct_count(&params, n, n_values)?;
        let c0s = (0..n)
            .map(|_| r.poly(&params, Form::Coeff))
            .collect::<Result<Vec<_>>>()?;
        r.finish()?;
        Ok(Pooled {
            header,
            query,
            n_values,
            decryptors,
            c0s,
        })
    }
}

/// A site's decryption share for one query.
#[derive(Debug, Clone)]
pub struct DecryptShare {
    /// Header.
    pub header: Header,
    /// Site index.
    pub site: u16,
    /// Query id.
    pub query: Id,
    /// One share per ciphertext.
    pub shares: Vec<Poly>,
}

impl DecryptShare {
    /// Encodes.
    pub fn encode(&self, params: &Params) -> Vec<u8> {
        let mut w = Writer::new(Kind::DecryptShare, params, &self.header.session);
        w.u16(self.site).fixed(&self.query);
        w.count(self.shares.len());
        for s in &self.shares {
            w.poly(s, params);
        }
        w.finish()
    }

    /// Parses.
    ///
    /// # Errors
    /// Wire errors.
    pub fn parse(blob: &[u8]) -> Result<DecryptShare> {
        let (mut r, header) = Reader::new(blob, Kind::DecryptShare)?;
        let params = Params::by_id(header.params_id)?;
        let site = r.u16()?;
        let query = r.array::<16>("query id")?;
        let n = r.count("shares", MAX_VALUES, crate::wire::poly_bytes(&params))?;
        let shares = (0..n)
            .map(|_| r.poly(&params, Form::Coeff))
            .collect::<Result<Vec<_>>>()?;
        r.finish()?;
        Ok(DecryptShare {
            header,
            site,
            query,
            shares,
        })
    }
}

/// The number of ciphertexts that `n_values` values take: at least one, as
/// [`crate::encoding::num_plaintexts`] says.
fn check_ct_count(params: &Params, n_cts: usize, n_values: u32) -> Result<()> {
    check_n_values(n_values)?;
    if n_cts != crate::encoding::num_plaintexts(params, n_values as usize) {
        return Err(Error::Malformed(
            "ciphertext count does not match the value count".into(),
        ));
    }
    Ok(())
}

fn check_n_values(n_values: u32) -> Result<()> {
    if n_values == 0 || n_values as usize > MAX_VALUES {
        return Err(Error::Malformed(format!(
            "a query has 1 to {MAX_VALUES} values, not {n_values}"
        )));
    }
    Ok(())
}

/// Digest of a public key.
pub fn public_key_digest(params: &Params, pk: &crate::keys::PublicKey) -> Digest32 {
    let mut w = Writer::default();
    let (p0, p1) = pk.polys();
    w.poly(p0, params).poly(p1, params);
    sha256(&[b"mhe/pk/v1", w.as_bytes()])
}

/// Hex of bytes.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
