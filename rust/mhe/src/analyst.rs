//! The analyst's side: build the roster, relay key generation, pool contributions,
//! and combine decryption shares. The analyst holds no secret; everything here checks
//! its inputs so that a wrong blob fails early with a message naming the site.

use std::sync::Arc;

use crate::ciphertext::{Switched, decrypt_switched};
use crate::encoding::decode_layout;
use crate::error::{Error, RefusalKind, Result};
use crate::identity::fingerprint;
use crate::messages::{
    Attestation, Confirmation, Contribution, DecryptRequest, DecryptShare, DpFacts, Id, Identity,
    KeyEvaluation, KeygenBundle, KeygenShare, Pooled, Roster, hex, key_check_seed,
};
use crate::params::Params;
use crate::protocols::{PublicKeyGenProtocol, PublicKeyGenShare};
use crate::wire::check_context;

/// Builds the roster blob from the sites' identity blobs (in the given order).
///
/// # Errors
/// A malformed identity, a failed self-signature, a repeated name or key, or
/// identities from different sessions or parameter sets.
pub fn roster_build(identities: &[&[u8]]) -> Result<Vec<u8>> {
    let first = identities
        .first()
        .ok_or_else(|| Error::InvalidArgument("no identities".into()))?;
    let id0 = Identity::parse(first)?;
    let params = Params::by_id(id0.header.params_id)?;
    let blob = Roster::encode(&params, &id0.header.session, identities);
    Roster::parse(&blob)?;
    Ok(blob)
}

/// Names and key fingerprints of a roster's members.
///
/// # Errors
/// As [`Roster::parse`].
pub fn roster_info(roster: &[u8]) -> Result<Vec<(String, String)>> {
    Ok(Roster::parse(roster)?
        .members
        .iter()
        .map(|m| (m.name.clone(), fingerprint(&m.vk)))
        .collect())
}

/// The key-generation bundles, one per roster member in roster order: the aggregate
/// `Σ p0_i` of the members' key shares (summed once) and, for each recipient, the key
/// material every member sealed for it. Each site receives one polynomial, whatever
/// the number of sites (only threshold mode adds a sealed Shamir share per peer).
///
/// # Errors
/// A malformed share, a repeated or missing site, a share from another session.
pub fn keygen_bundles(shares: &[&[u8]]) -> Result<Vec<(String, Vec<u8>)>> {
    let (parsed, params, session) = parse_shares(shares)?;
    let ckg = PublicKeyGenProtocol::new(params.clone());
    let pk: Vec<PublicKeyGenShare> = parsed
        .iter()
        .map(|s| PublicKeyGenShare::from_poly(s.pk_share.clone(), &params))
        .collect();
    let key = ckg.aggregate_shares(&pk);
    Ok(parsed
        .iter()
        .map(|to| {
            let sealed: Vec<&[u8]> = parsed
                .iter()
                .map(|from| {
                    from.sealed
                        .iter()
                        .find(|(r, _)| *r == to.site)
                        .map_or(&[][..], |(_, b)| b.as_slice())
                })
                .collect();
            let blob = KeygenBundle::encode(&params, &session, to.site, key.poly(), &sealed);
            (to.name.clone(), blob)
        })
        .collect())
}

/// The shares parsed and sorted by site, checked to come from one session, one each,
/// with that session's parameters and id.
fn parse_shares(shares: &[&[u8]]) -> Result<(Vec<KeygenShare>, Arc<Params>, Id)> {
    let mut parsed = shares
        .iter()
        .map(|b| KeygenShare::parse(b))
        .collect::<Result<Vec<_>>>()?;
    parsed.sort_by_key(|s| s.site);
    let first = parsed
        .first()
        .ok_or_else(|| Error::InvalidArgument("no key shares".into()))?;
    let params = Params::by_id(first.header.params_id)?;
    let session = first.header.session;
    for (i, s) in parsed.iter().enumerate() {
        check_context(&s.header, &params, &session)?;
        if usize::from(s.site) != i {
            return Err(Error::InvalidArgument(format!(
                "key share of site {} missing or repeated",
                i + 1
            )));
        }
    }
    Ok((parsed, params, session))
}

