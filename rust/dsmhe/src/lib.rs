//! R bindings (extendr) for the `mhe` crate: R values in, `mhe` calls, R values out.
//!
//! Every function returns `Result<_, BindError>`; with extendr's `result_condition`
//! feature an `Err` reaches R as an object of class `extendr_error` whose `$value` is
//! `list(message, kind)`: `kind` is the refusal kind (`""` for an error that is not a
//! refusal), and the R wrapper `rs_call()` makes the condition class from it
//! (`dsMHE_error_refused_<kind>`), never from the message text. Nothing here
//! panics on input from R. The functions are listed with their contracts in `API.md`.

// extendr generates an undocumented C-callable wrapper for every exported function.
#![allow(missing_docs)]

use extendr_api::prelude::*;
use mhe::{AuditRecord, QuerySpec, Site, SitePolicy};

mod b64;

/// An error for R: its message and, for a refusal, the refusal kind.
#[derive(Debug)]
struct BindError {
    message: String,
    kind: &'static str,
}

impl From<String> for BindError {
    fn from(message: String) -> BindError {
        BindError { message, kind: "" }
    }
}

impl From<&str> for BindError {
    fn from(message: &str) -> BindError {
        BindError::from(message.to_owned())
    }
}

impl From<BindError> for Robj {
    fn from(e: BindError) -> Robj {
        list!(message = e.message, kind = e.kind).into()
    }
}

type R<T> = std::result::Result<T, BindError>;

fn err(e: mhe::Error) -> BindError {
    match e {
        mhe::Error::Refused(r) => BindError {
            message: r.message,
            kind: r.kind.as_str(),
        },
        limit @ mhe::Error::ShareLimit { .. } => BindError {
            message: limit.to_string(),
            kind: mhe::RefusalKind::ShareLimit.as_str(),
        },
        other => BindError::from(other.to_string()),
    }
}

fn raw(bytes: &[u8]) -> Robj {
    Raw::from_bytes(bytes).into()
}

fn id16(s: &str, what: &str) -> R<[u8; 16]> {
    let bytes = b64::decode(s).map_err(|e| format!("{what}: {e}"))?;
    <[u8; 16]>::try_from(bytes.as_slice())
        .map_err(|_| format!("{what} must be 16 bytes (22 base64url characters)").into())
}

fn raw_list(list: &List, what: &str) -> R<Vec<Vec<u8>>> {
    list.values()
        .enumerate()
        .map(|(i, v)| {
            v.as_raw_slice()
                .map(<[u8]>::to_vec)
                .ok_or_else(|| format!("{what} {} is not a raw vector", i + 1).into())
        })
        .collect()
}

fn slices(v: &[Vec<u8>]) -> Vec<&[u8]> {
    v.iter().map(Vec::as_slice).collect()
}

fn strings(s: &Strings) -> Vec<String> {
    s.iter()
        .filter(|x| !x.is_na())
        .map(|x| x.to_string())
        .collect()
}

fn party(robj: &Robj) -> R<ExternalPtr<Site>> {
    const NOT_A_PARTY: &str = "not a dsMHE party (call ds.mheSetup() first)";
    if !robj.is_external_pointer() {
        return Err(NOT_A_PARTY.into());
    }
    // extendr's conversion reads the pointer's address as its own boxed value before
    // checking the type, which crashes R on a pointer that extendr did not make (any
    // native routine address, say). extendr tags its pointers with the Rust type name,
    // so check the tag first: reading the tag of an external pointer is always valid.
    // SAFETY: `robj` is an external pointer (checked above); R_ExternalPtrTag only
    // reads a field of it.
    let tag = unsafe { robj.external_ptr_tag() };
    if tag.as_str() != Some(std::any::type_name::<Site>()) {
        return Err(NOT_A_PARTY.into());
    }
    ExternalPtr::<Site>::try_from(robj).map_err(|_| NOT_A_PARTY.into())
}

fn count(x: i32, what: &str) -> R<usize> {
    usize::try_from(x).map_err(|_| format!("{what} must be a non-negative integer").into())
}

/// Sixteen random bytes from the OS, base64url without padding: a session or query id.
#[extendr]
fn rs_random_id() -> R<String> {
    let seed = mhe::os_seed().map_err(err)?;
    Ok(b64::encode(seed.get(..16).unwrap_or(&[])))
}

