//! The refusal rules of a site, as pure functions over plain data.
//!
//! Nothing here touches a key or a ciphertext: each rule takes the facts it needs
//! (roster names and fingerprints, sets of site indices, thresholds, ledger records,
//! request fields) and either accepts them or returns [`Error::Refused`] with the
//! [`RefusalKind`] of the rule and a message naming it. [`crate::site::Site`] gathers
//! the facts, calls these rules, and does the cryptography only when they pass, so the
//! whole policy is tested without any cryptography (see the tests below).
//!
//! A contribution is a release: a site colluding with the analyst holds the group
//! secret and can decrypt any pooled sum it took part in without anyone's decryption
//! share. So the set rules ([`check_set`], [`check_ledger`]) apply when a site
//! contributes, not only when it decrypts.

use std::path::PathBuf;

use crate::error::{Error, RefusalKind, Result};

/// What a site's administrator decided: the server options a site reads when it joins.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SitePolicy {
    /// `mhe.min.parties`: the smallest roster and the smallest set of contributing
    /// sites this site accepts.
    pub min_parties: usize,
    /// `mhe.min.threshold`: the least `t` of a t-of-N session; `None` (the default)
    /// allows no threshold: every roster member must decrypt.
    pub min_threshold: Option<usize>,
    /// `mhe.peers`: fingerprints of the peers this site trusts. When not empty, the
    /// roster must be exactly these peers plus this site, and every query's set the
    /// whole roster.
    pub pinned: Vec<String>,
    /// `mhe.allow.unpinned`: whether this site joins a roster without pins at all
    /// (default `false`). An unpinned federation cannot rule out that the analyst
    /// stands in for every peer.
    pub allow_unpinned: bool,
    /// `mhe.audit.file`: the site's append-only audit file, which is also its durable
    /// ledger of releases. `None` keeps both in memory for this session only (tests).
    pub audit_file: Option<PathBuf>,
}

/// A roster member as the policy sees it: its name and the fingerprint of its
/// signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's site name.
    pub name: String,
    /// Fingerprint (hex) of the member's verification key.
    pub fingerprint: String,
}

fn refuse<T>(kind: RefusalKind, message: impl Into<String>) -> Result<T> {
    Err(Error::refused(kind, message))
}

/// Checks a roster against the policy and returns this site's index in it.
///
/// This site (`own_name` with `own_fingerprint`) must be a member; no two members
/// share a name or a key (one site is one member); there are at least `min_parties`
/// members; and either the admin pinned peers and the other members are exactly the
/// pinned ones (every pin present, nothing else), or the admin allowed unpinned
/// rosters.
///
/// # Errors
/// [`Error::Refused`] of kind `NotInRoster`, `DuplicateMember`, `BelowMinParties`,
/// `Unpinned` or `PinMismatch`.
pub fn check_roster(
    policy: &SitePolicy,
    members: &[Member],
    own_name: &str,
    own_fingerprint: &str,
) -> Result<usize> {
    for (i, m) in members.iter().enumerate() {
        let later = members.iter().skip(i + 1);
        if let Some(d) = later
            .clone()
            .find(|o| o.fingerprint.eq_ignore_ascii_case(&m.fingerprint))
        {
            return refuse(
                RefusalKind::DuplicateMember,
                format!(
                    "roster members '{}' and '{}' have the same signing key (one site is one member)",
                    m.name, d.name
                ),
            );
        }
        if later.clone().any(|o| o.name == m.name) {
            return refuse(
                RefusalKind::DuplicateMember,
                format!("site '{}' appears twice in the roster", m.name),
            );
        }
    }
    let own = members
        .iter()
        .position(|m| m.name == own_name && m.fingerprint.eq_ignore_ascii_case(own_fingerprint))
        .ok_or_else(|| {
            Error::refused(
                RefusalKind::NotInRoster,
                format!("site '{own_name}' with its own key is not in the roster"),
            )
        })?;
    let n = members.len();
    if n < policy.min_parties.max(1) {
        return refuse(
            RefusalKind::BelowMinParties,
            format!(
                "the roster has {n} sites; mhe.min.parties is {}",
                policy.min_parties.max(1)
            ),
        );
    }
    check_pins(policy, members, own)?;
    Ok(own)
}

