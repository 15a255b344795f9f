//! Query steps of a ready site: contribute (parse, policy, encrypt, audit) and
//! decrypt (parse, policy, key switch, audit).

use sha2::Digest;

use super::dp::{self, DpQuery};
use super::{Joined, QueryRecord, Ready, Site, now, ready_of, refused};
use crate::audit::{self, AuditRecord, Event};
use crate::ciphertext::{Ciphertext, Switched, encrypt_with_shared, modulus_switch};
use crate::encoding::{Layout, encode_layout};
use crate::error::{Error, RefusalKind, Result};
use crate::identity::verify;
use crate::keys::SecretKey;
use crate::messages::{
    Contribution, DecryptRequest, DecryptShare, Id, MAX_LABEL, MAX_VALUES, Statement, args_digest,
    content_digest, cts_digest, hex,
};
use crate::policy::{self, QueryFacts};
use crate::protocols::key_switch::poly_digest;
use crate::protocols::{Combiner, GroupSecretProtocol, KeySwitchProtocol, zero_sum};
use crate::ring::{Form, Poly};

/// Most characters of the call text kept in the audit file.
const MAX_CALL_TEXT: usize = 1000;

/// What a contribution is about: the statistic, the server call that computed it,
/// the variables it read, and the sites it is pooled over.
#[derive(Debug, Clone, Copy)]
pub struct QuerySpec<'a> {
    /// Query kind (1 to 64 bytes), e.g. `"mean"`.
    pub kind: &'a str,
    /// The server call as canonical text; its digest is signed with the
    /// contribution, so a pool only combines contributions of the same call.
    pub call: &'a str,
    /// Every variable the statistic reads (the durable ledger ties each to one set).
    pub variables: &'a [String],
    /// Names of the contributing sites.
    pub sites: &'a [String],
}

/// What the policy admitted for one contribution (see `Site::admit`).
struct Admitted {
    set: Vec<u16>,
    variables: Vec<String>,
    set_ids: Vec<String>,
    audit_file: Option<std::path::PathBuf>,
}

impl Site {
    /// Encrypts `values` (reals, fixed point with 40 fractional bits) for `query`, with
    /// this site's zero-sum mask over the query's sites, signs the result, writes it to
    /// the audit file and returns it.
    ///
    /// The set of sites and the variables are checked against the policy first
    /// ([`policy::check_set`], and [`policy::check_ledger`] against every earlier
    /// release of this site): a contribution is a release.
    ///
    /// # Errors
    /// [`Error::Refused`] before setup, for a reused query id, a set the policy
    /// refuses, a variable released over another set, or an audit file that cannot be
    /// written; [`Error::InvalidArgument`], [`Error::OutOfRange`] for bad input.
    pub fn contribute(
        &mut self,
        query: Id,
        spec: &QuerySpec<'_>,
        values: &[f64],
    ) -> Result<Vec<u8>> {
        self.contribute_with(query, spec, values, &Layout::full(values.len()), None)
    }

    /// As [`Site::contribute`], with each value at its declared width
    /// ([`crate::encoding::Width`]): integers (counts) and bounded values take only the
    /// coefficients their range needs. The layout must be the same at every site of
    /// the query (the pool refuses mixed layouts); it is signed with the contribution.
    ///
    /// # Errors
    /// As [`Site::contribute`]; [`Error::InvalidArgument`] for a layout of another
    /// length than `values`, [`Error::OutOfRange`] for a value that does not fit its
    /// width at this query's number of sites.
    pub fn contribute_with_layout(
        &mut self,
        query: Id,
        spec: &QuerySpec<'_>,
        values: &[f64],
        layout: &Layout,
    ) -> Result<Vec<u8>> {
        self.contribute_with(query, spec, values, layout, None)
    }

    /// As [`Site::contribute`], with differential privacy when `dp` is given: after
    /// the policy checks and before anything is encrypted, the query's cost is
    /// checked against the analyst's budget at this site (refused, kind `Budget`,
    /// if it does not fit); the values are rounded to the grid and one discrete
    /// Gaussian share per value, drawn from the site's OS-seeded generator, is added
    /// to them; the DP facts are signed with the ciphertexts, and the charge is
    /// written to the audit file (with the contribution's line) before the blob is
    /// returned. `values` must already be clipped so that `dp`'s sensitivity holds.
    /// Noisy values are reals on the DP grid, so they travel at the full width.
    ///
    /// # Errors
    /// As [`Site::contribute`]; [`Error::Refused`] of kind `Budget` or
    /// `DpUnsupported`.
    pub fn contribute_dp(
        &mut self,
        query: Id,
        spec: &QuerySpec<'_>,
        values: &[f64],
        dp: Option<&DpQuery>,
    ) -> Result<Vec<u8>> {
        self.contribute_with(query, spec, values, &Layout::full(values.len()), dp)
    }