/// A parameter set's description.
#[extendr]
fn rs_params_info(params: &str) -> R<List> {
    let p = mhe::Params::by_name(params).map_err(err)?;
    Ok(list!(
        name = p.name(),
        id = i32::from(p.id()),
        n = i32::try_from(p.n()).unwrap_or(i32::MAX),
        log_q = p.log_q(),
        values_per_ciphertext = i32::try_from(p.values_per_ciphertext()).unwrap_or(i32::MAX),
        max_parties = i32::try_from(p.max_parties()).unwrap_or(i32::MAX),
        frac_bits = i32::try_from(mhe::FRAC_BITS).unwrap_or(i32::MAX),
        flooding_bits = i32::try_from(p.flooding_bits()).unwrap_or(i32::MAX),
        margin_bits = p.correctness_margin_bits(),
        ciphertext_bytes = i32::try_from(p.ciphertext_bytes()).unwrap_or(i32::MAX)
    ))
}

/// A new site (party) with fresh keys; with a key file, its signing key is the
/// file's long-term key.
#[extendr]
fn rs_party_new(site: &str, session: &str, params: &str, key_file: &str) -> R<Robj> {
    let session = id16(session, "session id")?;
    let s = if key_file.is_empty() {
        Site::new(site, session, params)
    } else {
        let seed = mhe::key_file::load(std::path::Path::new(key_file)).map_err(err)?;
        Site::with_signing_key(site, session, params, &seed)
    }
    .map_err(err)?;
    Ok(ExternalPtr::new(s).into())
}

/// Creates a site key file with a fresh signing key; returns its fingerprint.
#[extendr]
fn rs_key_file_create(path: &str) -> R<String> {
    mhe::key_file::create(std::path::Path::new(path)).map_err(err)
}

/// The fingerprint of the signing key in a site key file.
#[extendr]
fn rs_key_file_fingerprint(path: &str) -> R<String> {
    mhe::key_file::fingerprint(std::path::Path::new(path)).map_err(err)
}

/// The party's signed identity blob.
#[extendr]
fn rs_party_identity(party: Robj) -> R<Robj> {
    Ok(raw(&self::party(&party)?.identity().map_err(err)?))
}

/// Fingerprint of the party's verification key.
#[extendr]
fn rs_party_fingerprint(party: Robj) -> R<String> {
    self::party(&party)?.fingerprint().map_err(err)
}

/// Checks the roster against the site's policy (the admin's server options) and
/// returns the signed key-generation share. `min_threshold` below 0 means unset (no
/// threshold allowed); `audit_file` `""` keeps the audit in memory only.
#[extendr]
#[allow(clippy::too_many_arguments)]
fn rs_party_join(
    party: Robj,
    roster: &[u8],
    threshold: i32,
    min_parties: i32,
    min_threshold: i32,
    pinned: Strings,
    allow_unpinned: bool,
    audit_file: &str,
) -> R<Robj> {
    let policy = SitePolicy {
        min_parties: count(min_parties, "min_parties")?,
        min_threshold: usize::try_from(min_threshold).ok(),
        pinned: strings(&pinned),
        allow_unpinned,
        audit_file: (!audit_file.is_empty()).then(|| std::path::PathBuf::from(audit_file)),
    };
    let mut p = self::party(&party)?;
    let blob = p
        .join(roster, count(threshold, "threshold")?, &policy)
        .map_err(err)?;
    Ok(raw(&blob))
}

/// Finishes key generation from the bundle; returns the signed confirmation.
#[extendr]
fn rs_party_finalize(party: Robj, bundle: &[u8]) -> R<Robj> {
    let mut p = self::party(&party)?;
    Ok(raw(&p.finalize(bundle).map_err(err)?))
}

/// Encrypts and signs the party's contribution to a query: `call` is the server
/// call as canonical text (signed, and logged), `variables` every variable the
/// statistic reads (the ledger ties each to the query's set of sites). `dp` is
/// empty (differential privacy off) or `c(total_epsilon, delta, epsilon, l2, l1)`:
/// the admin's budget and `delta`, the query's `epsilon`, the values' sensitivity.
#[extendr]
#[allow(clippy::too_many_arguments)]
fn rs_party_contribute(
    party: Robj,
    query: &str,
    kind: &str,
    call: &str,
    variables: Strings,
    sites: Strings,
    values: &[f64],
    dp: &[f64],
) -> R<Robj> {
    let q = id16(query, "query id")?;
    let dp = match dp {
        [] => None,
        &[total_epsilon, delta, epsilon, l2, l1] => Some(mhe::DpQuery {
            total_epsilon,
            delta,
            epsilon,
            l2,
            l1,
        }),
        _ => return Err("dp must be empty or c(total_epsilon, delta, epsilon, l2, l1)".into()),
    };
    let variables = strings(&variables);
    let sites = strings(&sites);
    let spec = QuerySpec {
        kind,
        call,
        variables: &variables,
        sites: &sites,
    };
    let mut p = self::party(&party)?;
    Ok(raw(&p
        .contribute_dp(q, &spec, values, dp.as_ref())
        .map_err(err)?))
}