fn check_pins(policy: &SitePolicy, members: &[Member], own: usize) -> Result<()> {
    if policy.pinned.is_empty() {
        if policy.allow_unpinned {
            return Ok(());
        }
        return refuse(
            RefusalKind::Unpinned,
            "this site's admin pinned no peers (mhe.peers) and did not allow unpinned \
             rosters (mhe.allow.unpinned)",
        );
    }
    let own_fp = members.get(own).map_or("", |m| m.fingerprint.as_str());
    for (i, m) in members.iter().enumerate() {
        let pinned = policy
            .pinned
            .iter()
            .any(|p| p.eq_ignore_ascii_case(&m.fingerprint));
        if i != own && !pinned {
            return refuse(
                RefusalKind::PinMismatch,
                format!(
                    "roster member '{}' (key {}) is not among the peers pinned in mhe.peers",
                    m.name, m.fingerprint
                ),
            );
        }
    }
    for p in &policy.pinned {
        let present = members
            .iter()
            .any(|m| m.fingerprint.eq_ignore_ascii_case(p));
        if !present && !p.eq_ignore_ascii_case(own_fp) {
            return refuse(
                RefusalKind::PinMismatch,
                format!("the pinned peer with key {p} is not in the roster"),
            );
        }
    }
    Ok(())
}

/// The threshold a site accepts for a roster of `n`: `0` (every member decrypts) for
/// a request of `0` or `n` or more, otherwise `threshold`, which must be at least 2
/// and at least the admin's `min_threshold`; with no `min_threshold`, no threshold
/// is accepted.
///
/// # Errors
/// [`Error::Refused`] of kind `ThresholdBelowMinimum`.
pub fn check_threshold(policy: &SitePolicy, threshold: usize, n: usize) -> Result<usize> {
    if threshold == 0 || threshold >= n {
        return Ok(0);
    }
    if threshold < 2 {
        return refuse(
            RefusalKind::ThresholdBelowMinimum,
            "a threshold of 1 would let any single site decrypt",
        );
    }
    match policy.min_threshold {
        None => refuse(
            RefusalKind::ThresholdBelowMinimum,
            format!(
                "threshold {threshold} of {n}: this site's admin allows no threshold \
                 (every site must decrypt; set mhe.min.threshold to allow one)"
            ),
        ),
        Some(m) if threshold < m => refuse(
            RefusalKind::ThresholdBelowMinimum,
            format!("threshold {threshold} is below this site's mhe.min.threshold ({m})"),
        ),
        Some(_) => Ok(threshold),
    }
}

/// The facts of a session that the set rules need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionFacts {
    /// Roster size.
    pub roster_size: usize,
    /// This site's index.
    pub own: u16,
    /// Threshold (`0`: every member decrypts).
    pub threshold: usize,
    /// Least sites in a set (`mhe.min.parties`).
    pub min_parties: usize,
    /// Whether the admin pinned the peers.
    pub pinned: bool,
}