/// Checks each site's key evaluations against the share it published (which the
/// analyst holds) and returns them as the one blob every site then checks: a site
/// that evaluated something else than its share is named here, before the sites see
/// it. Every evaluation must be of the same aggregated key.
///
/// # Errors
/// [`Error::Refused`] naming the site whose evaluation is missing, not of its share,
/// or of another aggregate; malformed blobs.
pub fn keygen_evaluations(shares: &[&[u8]], evaluations: &[&[u8]]) -> Result<Vec<u8>> {
    let (parsed, params, session) = parse_shares(shares)?;
    let mut evals = evaluations
        .iter()
        .map(|b| Ok((KeyEvaluation::parse(b)?, *b)))
        .collect::<Result<Vec<_>>>()?;
    evals.sort_by_key(|(e, _)| e.site);
    if evals.len() != parsed.len() {
        return Err(Error::InvalidArgument(format!(
            "{} key evaluations for {} key shares",
            evals.len(),
            parsed.len()
        )));
    }
    let ckg = PublicKeyGenProtocol::new(params.clone());
    let key = evals
        .first()
        .map(|(e, _)| (e.key, e.roster))
        .ok_or_else(|| Error::InvalidArgument("no key evaluations".into()))?;
    for ((e, _), s) in evals.iter().zip(&parsed) {
        check_context(&e.header, &params, &session)?;
        let bad = |what: &str| {
            Err(Error::refused(
                RefusalKind::Mismatch,
                format!("site '{}' {what}; setup must start again", s.name),
            ))
        };
        if e.site != s.site {
            return bad("sent no key evaluation");
        }
        if (e.key, e.roster) != key {
            return bad("evaluated another collective key than the other sites");
        }
        let points = ckg.check_points(&key_check_seed(&session, &e.roster, &e.key));
        if e.values != ckg.evaluate(&s.pk_share, &points) {
            return bad("sent key evaluations that are not of its key share");
        }
    }
    let blobs: Vec<&[u8]> = evals.iter().map(|(_, b)| *b).collect();
    Ok(KeyEvaluation::encode_all(&params, &session, &blobs))
}

/// Checks that every site confirmed the same collective key, roster and group secret
/// (by its commitment); returns the collective key's fingerprint.
///
/// # Errors
/// [`Error::Refused`] when sites disagree.
pub fn confirmations_check(confirmations: &[&[u8]]) -> Result<String> {
    let parsed = confirmations
        .iter()
        .map(|b| Confirmation::parse(b))
        .collect::<Result<Vec<_>>>()?;
    let first = parsed
        .first()
        .ok_or_else(|| Error::InvalidArgument("no confirmations".into()))?;
    for c in &parsed {
        if c.key != first.key || c.roster != first.roster || c.header != first.header {
            return Err(Error::refused(
                RefusalKind::Mismatch,
                format!(
                    "site {} derived a different collective key; setup must start again",
                    site_number(c.site)
                ),
            ));
        }
        if c.group != first.group {
            return Err(Error::refused(
                RefusalKind::Mismatch,
                format!(
                    "site {} derived a different group secret (a site sealed different key \
                 material to different peers); setup must start again",
                    site_number(c.site)
                ),
            ));
        }
    }
    Ok(hex(first.key.get(..16).unwrap_or(&[])))
}

/// Sums the contributions of one query and builds what the sites need to decrypt.
/// Returns `(pooled, request)`: the pooled `c0`s the analyst keeps, and the request
/// (the query, its site sets and every contribution's attestation; no polynomial) for
/// each decrypting site.
///
/// # Errors
/// Contributions from different sessions or queries, a missing or repeated site, an
/// unknown decryptor.
pub fn pool(contributions: &[&[u8]], decryptors: &[String]) -> Result<(Vec<u8>, Vec<u8>)> {
    pool_with_dp(contributions, decryptors).map(|(pooled, request, _)| (pooled, request))
}

/// The differential-privacy facts of each contribution of a pool: the site's name
/// and its signed [`DpFacts`] (`None` where the site's admin has DP off), in roster
/// order.
pub type PoolDp = Vec<(String, Option<DpFacts>)>;