    /// The one contribution step behind [`Site::contribute`],
    /// [`Site::contribute_with_layout`] and [`Site::contribute_dp`].
    ///
    /// # Errors
    /// As those; [`Error::InvalidArgument`] for a layout that is not the full width
    /// when `dp` is given.
    pub fn contribute_with(
        &mut self,
        query: Id,
        spec: &QuerySpec<'_>,
        values: &[f64],
        layout: &Layout,
        dp: Option<&DpQuery>,
    ) -> Result<Vec<u8>> {
        check_query_input(spec, values)?;
        if dp.is_some() && !layout.is_full() {
            return Err(Error::InvalidArgument(
                "noisy values are reals: with differential privacy the layout is the full width"
                    .into(),
            ));
        }
        // Held until the contribution's line is appended: the ledger read by
        // `admit` and the budget charged by `noise` stay true for this release.
        let _ledger = self.lock_ledger()?;
        let Admitted {
            set,
            variables,
            set_ids,
            audit_file,
        } = self.admit(query, spec)?;
        let layout = &layout.clone().with_parties(set.len())?;
        let fixed = layout.to_fixed(values)?;
        let noised = match dp {
            Some(q) => Some(self.noise(q, &fixed, set.len())?),
            None => None,
        };
        let c0s = match &noised {
            Some(n) => self.encrypt(query, &set, &n.fixed, layout)?,
            None => self.encrypt(query, &set, &fixed, layout)?,
        };
        let facts = noised.as_ref().map(|n| &n.facts);
        let (keys, joined, _) = ready_of(&self.stage)?;
        let st = Statement {
            site: joined.own,
            query,
            roster: joined.roster.digest,
            set: set.clone(),
            kind: spec.kind.to_owned(),
            args: args_digest(spec.call),
            n_values: u32::try_from(values.len())
                .map_err(|_| Error::InvalidArgument("too many values".into()))?,
            layout: layout.clone(),
            cts_digest: content_digest(&cts_digest(&self.params, &c0s), facts),
        };
        let sig = keys
            .signing
            .sign(&st.signed_bytes(&self.params, &self.session));
        let blob = Contribution::encode(
            &self.params,
            &self.session,
            &st,
            &joined.roster.names(),
            facts,
            &c0s,
            &sig,
        );
        let record = QueryRecord {
            kind: st.kind,
            call: spec.call.chars().take(MAX_CALL_TEXT).collect(),
            variables,
            args: st.args,
            set,
            n_values: st.n_values,
            cts_digest: st.cts_digest,
            decrypted: false,
        };
        let mut line = self.record(
            Event::Contribution,
            query,
            &record,
            set_ids,
            Vec::new(),
            hex(&st.cts_digest),
        )?;
        line.dp = noised.map(|n| n.budget_line);
        self.log(audit_file.as_deref(), line)?;
        self.queries.insert(query, record);
        Ok(blob)
    }

    /// The exclusive lock on the site's audit file, if the policy names one.
    fn lock_ledger(&self) -> Result<Option<audit::LedgerLock>> {
        let (_, joined, _) = ready_of(&self.stage)?;
        joined
            .policy
            .audit_file
            .as_deref()
            .map(audit::lock)
            .transpose()
    }

    /// The policy's admission of a contribution to `query`: a fresh query id, a set
    /// of roster members the policy accepts, variables that were never released over
    /// another set (the durable ledger, read again from the audit file).
    fn admit(&mut self, query: Id, spec: &QuerySpec<'_>) -> Result<Admitted> {
        let (_, joined, _) = ready_of(&self.stage)?;
        if self.queries.contains_key(&query) {
            return Err(refused(
                RefusalKind::Replay,
                "this query id was already used; every query needs a fresh id",
            ));
        }
        let indices = spec
            .sites
            .iter()
            .map(|s| {
                joined.roster.index_of(s).ok_or_else(|| {
                    refused(RefusalKind::BadSet, format!("'{s}' is not in the roster"))
                })
            })
            .collect::<Result<Vec<u16>>>()?;
        let set = policy::check_set(&joined.facts(), &indices)?;
        policy::check_set_size(set.len(), self.params.max_parties())?;
        let variables = policy::check_variables(spec.variables)?;
        let set_ids = joined.ids_of(&set);
        let audit_file = joined.policy.audit_file.clone();
        let earlier = self.refresh_releases(audit_file.as_deref())?;
        policy::check_ledger(earlier, &variables, &set_ids)?;
        Ok(Admitted {
            set,
            variables,
            set_ids,
            audit_file,
        })
    }