/// Checks a query's set of contributing sites (roster indices, in the analyst's
/// order) and returns it sorted.
///
/// The set holds no site twice and this site; it has at least `min_parties` sites and
/// at least `threshold` (or it could never be decrypted); and it is the whole roster
/// when the peers are pinned or every member must decrypt.
///
/// # Errors
/// [`Error::Refused`] of kind `BadSet`, `BelowMinParties` or `SetNotWholeRoster`.
pub fn check_set(facts: &SessionFacts, indices: &[u16]) -> Result<Vec<u16>> {
    let mut set = indices.to_vec();
    set.sort_unstable();
    set.dedup();
    if set.len() != indices.len() {
        return refuse(
            RefusalKind::BadSet,
            "a site appears twice in the query's site list",
        );
    }
    if !set.contains(&facts.own) {
        return refuse(
            RefusalKind::BadSet,
            "this site is not in the query's site list",
        );
    }
    let min_parties = facts.min_parties.max(1);
    if set.len() < min_parties {
        return refuse(
            RefusalKind::BelowMinParties,
            format!(
                "the query names {} sites; mhe.min.parties is {min_parties}",
                set.len()
            ),
        );
    }
    if set.len() < facts.threshold {
        return refuse(
            RefusalKind::BelowMinParties,
            format!(
                "the query names {} sites; the threshold is {} (it could never be decrypted)",
                set.len(),
                facts.threshold
            ),
        );
    }
    if set.len() != facts.roster_size {
        if facts.pinned {
            return refuse(
                RefusalKind::SetNotWholeRoster,
                "with pinned peers every roster site must contribute to every query",
            );
        }
        if facts.threshold == 0 {
            return refuse(
                RefusalKind::SetNotWholeRoster,
                "without a threshold every roster site must take part in a query",
            );
        }
    }
    Ok(set)
}

/// Checks that a query's set of `size` sites is one the parameter set's flooding and
/// correctness margin serve (`max`, [`crate::Params::max_parties`]). A contribution is a
/// release, so this is refused when a site contributes, not only when it decrypts.
///
/// # Errors
/// [`Error::Refused`] of kind `BadSet`.
pub fn check_set_size(size: usize, max: usize) -> Result<()> {
    if size > max {
        return refuse(
            RefusalKind::BadSet,
            format!("a query over {size} sites; the parameter set supports at most {max}"),
        );
    }
    Ok(())
}

/// One earlier release, as the durable ledger holds it: the variables a contribution
/// read and its set of sites (member identities, sorted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// Variables the statistic read.
    pub variables: Vec<String>,
    /// The set of sites, sorted.
    pub set: Vec<String>,
}

/// Checks a new release of `variables` over `set` (member identities, sorted) against
/// the earlier releases of this site: a variable released over one set is never
/// released over another, in this session or any later one.
///
/// Keying by variable, not by statistic, matters: a pooled variance over two sites
/// gives their sum and count, and a pooled mean over three then gives the third's.
///
/// # Errors
/// [`Error::Refused`] of kind `SetChanged`, naming the variable and the earlier set.
pub fn check_ledger<'a>(
    earlier: impl IntoIterator<Item = &'a Release>,
    variables: &[String],
    set: &[String],
) -> Result<()> {
    for r in earlier {
        if r.set.as_slice() == set {
            continue;
        }
        if let Some(v) = variables.iter().find(|v| r.variables.contains(v)) {
            return refuse(
                RefusalKind::SetChanged,
                format!(
                    "{v} was released by this site over the sites {}; it is never released \
                     over another set ({})",
                    r.set.join(","),
                    set.join(",")
                ),
            );
        }
    }
    Ok(())
}

/// The variables of a contribution: 1 to [`MAX_VARIABLES`] names, none empty or
/// longer than 256 bytes, none repeated, returned sorted.
///
/// # Errors
/// [`Error::InvalidArgument`].
pub fn check_variables(variables: &[String]) -> Result<Vec<String>> {
    if variables.is_empty() || variables.len() > MAX_VARIABLES {
        return Err(Error::InvalidArgument(format!(
            "a contribution names 1 to {MAX_VARIABLES} variables"
        )));
    }
    if variables.iter().any(|v| v.is_empty() || v.len() > 256) {
        return Err(Error::InvalidArgument(
            "a variable name must be 1 to 256 bytes".into(),
        ));
    }
    let mut v = variables.to_vec();
    v.sort_unstable();
    v.dedup();
    Ok(v)
}

/// Most variables one contribution names.
pub const MAX_VARIABLES: usize = 4096;

/// The fields of a query that a decryption request must repeat exactly as this site
/// contributed: its set, kind, number of values and argument digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryFacts<'a> {
    /// Contributing sites, sorted.
    pub set: &'a [u16],
    /// Query kind.
    pub kind: &'a str,
    /// Number of values.
    pub n_values: u32,
    /// Digest of the call text.
    pub args: &'a [u8; 32],
}