/// As [`pool`], also returning each site's DP facts ([`PoolDp`]).
///
/// # Errors
/// As [`pool`].
pub fn pool_with_dp(
    contributions: &[&[u8]],
    decryptors: &[String],
) -> Result<(Vec<u8>, Vec<u8>, PoolDp)> {
    let mut parsed = contributions
        .iter()
        .map(|b| Contribution::parse(b))
        .collect::<Result<Vec<_>>>()?;
    parsed.sort_by_key(|c| c.statement.site);
    let first = parsed
        .first()
        .ok_or_else(|| Error::InvalidArgument("no contributions".into()))?;
    let params = Params::by_id(first.header.params_id)?;
    check_same_query(&parsed, first, &params)?;
    check_whole_set(&parsed, first)?;
    let dec = decryptor_indices(&first.names, decryptors)?;
    let st0 = &first.statement;
    let mut pooled: Vec<Switched> = first.c0s.clone();
    for c in parsed.iter().skip(1) {
        for (acc, c0) in pooled.iter_mut().zip(&c.c0s) {
            acc.add_assign(c0, &params);
        }
    }
    let attestations = parsed
        .iter()
        .map(|c| Attestation {
            site: c.statement.site,
            cts_digest: c.statement.cts_digest,
            sig: c.sig,
        })
        .collect();
    let request = DecryptRequest {
        header: first.header,
        query: st0.query,
        roster: st0.roster,
        kind: st0.kind.clone(),
        args: st0.args,
        n_values: st0.n_values,
        layout: st0.layout.clone(),
        set: st0.set.clone(),
        decryptors: dec.clone(),
        attestations,
    };
    let kept = Pooled {
        header: first.header,
        query: st0.query,
        n_values: st0.n_values,
        layout: st0.layout.clone(),
        decryptors: dec,
        c0s: pooled,
    };
    let dp = parsed
        .iter()
        .map(|c| {
            let name = first
                .names
                .get(usize::from(c.statement.site))
                .cloned()
                .unwrap_or_default();
            (name, c.dp.clone())
        })
        .collect();
    Ok((kept.encode(&params), request.encode(&params), dp))
}

/// Every contribution belongs to the first one's query, arguments and shape.
fn check_same_query(parsed: &[Contribution], first: &Contribution, params: &Params) -> Result<()> {
    let st0 = &first.statement;
    for c in parsed {
        let st = &c.statement;
        check_context(&c.header, params, &first.header.session)?;
        if st.query != st0.query || st.set != st0.set || st.roster != st0.roster {
            return Err(Error::InvalidArgument(format!(
                "contribution from '{}' belongs to another query",
                name_of(&first.names, st.site)
            )));
        }
        if st.args != st0.args {
            return Err(Error::InvalidArgument(format!(
                "contribution from '{}' was computed from other arguments than '{}''s",
                name_of(&first.names, st.site),
                name_of(&first.names, st0.site)
            )));
        }
        if c.dp.is_some() != first.dp.is_some() {
            let (on, off) = if c.dp.is_some() {
                (c, first)
            } else {
                (first, c)
            };
            return Err(Error::InvalidArgument(format!(
                "differential privacy is on at '{}' and off at '{}': each noise share is \
                 calibrated for every site adding one, so the sites' admins must turn it \
                 on (or off) together",
                name_of(&first.names, on.statement.site),
                name_of(&first.names, off.statement.site)
            )));
        }
        if st.layout != st0.layout || st.layout.parties() != st.set.len() {
            return Err(Error::InvalidArgument(format!(
                "contribution from '{}' lays its values out at other widths than '{}''s",
                name_of(&first.names, st.site),
                name_of(&first.names, st0.site)
            )));
        }
        if st.kind != st0.kind || st.n_values != st0.n_values || c.c0s.len() != first.c0s.len() {
            return Err(Error::InvalidArgument(format!(
                "contribution from '{}' has another shape",
                name_of(&first.names, st.site)
            )));
        }
    }
    Ok(())
}

/// The contributions (sorted by site) are exactly the declared set, once each.
fn check_whole_set(parsed: &[Contribution], first: &Contribution) -> Result<()> {
    let st0 = &first.statement;
    let sites: Vec<u16> = parsed.iter().map(|c| c.statement.site).collect();
    if sites == st0.set {
        return Ok(());
    }
    let missing: Vec<String> = st0
        .set
        .iter()
        .filter(|s| !sites.contains(s))
        .map(|&s| name_of(&first.names, s))
        .collect();
    Err(Error::InvalidArgument(format!(
        "contributions missing or repeated; missing: {}",
        if missing.is_empty() {
            "none".to_owned()
        } else {
            missing.join(", ")
        }
    )))
}

