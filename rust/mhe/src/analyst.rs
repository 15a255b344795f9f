//! The analyst's side: build the roster, relay key generation, pool contributions,
//! and combine decryption shares. The analyst holds no secret; everything here checks
//! its inputs so that a wrong blob fails early with a message naming the site.

use crate::ciphertext::Ciphertext;
use crate::encoding::{decode, fixed_to_real};
use crate::error::{Error, RefusalKind, Result};
use crate::identity::fingerprint;
use crate::messages::{
    Attestation, Confirmation, Contribution, DecryptRequest, DecryptShare, DpFacts, Identity,
    KeygenBundle, KeygenShare, Pooled, Roster, hex,
};
use crate::params::Params;
use crate::protocols::KeySwitchProtocol;
use crate::protocols::key_switch::KeySwitchShare;
use crate::ring::{Form, Poly};
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

/// The key-generation bundle for `recipient`: every site's signed share and the Shamir
/// share sealed for the recipient.
///
/// # Errors
/// A malformed share, a repeated or missing site.
pub fn keygen_bundle(shares: &[&[u8]], recipient: &str) -> Result<Vec<u8>> {
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
    let to = parsed
        .iter()
        .find(|s| s.name == recipient)
        .map(|s| s.site)
        .ok_or_else(|| Error::InvalidArgument(format!("no key share from '{recipient}'")))?;
    let entries: Vec<(&KeygenShare, &[u8])> = parsed
        .iter()
        .map(|s| {
            let sealed = s
                .sealed
                .iter()
                .find(|(r, _)| *r == to)
                .map_or(&[][..], |(_, b)| b.as_slice());
            (s, sealed)
        })
        .collect();
    Ok(KeygenBundle::encode(&params, &session, to, &entries))
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
    let mut pooled: Vec<Poly> = first.c0s.clone();
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
        set: st0.set.clone(),
        decryptors: dec.clone(),
        attestations,
    };
    let kept = Pooled {
        header: first.header,
        query: st0.query,
        n_values: st0.n_values,
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
/// decodes the pooled values (reals, 40 fractional bits).
///
/// # Errors
/// A share from another query or session, a missing or extra share.
pub fn combine(pooled: &[u8], shares: &[&[u8]]) -> Result<Vec<f64>> {
    Ok(combine_fixed(pooled, shares)?
        .into_iter()
        .map(fixed_to_real)
        .collect())
}

/// As [`combine`], returning the exact fixed-point integers.
///
/// # Errors
/// As [`combine`].
pub fn combine_fixed(pooled: &[u8], shares: &[&[u8]]) -> Result<Vec<i128>> {
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
    }
    let sites: Vec<u16> = parsed.iter().map(|s| s.site).collect();
    if sites != p.decryptors {
        return Err(Error::InvalidArgument(format!(
            "{} decryption shares for {} decrypting sites",
            sites.len(),
            p.decryptors.len()
        )));
    }
    let ks = KeySwitchProtocol::with_default_flooding(params.clone());
    let mut pts = Vec::with_capacity(p.c0s.len());
    for (i, c0) in p.c0s.iter().enumerate() {
        let ct = Ciphertext::from_polys(c0.clone(), Poly::zero(&params, Form::Coeff));
        let agg = ks.aggregate_shares(
            parsed
                .iter()
                .filter_map(|s| {
                    s.shares
                        .get(i)
                        .map(|sh| KeySwitchShare::from_poly(sh.clone(), &params))
                })
                .collect::<Vec<_>>()
                .iter(),
        );
        pts.push(ks.decrypt(&ct, &agg));
    }
    decode(&params, &pts, p.n_values as usize)
}

/// What a blob is: `(kind, params id, session)`.
///
/// # Errors
/// A blob without a valid header.
pub fn blob_info(blob: &[u8]) -> Result<(&'static str, u16, [u8; 16])> {
    let (_, h) = crate::wire::Reader::any(blob)?;
    Ok((h.kind.name(), h.params_id, h.session))
}