    /// This site's noise shares for `fixed`, charged to the analyst's budget (the
    /// charge is written with the contribution's audit line).
    fn noise(&mut self, q: &DpQuery, fixed: &[i128], parties: usize) -> Result<dp::Noised> {
        let (_, joined, _) = ready_of(&self.stage)?;
        let threshold = joined.threshold;
        let budget = self.releases.budgets.get(&self.analyst).cloned();
        let analyst = self.analyst.clone();
        dp::noise(
            q,
            fixed,
            parties,
            threshold,
            budget,
            &analyst,
            &mut self.rng,
        )
    }

    /// The `c0`s of this site's contribution: the encoded values plus its zero-sum
    /// mask over `set`, encrypted under the collective key with the `u` shared
    /// through the group secret, modulus-switched and cut to the coefficients that
    /// hold values (what travels).
    fn encrypt(
        &mut self,
        query: Id,
        set: &[u16],
        fixed: &[i128],
        layout: &Layout,
    ) -> Result<Vec<Switched>> {
        let (_, joined, ready) = ready_of(&self.stage)?;
        let mut pts = encode_layout(&self.params, layout, fixed)?;
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
            let ctx = mask_context(&self.session, &query, c, set);
            let m = zero_sum::mask(&self.params, usize::from(joined.own), &peers, &ctx);
            pt.add_assign(&m, &self.params);
        }
        let gsp = GroupSecretProtocol::new(self.params.clone());
        let mut c0s = Vec::with_capacity(pts.len());
        for (c, pt) in pts.iter().enumerate() {
            let shared = gsp.shared_randomness(&ready.group, &self.session, &query, joined.own, c);
            let c0 = encrypt_with_shared(
                &self.params,
                &ready.collective,
                pt,
                &shared.u,
                &mut self.rng,
            );
            let used = layout.used_coeffs(&self.params, c);
            c0s.push(modulus_switch(&self.params, &c0, used));
        }
        Ok(c0s)
    }

    /// An audit record of this site for `query`.
    fn record(
        &self,
        event: Event,
        query: Id,
        rec: &QueryRecord,
        sites: Vec<String>,
        decryptors: Vec<String>,
        digest: String,
    ) -> Result<AuditRecord> {
        Ok(AuditRecord {
            time: now(),
            event,
            site: self.ledger_identity()?,
            name: self.name.clone(),
            session: hex(&self.session),
            query: hex(&query),
            kind: rec.kind.clone(),
            variables: rec.variables.clone(),
            sites,
            decryptors,
            digest,
            call: rec.call.clone(),
            dp: None,
        })
    }

    /// Checks a decryption request against the policy and, if it passes, writes the
    /// share to the audit file and returns this site's decryption share of every
    /// pooled ciphertext of the query.
    ///
    /// # Errors
    /// [`Error::Refused`] naming the rule the request breaks.
    pub fn decrypt(&mut self, request_blob: &[u8]) -> Result<Vec<u8>> {
        let req = DecryptRequest::parse(request_blob)?;
        check_context(&req, self)?;
        let (_, joined, ready) = ready_of(&self.stage)?;
        if req.roster != joined.roster.digest {
            return Err(refused(
                RefusalKind::Mismatch,
                "the request was made for another roster",
            ));
        }
        let rec = self.queries.get(&req.query).ok_or_else(|| {
            refused(
                RefusalKind::Mismatch,
                "this site did not contribute to this query",
            )
        })?;
        let facts = |set, kind, n_values, args| QueryFacts {
            set,
            kind,
            n_values,
            args,
        };
        policy::check_request(
            &facts(&rec.set, &rec.kind, rec.n_values, &rec.args),
            rec.decrypted,
            &facts(&req.set, &req.kind, req.n_values, &req.args),
        )?;
        self.check_attestations(joined, rec, &req)?;
        policy::check_decryptors(&joined.facts(), &req.set, &req.decryptors)?;
        let c1s = self.pooled_c1s(ready, &req);
        if c1s.iter().any(|c1| self.ledger.contains(c1)) {
            return Err(refused(
                RefusalKind::Replay,
                "a share for this ciphertext was already produced (replay)",
            ));
        }
        // Refused whole, before the audit line: the session's share cap, and a set the
        // flooding is not sized for.
        self.ledger.ensure_room(c1s.len())?;
        KeySwitchProtocol::new(self.params.clone(), req.set.len())?;
        let mut digest = sha2::Sha256::default();
        for c1 in &c1s {
            digest.update(poly_digest(c1));
        }
        let line = self.record(
            Event::Decryption,
            req.query,
            rec,
            joined.ids_of(&req.set),
            joined.names_of(&req.decryptors),
            hex(&digest.finalize()),
        )?;
        let audit_file = joined.policy.audit_file.clone();
        self.log(audit_file.as_deref(), line)?;
        if let Some(r) = self.queries.get_mut(&req.query) {
            r.decrypted = true;
        }
        self.key_switch(req, c1s)
    }

    /// Checks the signature of every contributing site's attestation, and that this
    /// site's own is the contribution it made.
    fn check_attestations(
        &self,
        joined: &Joined,
        rec: &QueryRecord,
        req: &DecryptRequest,
    ) -> Result<()> {
        let attested: Vec<u16> = req.attestations.iter().map(|a| a.site).collect();
        policy::check_attestation_order(&req.set, &attested, &joined.roster.names())?;
        for (a, &member) in req.attestations.iter().zip(&req.set) {
            let m = joined
                .roster
                .member(member)
                .ok_or_else(|| refused(RefusalKind::BadSet, "unknown site index"))?;
            let st = Statement {
                site: member,
                query: req.query,
                roster: joined.roster.digest,
                set: req.set.clone(),
                kind: req.kind.clone(),
                args: req.args,
                n_values: req.n_values,
                layout: req.layout.clone(),
                cts_digest: a.cts_digest,
            };
            verify(&m.vk, &st.signed_bytes(&self.params, &self.session), &a.sig).map_err(|_| {
                refused(
                    RefusalKind::BadAttestation,
                    format!(
                        "contribution from '{}' is not signed by the roster key",
                        m.name
                    ),
                )
            })?;
            if member == joined.own && a.cts_digest != rec.cts_digest {
                return Err(refused(
                    RefusalKind::Mismatch,
                    "the request does not carry this site's own contribution",
                ));
            }
        }
        Ok(())
    }

    /// The pooled `c1`s of the request's set, computed here: none comes from the
    /// analyst.
    fn pooled_c1s(&self, ready: &Ready, req: &DecryptRequest) -> Vec<Poly> {
        let gsp = GroupSecretProtocol::new(self.params.clone());
        (0..req.layout.num_plaintexts(&self.params))
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
            .collect()
    }

    /// This site's key-switch shares `s_i*c1 + flooding` (with `s_i` its additive share
    /// for the decrypting set in threshold mode), as a decryption-share blob.
    fn key_switch(&mut self, req: DecryptRequest, c1s: Vec<Poly>) -> Result<Vec<u8>> {
        let (keys, joined, ready) = ready_of(&self.stage)?;
        let additive: Option<SecretKey> = if joined.threshold == 0 {
            None
        } else {
            let points: Vec<u64> = req.decryptors.iter().map(|&d| u64::from(d) + 1).collect();
            let tsk = ready
                .threshold_secret
                .as_ref()
                .ok_or_else(|| refused(RefusalKind::State, "threshold secret missing"))?;
            let comb = Combiner::new(
                self.params.clone(),
                u64::from(joined.own) + 1,
                joined.threshold,
            );
            Some(comb.gen_additive_share(&points, tsk)?)
        };
        let key: &SecretKey = additive.as_ref().unwrap_or(&keys.sk);
        let ks = KeySwitchProtocol::new(self.params.clone(), req.set.len())?;
        let mut shares = Vec::with_capacity(c1s.len());
        for (c, c1) in c1s.into_iter().enumerate() {
            let ct = Ciphertext::from_polys(Poly::zero(&self.params, Form::Coeff), c1);
            let share = ks.gen_share(key, None, &ct, &mut self.ledger, &mut self.rng)?;
            let used = req.layout.used_coeffs(&self.params, c);
            shares.push(modulus_switch(&self.params, &share.0, used));
        }
        let out = DecryptShare {
            header: req.header,
            site: joined.own,
            query: req.query,
            shares,
        };
        Ok(out.encode(&self.params))
    }
}

fn check_context(req: &DecryptRequest, site: &Site) -> Result<()> {
    crate::wire::check_context(&req.header, &site.params, &site.session)
}

fn check_query_input(spec: &QuerySpec<'_>, values: &[f64]) -> Result<()> {
    if spec.kind.is_empty() || spec.kind.len() > MAX_LABEL {
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
    Ok(())
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