/// Checks a decryption request and returns the party's decryption share.
#[extendr]
fn rs_party_decrypt(party: Robj, request: &[u8]) -> R<Robj> {
    let mut p = self::party(&party)?;
    Ok(raw(&p.decrypt(request).map_err(err)?))
}

/// Audit records as a list of equal-length columns; `dp` is the analyst's budget
/// line after a contribution charged to a differential-privacy budget, `""` else.
fn audit_columns(a: &[AuditRecord]) -> List {
    let col = |f: &dyn Fn(&AuditRecord) -> String| -> Robj {
        a.iter().map(f).collect::<Vec<String>>().into_robj()
    };
    let time: Vec<f64> = a.iter().map(|e| e.time).collect();
    list!(
        time = time,
        event = col(&|e| e.event.as_str().to_owned()),
        site = col(&|e| e.site.clone()),
        name = col(&|e| e.name.clone()),
        session = col(&|e| e.session.clone()),
        query = col(&|e| e.query.clone()),
        kind = col(&|e| e.kind.clone()),
        variables = col(&|e| e.variables.join(",")),
        sites = col(&|e| e.sites.join(",")),
        decryptors = col(&|e| e.decryptors.join(",")),
        digest = col(&|e| e.digest.clone()),
        call = col(&|e| e.call.clone()),
        dp = col(&|e| e.dp.clone().unwrap_or_default())
    )
}

/// This session's audit records of the party (contributions and decryption shares).
#[extendr]
fn rs_party_audit(party: Robj) -> R<List> {
    let p = self::party(&party)?;
    Ok(audit_columns(p.audit()))
}

/// Every record of an audit file (for its admin).
#[extendr]
fn rs_audit_read(path: &str) -> R<List> {
    let records = mhe::read_audit_file(std::path::Path::new(path)).map_err(err)?;
    Ok(audit_columns(&records))
}

/// Appends a base64url chunk to the party's named upload buffer.
#[extendr]
fn rs_party_buffer_append(party: Robj, name: &str, index: i32, chunk: &str) -> R<i32> {
    let bytes = b64::decode(chunk).map_err(|e| format!("upload chunk: {e}"))?;
    let mut p = self::party(&party)?;
    let n = p
        .buffer_append(name, count(index, "chunk index")?, &bytes)
        .map_err(err)?;
    Ok(i32::try_from(n).unwrap_or(i32::MAX))
}

/// Removes and returns the party's named upload.
#[extendr]
fn rs_party_buffer_take(party: Robj, name: &str) -> R<Robj> {
    let mut p = self::party(&party)?;
    Ok(raw(&p.buffer_take(name).map_err(err)?))
}

/// Zeroizes the party's secrets now.
#[extendr]
fn rs_party_wipe(party: Robj) -> R<Robj> {
    let mut p = self::party(&party)?;
    p.wipe();
    Ok(Robj::from(()))
}

/// Builds the roster from identity blobs.
#[extendr]
fn rs_roster_build(identities: List) -> R<Robj> {
    let ids = raw_list(&identities, "identity")?;
    Ok(raw(&mhe::analyst::roster_build(&slices(&ids)).map_err(err)?))
}

/// Names and fingerprints of a roster.
#[extendr]
fn rs_roster_info(roster: &[u8]) -> R<List> {
    let info = mhe::analyst::roster_info(roster).map_err(err)?;
    let site: Vec<String> = info.iter().map(|(n, _)| n.clone()).collect();
    let fingerprint: Vec<String> = info.into_iter().map(|(_, f)| f).collect();
    Ok(list!(site = site, fingerprint = fingerprint))
}

/// The key-generation bundle for one site.
#[extendr]
fn rs_keygen_bundle(shares: List, recipient: &str) -> R<Robj> {
    let s = raw_list(&shares, "key share")?;
    Ok(raw(
        &mhe::analyst::keygen_bundle(&slices(&s), recipient).map_err(err)?
    ))
}

/// Checks that all sites confirmed the same collective key; returns its fingerprint.
#[extendr]
fn rs_confirmations_check(confirmations: List) -> R<String> {
    let c = raw_list(&confirmations, "confirmation")?;
    mhe::analyst::confirmations_check(&slices(&c)).map_err(err)
}