/// Checks a decryption request against the query this site contributed to: not
/// decrypted before, and the same set, kind, size and arguments.
///
/// # Errors
/// [`Error::Refused`] of kind `Replay` or `Mismatch`.
pub fn check_request(
    contributed: &QueryFacts<'_>,
    decrypted: bool,
    request: &QueryFacts<'_>,
) -> Result<()> {
    if decrypted {
        return refuse(
            RefusalKind::Replay,
            "this query was already decrypted (replay)",
        );
    }
    if request.set != contributed.set {
        return refuse(
            RefusalKind::Mismatch,
            "the request's site set differs from the one this site contributed to",
        );
    }
    if request.kind != contributed.kind || request.n_values != contributed.n_values {
        return refuse(
            RefusalKind::Mismatch,
            "the request does not match the query this site contributed to",
        );
    }
    if request.args != contributed.args {
        return refuse(
            RefusalKind::Mismatch,
            "the request names other arguments than this site computed with",
        );
    }
    Ok(())
}

/// Checks that the request carries one attestation per contributing site, in order
/// (`attested`: the site index of each attestation).
///
/// # Errors
/// [`Error::Refused`] of kind `BadAttestation`.
pub fn check_attestation_order(set: &[u16], attested: &[u16], names: &[String]) -> Result<()> {
    if attested.len() != set.len() {
        return refuse(
            RefusalKind::BadAttestation,
            format!(
                "{} attestations for {} contributing sites",
                attested.len(),
                set.len()
            ),
        );
    }
    for (a, m) in attested.iter().zip(set) {
        if a != m {
            let name = names.get(usize::from(*m)).map_or("?", String::as_str);
            return refuse(
                RefusalKind::BadAttestation,
                format!("the attestation of '{name}' is missing"),
            );
        }
    }
    Ok(())
}