/// Roster indices of the decrypting sites, sorted, without repeats.
fn decryptor_indices(names: &[String], decryptors: &[String]) -> Result<Vec<u16>> {
    let mut dec: Vec<u16> = Vec::with_capacity(decryptors.len());
    for d in decryptors {
        let i = names
            .iter()
            .position(|n| n == d)
            .and_then(|i| u16::try_from(i).ok())
            .ok_or_else(|| Error::InvalidArgument(format!("'{d}' is not in the roster")))?;
        dec.push(i);
    }
    dec.sort_unstable();
    dec.dedup();
    Ok(dec)
}

/// The 1-based number of a roster index, for messages (widened: an index read from an
/// untrusted blob may be `u16::MAX`).
fn site_number(idx: u16) -> u32 {
    u32::from(idx) + 1
}

fn name_of(names: &[String], idx: u16) -> String {
    names
        .get(usize::from(idx))
        .cloned()
        .unwrap_or_else(|| format!("site {}", site_number(idx)))
}

/// Combines the decryption shares of every decrypting site with the pooled `c0`s and
/// decodes the pooled values, each at its declared width (reals with 40 fractional
/// bits, integers as they are).
///
/// # Errors
/// A share from another query or session, a missing or extra share, a share that
/// carries other coefficients than the layout's.
pub fn combine(pooled: &[u8], shares: &[&[u8]]) -> Result<Vec<f64>> {
    let (layout, fixed) = combine_layout(pooled, shares)?;
    Ok(layout.to_reals(&fixed))
}

/// As [`combine`], returning the exact pooled integers, each in units of
/// `2^-frac` of its width (`2^-40` for reals).
///
/// # Errors
/// As [`combine`].
pub fn combine_fixed(pooled: &[u8], shares: &[&[u8]]) -> Result<Vec<i128>> {
    Ok(combine_layout(pooled, shares)?.1)
}

fn combine_layout(pooled: &[u8], shares: &[&[u8]]) -> Result<(crate::encoding::Layout, Vec<i128>)> {
    let p = Pooled::parse(pooled)?;
    let params = Params::by_id(p.header.params_id)?;
    let mut parsed = shares
        .iter()
        .map(|b| DecryptShare::parse(b))
        .collect::<Result<Vec<_>>>()?;
    parsed.sort_by_key(|s| s.site);
    for s in &parsed {
        check_context(&s.header, &params, &p.header.session)?;
        if s.query != p.query || s.shares.len() != p.c0s.len() {
            return Err(Error::InvalidArgument(format!(
                "decryption share of site {} is for another query",
                site_number(s.site)
            )));
        }
        let trimmed = s
            .shares
            .iter()
            .enumerate()
            .all(|(c, sh)| sh.len() == p.layout.used_coeffs(&params, c));
        if !trimmed {
            return Err(Error::InvalidArgument(format!(
                "decryption share of site {} carries other coefficients than the values' layout",
                site_number(s.site)
            )));
        }
    }
    let sites: Vec<u16> = parsed.iter().map(|s| s.site).collect();
    if sites != p.decryptors {
        return Err(Error::InvalidArgument(format!(
            "{} decryption shares for {} decrypting sites",
            sites.len(),
            p.decryptors.len()
        )));
    }
    // Decryption as a switch to the zero key, on the switched polynomials:
    // round((c0 + Σ h_i) / 2^(k - log2 t)) mod t (see `Switched`).
    let pts: Vec<_> = p
        .c0s
        .iter()
        .enumerate()
        .map(|(i, c0)| {
            let mut sum = c0.clone();
            for sh in parsed.iter().filter_map(|s| s.shares.get(i)) {
                sum.add_assign(sh, &params);
            }
            decrypt_switched(&params, &sum)
        })
        .collect();
    let values = decode_layout(&params, &pts, &p.layout)?;
    Ok((p.layout, values))
}

/// What a blob is: `(kind, params id, session)`.
///
/// # Errors
/// A blob without a valid header.
pub fn blob_info(blob: &[u8]) -> Result<(&'static str, u16, [u8; 16])> {
    let (_, h) = crate::wire::Reader::any(blob)?;
    Ok((h.kind.name(), h.params_id, h.session))
}