/// Pools contributions: `list(pooled, request, dp)`, `dp` a list with one element
/// per contributing site (named by site, roster order): `NULL` where DP is off,
/// else the site's signed DP facts as a named list.
#[extendr]
fn rs_pool(contributions: List, decryptors: Strings) -> R<List> {
    let c = raw_list(&contributions, "contribution")?;
    let (pooled, request, dp) =
        mhe::analyst::pool_with_dp(&slices(&c), &strings(&decryptors)).map_err(err)?;
    let names: Vec<String> = dp.iter().map(|(n, _)| n.clone()).collect();
    let facts: Vec<Robj> = dp
        .iter()
        .map(|(_, f)| f.as_ref().map_or_else(|| r!(NULL), dp_facts))
        .collect();
    let mut facts = List::from_values(facts);
    facts.set_names(names).map_err(|e| e.to_string())?;
    Ok(list!(
        pooled = raw(&pooled),
        request = raw(&request),
        dp = facts
    ))
}

fn dp_facts(f: &mhe::DpFacts) -> Robj {
    list!(
        mechanism = f.mechanism_name(),
        epsilon = f.epsilon,
        delta = f.delta,
        rho = f.rho,
        sigma = f.sigma,
        variance = f.variance,
        grid_bits = i32::from(f.grid_bits),
        honest = i32::from(f.honest),
        analyst = f.analyst.as_str(),
        budget_total_rho = f.budget_total,
        budget_spent_rho = f.budget_spent,
        budget_left_rho = (f.budget_total - f.budget_spent).max(0.0),
        epsilon_spent = f.epsilon_spent,
        queries = f.queries as f64
    )
    .into()
}

fn hex_bytes<const N: usize>(s: &str, what: &str) -> R<[u8; N]> {
    let bad = || BindError::from(format!("{what} must be {} hex characters", 2 * N));
    if s.len() != 2 * N || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        let pair = s.get(2 * i..2 * i + 2).ok_or_else(bad)?;
        *o = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
    }
    Ok(out)
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The analyst's side: signs the challenge of a site's identity blob with the
/// long-term analyst key in `key_file` (a key file of `rs_key_file_create`):
/// `list(key, signature)` as hex.
#[extendr]
fn rs_analyst_sign(key_file: &str, identity: &[u8]) -> R<List> {
    let seed = mhe::key_file::load(std::path::Path::new(key_file)).map_err(err)?;
    let (vk, sig) = mhe::sign_analyst_challenge(&seed, identity).map_err(err)?;
    Ok(list!(key = to_hex(&vk), signature = to_hex(&sig)))
}

/// Checks the analyst's signature of this site's challenge; returns the identity
/// the site charges from now on: the key's fingerprint if it is in `pinned`,
/// `"unpinned"` otherwise.
#[extendr]
fn rs_party_authenticate_analyst(
    party: Robj,
    key: &str,
    signature: &str,
    pinned: Strings,
) -> R<String> {
    let vk = hex_bytes::<32>(key, "analyst key")?;
    let sig = hex_bytes::<64>(signature, "analyst signature")?;
    let mut p = self::party(&party)?;
    p.authenticate_analyst(&vk, &sig, &strings(&pinned))
        .map_err(err)
}

/// Combines decryption shares into the pooled values.
#[extendr]
fn rs_combine(pooled: &[u8], shares: List) -> R<Vec<f64>> {
    let s = raw_list(&shares, "decryption share")?;
    mhe::analyst::combine(pooled, &slices(&s)).map_err(err)
}

/// What a blob is.
#[extendr]
fn rs_blob_info(blob: &[u8]) -> R<List> {
    let (kind, params, session) = mhe::analyst::blob_info(blob).map_err(err)?;
    Ok(list!(
        kind = kind,
        params = i32::from(params),
        session = b64::encode(&session),
        bytes = i32::try_from(blob.len()).unwrap_or(i32::MAX)
    ))
}

/// Base64url without padding.
#[extendr]
fn rs_b64_encode(bytes: &[u8]) -> String {
    b64::encode(bytes)
}

/// Decodes base64url without padding; an error for any other alphabet.
#[extendr]
fn rs_b64_decode(text: &str) -> R<Robj> {
    Ok(raw(&b64::decode(text).map_err(BindError::from)?))
}

extendr_module! {
    mod dsMHE;
    fn rs_random_id;
    fn rs_params_info;
    fn rs_party_new;
    fn rs_key_file_create;
    fn rs_key_file_fingerprint;
    fn rs_party_identity;
    fn rs_party_fingerprint;
    fn rs_party_join;
    fn rs_party_finalize;
    fn rs_party_contribute;
    fn rs_party_decrypt;
    fn rs_party_audit;
    fn rs_audit_read;
    fn rs_party_buffer_append;
    fn rs_party_buffer_take;
    fn rs_party_wipe;
    fn rs_roster_build;
    fn rs_roster_info;
    fn rs_keygen_bundle;
    fn rs_confirmations_check;
    fn rs_pool;
    fn rs_analyst_sign;
    fn rs_party_authenticate_analyst;
    fn rs_combine;
    fn rs_blob_info;
    fn rs_b64_encode;
    fn rs_b64_decode;
}