/// Checks the decrypting sites of a request: this site among them, all of them
/// contributors, and all roster members (no threshold) or at least `threshold`.
///
/// # Errors
/// [`Error::Refused`] of kind `Decryptors`.
pub fn check_decryptors(facts: &SessionFacts, set: &[u16], decryptors: &[u16]) -> Result<()> {
    if !decryptors.contains(&facts.own) {
        return refuse(
            RefusalKind::Decryptors,
            "this site is not among the request's decrypting sites",
        );
    }
    if decryptors.iter().any(|d| !set.contains(d)) {
        return refuse(
            RefusalKind::Decryptors,
            "a decrypting site did not contribute to the query",
        );
    }
    if facts.threshold == 0 && decryptors.len() != facts.roster_size {
        return refuse(
            RefusalKind::Decryptors,
            "without a threshold every roster site must decrypt",
        );
    }
    if decryptors.len() < facts.threshold {
        return refuse(
            RefusalKind::Decryptors,
            format!(
                "{} decrypting sites; the threshold is {}",
                decryptors.len(),
                facts.threshold
            ),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_set_larger_than_the_parameters_support_is_refused_at_contribution() {
        assert!(check_set_size(110, 110).is_ok());
        let Err(Error::Refused(r)) = check_set_size(111, 110) else {
            panic!("expected a refusal");
        };
        assert_eq!(r.kind, RefusalKind::BadSet);
        assert!(r.message.contains("at most 110"), "{}", r.message);
    }
    use super::*;

    fn members(n: usize) -> Vec<Member> {
        (1..=n)
            .map(|i| Member {
                name: format!("site{i}"),
                fingerprint: format!("fp{i}"),
            })
            .collect()
    }

    fn kind<T: std::fmt::Debug>(r: Result<T>) -> RefusalKind {
        match r {
            Err(Error::Refused(x)) => x.kind,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn unpinned() -> SitePolicy {
        SitePolicy {
            min_parties: 2,
            allow_unpinned: true,
            ..SitePolicy::default()
        }
    }

    #[test]
    fn an_unpinned_roster_is_refused_unless_the_admin_allows_it() {
        let m = members(3);
        let strict = SitePolicy {
            min_parties: 2,
            ..SitePolicy::default()
        };
        assert_eq!(
            kind(check_roster(&strict, &m, "site1", "fp1")),
            RefusalKind::Unpinned
        );
        assert_eq!(check_roster(&unpinned(), &m, "site2", "fp2").unwrap(), 1);
    }

    #[test]
    fn a_pinned_roster_must_be_exactly_the_pins_plus_this_site() {
        let m = members(3);
        let mut p = SitePolicy {
            min_parties: 2,
            pinned: vec!["FP2".into(), "fp3".into()],
            ..SitePolicy::default()
        };
        assert_eq!(check_roster(&p, &m, "site1", "fp1").unwrap(), 0);
        // a pin whose site is missing
        assert_eq!(
            kind(check_roster(&p, &m[..2], "site1", "fp1")),
            RefusalKind::PinMismatch
        );
        // a member nobody pinned
        p.pinned = vec!["fp2".into()];
        assert_eq!(
            kind(check_roster(&p, &m, "site1", "fp1")),
            RefusalKind::PinMismatch
        );
        // the admin may pin its own key too
        p.pinned = vec!["fp1".into(), "fp2".into(), "fp3".into()];
        assert_eq!(check_roster(&p, &m, "site1", "fp1").unwrap(), 0);
    }

    #[test]
    fn two_members_with_one_key_are_refused_even_when_unpinned() {
        let mut m = members(3);
        if let Some(x) = m.get_mut(2) {
            x.fingerprint = "FP1".into();
        }
        assert_eq!(
            kind(check_roster(&unpinned(), &m, "site1", "fp1")),
            RefusalKind::DuplicateMember
        );
    }

    #[test]
    fn roster_membership_and_size_are_checked() {
        let m = members(3);
        assert_eq!(
            kind(check_roster(&unpinned(), &m, "site1", "fp9")),
            RefusalKind::NotInRoster
        );
        let big = SitePolicy {
            min_parties: 4,
            ..unpinned()
        };
        assert_eq!(
            kind(check_roster(&big, &m, "site1", "fp1")),
            RefusalKind::BelowMinParties
        );
    }

    #[test]
    fn a_threshold_needs_the_admins_minimum() {
        let none = unpinned();
        assert_eq!(check_threshold(&none, 0, 3).unwrap(), 0);
        assert_eq!(check_threshold(&none, 3, 3).unwrap(), 0);
        assert_eq!(
            kind(check_threshold(&none, 2, 3)),
            RefusalKind::ThresholdBelowMinimum
        );
        let three = SitePolicy {
            min_threshold: Some(3),
            ..unpinned()
        };
        assert_eq!(
            kind(check_threshold(&three, 2, 4)),
            RefusalKind::ThresholdBelowMinimum
        );
        assert_eq!(check_threshold(&three, 3, 4).unwrap(), 3);
        let one = SitePolicy {
            min_threshold: Some(1),
            ..unpinned()
        };
        assert_eq!(
            kind(check_threshold(&one, 1, 4)),
            RefusalKind::ThresholdBelowMinimum
        );
    }

    fn facts(threshold: usize, pinned: bool) -> SessionFacts {
        SessionFacts {
            roster_size: 4,
            own: 0,
            threshold,
            min_parties: 2,
            pinned,
        }
    }

    #[test]
    fn sets_follow_pinning_and_threshold() {
        assert_eq!(
            check_set(&facts(3, false), &[3, 0, 1]).unwrap(),
            vec![0, 1, 3]
        );
        assert_eq!(
            kind(check_set(&facts(3, true), &[0, 1, 3])),
            RefusalKind::SetNotWholeRoster
        );
        assert_eq!(
            kind(check_set(&facts(0, false), &[0, 1, 3])),
            RefusalKind::SetNotWholeRoster
        );
        assert_eq!(
            kind(check_set(&facts(3, false), &[0, 1])),
            RefusalKind::BelowMinParties
        );
        assert_eq!(
            kind(check_set(&facts(3, false), &[1, 2, 3])),
            RefusalKind::BadSet
        );
        assert_eq!(
            kind(check_set(&facts(3, false), &[0, 1, 1])),
            RefusalKind::BadSet
        );
        assert_eq!(check_set(&facts(3, true), &[0, 1, 2, 3]).unwrap().len(), 4);
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn a_variable_is_tied_to_the_first_set_it_was_released_over() {
        let earlier = [Release {
            variables: s(&["D$x", "D$y"]),
            set: s(&["a", "b", "c"]),
        }];
        check_ledger(&earlier, &s(&["D$x"]), &s(&["a", "b", "c"])).unwrap();
        check_ledger(&earlier, &s(&["D$z"]), &s(&["a", "b"])).unwrap();
        let r = check_ledger(&earlier, &s(&["D$z", "D$y"]), &s(&["a", "b"]));
        match r {
            Err(Error::Refused(x)) => {
                assert_eq!(x.kind, RefusalKind::SetChanged);
                assert!(
                    x.message.contains("D$y") && x.message.contains("a,b,c"),
                    "{x}"
                );
            }
            other => panic!("{other:?}"),
        }
        // a superset is another set too
        let more = check_ledger(&earlier, &s(&["D$x"]), &s(&["a", "b", "c", "d"]));
        assert_eq!(kind(more), RefusalKind::SetChanged);
    }

    #[test]
    fn variables_are_bounded_and_sorted() {
        assert_eq!(
            check_variables(&s(&["b", "a", "b"])).unwrap(),
            s(&["a", "b"])
        );
        assert!(check_variables(&[]).is_err());
        assert!(check_variables(&s(&[""])).is_err());
    }

    #[test]
    fn a_request_must_repeat_the_contributed_query() {
        let args = [1u8; 32];
        let other = [2u8; 32];
        let q = QueryFacts {
            set: &[0, 1, 2],
            kind: "mean",
            n_values: 3,
            args: &args,
        };
        check_request(&q, false, &q.clone()).unwrap();
        assert_eq!(
            kind(check_request(&q, true, &q.clone())),
            RefusalKind::Replay
        );
        let mut r = q.clone();
        r.set = &[0, 1];
        assert_eq!(kind(check_request(&q, false, &r)), RefusalKind::Mismatch);
        let mut r = q.clone();
        r.args = &other;
        assert_eq!(kind(check_request(&q, false, &r)), RefusalKind::Mismatch);
        let mut r = q.clone();
        r.n_values = 4;
        assert_eq!(kind(check_request(&q, false, &r)), RefusalKind::Mismatch);
    }

    #[test]
    fn attestations_come_one_per_site_in_order() {
        let names = s(&["a", "b", "c"]);
        check_attestation_order(&[0, 2], &[0, 2], &names).unwrap();
        assert_eq!(
            kind(check_attestation_order(&[0, 2], &[0], &names)),
            RefusalKind::BadAttestation
        );
        assert_eq!(
            kind(check_attestation_order(&[0, 2], &[0, 1], &names)),
            RefusalKind::BadAttestation
        );
    }

    #[test]
    fn decryptors_follow_the_threshold() {
        let set = [0, 1, 2, 3];
        check_decryptors(&facts(3, false), &set, &[0, 1, 3]).unwrap();
        assert_eq!(
            kind(check_decryptors(&facts(3, false), &set, &[0, 1])),
            RefusalKind::Decryptors
        );
        assert_eq!(
            kind(check_decryptors(&facts(3, false), &set, &[1, 2, 3])),
            RefusalKind::Decryptors
        );
        assert_eq!(
            kind(check_decryptors(&facts(0, false), &set, &[0, 1, 2])),
            RefusalKind::Decryptors
        );
        assert_eq!(
            kind(check_decryptors(&facts(3, false), &[0, 1, 2], &[0, 1, 3])),
            RefusalKind::Decryptors
        );
        check_decryptors(&facts(0, false), &set, &set).unwrap();
    }
}
