//! The security policy of a site against a malicious analyst, who relays every
//! message and may send anything: each test builds a malicious variant of what
//! `analyst::pool` builds and checks that the site refuses it, or that what the
//! analyst gets decrypts to noise. The sites compute the pooled `c1` themselves, so
//! the analyst's only freedom is which `c0`s it combines with their shares; the
//! zero-sum masks make every combination but the honest sum decrypt to noise.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs
)]

mod common;

use std::sync::Arc;

use common::{
    Query, SESSION, contribute_all, decrypt_all, federation, fixed_sums, join_all, names,
    new_sites, open_policy, pool_query, qid, refs, roster_of, spec,
};
use mhe::analyst;
use mhe::ciphertext::encrypt;
use mhe::encoding::{encode, real_to_fixed};
use mhe::keys::PublicKey;
use mhe::messages::{Contribution, DecryptRequest, DecryptShare, KeygenShare, Pooled};
use mhe::params::Params;
use mhe::policy::SitePolicy;
use mhe::ring::Poly;
use mhe::sampling::SecretRng;
use mhe::site::SetupStage;
use mhe::site::Site;
use mhe::{Error, RefusalKind};

fn params() -> Arc<Params> {
    Params::by_name("default").unwrap()
}

fn values(k: usize) -> Vec<Vec<f64>> {
    (0..k)
        .map(|i| (0..8).map(|j| f64::from(i as u32 * 10 + j) - 3.5).collect())
        .collect()
}

/// The decryption shares a site logged.
fn decryptions(s: &Site) -> usize {
    s.audit()
        .iter()
        .filter(|r| r.event == mhe::audit::Event::Decryption)
        .count()
}

fn refused(r: mhe::Result<Vec<u8>>) -> String {
    refusal(r).0
}

fn refusal(r: mhe::Result<Vec<u8>>) -> (String, RefusalKind) {
    match r {
        Err(Error::Refused(m)) => (m.message, m.kind),
        other => panic!("expected a refusal, got {:?}", other.map(|b| b.len())),
    }
}

/// Every site decrypts the honest `request`; the analyst combines the shares with the
/// `c0`s of its choice instead of the pooled ones.
fn decrypt_with_c0s(sites: &mut [Site], request: &[u8], pooled: &[u8], c0s: &[Poly]) -> Vec<i128> {
    let p = params();
    let shares = decrypt_all(sites, request);
    let mut kept = Pooled::parse(pooled).unwrap();
    kept.c0s = c0s.to_vec();
    analyst::combine_fixed(&kept.encode(&p), &refs(&shares)).unwrap()
}

fn all_differ(got: &[i128], truth: &[i128]) -> bool {
    got.len() == truth.len() && got.iter().zip(truth).all(|(a, b)| a != b)
}

fn c0s_of(contribution: &[u8]) -> Vec<Poly> {
    Contribution::parse(contribution).unwrap().c0s
}

fn add_all(acc: &mut [Poly], other: &[Poly]) {
    acc.iter_mut()
        .zip(other)
        .for_each(|(a, c)| a.add_assign(c, &params()));
}

/// Three sites without a threshold, their values, and the honest pool of query 1 for
/// all of them.
fn honest_query() -> (Vec<Site>, Vec<Vec<f64>>, Query) {
    let mut sites = federation(3, "default", 0, 2);
    let v = values(3);
    let n = names(&sites);
    let q = pool_query(&mut sites, qid(1), &v, &n);
    (sites, v, q)
}

/// The decryptors decrypt `query` honestly, and the analyst gets the exact sum of
/// `values`.
fn assert_decrypts_to_the_sum(decryptors: &mut [Site], query: &Query, values: &[Vec<f64>]) {
    let shares = decrypt_all(decryptors, &query.request);
    assert_eq!(
        analyst::combine_fixed(&query.pooled, &refs(&shares)).unwrap(),
        fixed_sums(values)
    );
}

#[test]
fn a_request_for_one_sites_contribution_is_refused_or_decrypts_to_noise() {
    let (mut sites, v, q) = honest_query();
    // The analyst's own tool refuses an incomplete pool.
    assert!(analyst::pool(&refs(&q.contributions[..1]), &names(&sites)).is_err());
    let p = params();
    let honest = DecryptRequest::parse(&q.request).unwrap();
    // Only site 1's attestation, set unchanged.
    let mut r = honest.clone();
    r.attestations.truncate(1);
    assert!(refused(sites[0].decrypt(&r.encode(&p))).contains("attestations"));
    // A set reduced to site 1 alone.
    r.set = vec![0];
    assert!(refused(sites[0].decrypt(&r.encode(&p))).contains("set"));
    // A set that differs (two of the three), with their genuine attestations.
    let mut r = honest.clone();
    r.set = vec![0, 1];
    r.attestations.truncate(2);
    let m = refused(sites[1].decrypt(&r.encode(&p)));
    assert!(m.contains("set"), "{m}");
    // The honest shares combined with site 1's c0 alone: noise.
    let got = decrypt_with_c0s(
        &mut sites,
        &q.request,
        &q.pooled,
        &c0s_of(&q.contributions[0]),
    );
    assert!(
        all_differ(&got, &fixed_sums(&v[..1])),
        "site 1's values were revealed"
    );
}

#[test]
fn a_replayed_request_or_ciphertext_is_refused() {
    let (mut sites, v, q) = honest_query();
    assert_decrypts_to_the_sum(&mut sites, &q, &v);
    for s in &mut sites {
        assert!(refused(s.decrypt(&q.request)).contains("already"));
        assert_eq!(decryptions(s), 1);
    }
}

#[test]
fn a_request_carries_no_polynomial_to_decrypt() {
    // The crafted-c1 attack (a request whose c1 is, say, a large constant, so that the
    // share exposes the key) has nothing to act on: a request names the query and its
    // sites, and each site computes the pooled c1 itself. Its size does not grow with
    // the number of values, and bytes appended to it are refused.
    let mut sites = federation(3, "default", 0, 2);
    let n = names(&sites);
    let long: Vec<Vec<f64>> = (0..3).map(|i| vec![f64::from(i); 20_000]).collect();
    let q = pool_query(&mut sites, qid(1), &long, &n);
    assert!(q.request.len() < 200 + 3 * 100, "{} bytes", q.request.len());
    let mut smuggled = q.request.clone();
    smuggled.extend_from_slice(&vec![0u8; mhe::wire::poly_bytes(&params())]);
    assert!(matches!(
        sites[0].decrypt(&smuggled),
        Err(Error::Malformed(_))
    ));
    assert_decrypts_to_the_sum(&mut sites, &q, &long);
}

#[test]
fn sealed_key_material_that_does_not_open_stops_key_generation() {
    let mut sites = new_sites(3, "default");
    let (_, mut shares) = join_all(&mut sites, 0, 2);
    // Every share seals key material for both peers, even without a threshold.
    for s in &shares {
        assert_eq!(KeygenShare::parse(s).unwrap().sealed.len(), 2);
    }
    // The analyst flips a bit of what site 2 sealed for site 1.
    let mut k = KeygenShare::parse(&shares[1]).unwrap();
    let last = k.sealed[0].1.len() - 1;
    k.sealed[0].1[last] ^= 1;
    shares[1] = KeygenShare::finish(k.signed.clone(), &k.sig, &k.sealed);
    let bundle = analyst::keygen_bundle(&refs(&shares), "site1").unwrap();
    let m = refused(sites[0].finalize(&bundle));
    assert!(m.contains("site2") && m.contains("does not open"), "{m}");
}

#[test]
fn a_second_request_with_another_decryptor_set_is_refused() {
    let mut sites = federation(3, "default", 2, 2);
    let n = names(&sites);
    let v = values(3);
    let q = pool_query(&mut sites, qid(1), &v, &n[..2]);
    assert_decrypts_to_the_sum(&mut sites[..2], &q, &v);
    for (a, b) in [(0, 2), (1, 2)] {
        let pair = [n[a].clone(), n[b].clone()];
        let (_, other) = analyst::pool(&refs(&q.contributions), &pair).unwrap();
        assert!(refused(sites[a].decrypt(&other)).contains("already decrypted"));
    }
    assert_eq!(decryptions(&sites[0]), 1);
}

#[test]
fn forged_attestations_and_substituted_ciphertexts_are_refused_or_decrypt_to_noise() {
    let (mut sites, v, q) = honest_query();
    let n = names(&sites);
    let p = params();
    // A forged signature on site 2's attestation.
    let mut r = DecryptRequest::parse(&q.request).unwrap();
    r.attestations[1].sig[7] ^= 0x10;
    assert!(refused(sites[0].decrypt(&r.encode(&p))).contains("signed"));
    // A forged digest with the genuine signature.
    let mut r = DecryptRequest::parse(&q.request).unwrap();
    r.attestations[2].cts_digest[0] ^= 1;
    assert!(refused(sites[1].decrypt(&r.encode(&p))).contains("signed"));
    // The site's own attestation replaced by another of its (signed) queries would
    // not verify either; its own digest must match what it contributed.
    // Site 2's ciphertext replaced by one the analyst encrypted (under its own key),
    // re-encoded with site 2's signature: pool recomputes the digest, the signature
    // no longer matches.
    let mut rng = SecretRng::from_seed_insecure([77; 32]);
    let (_, analyst_pk) = PublicKey::generate_pair(&p, &mut rng).unwrap();
    let fake = encrypt(
        &p,
        &analyst_pk,
        &encode(&p, &[1_i128 << 50; 8]).unwrap()[0],
        &mut rng,
    );
    let c1 = Contribution::parse(&q.contributions[1]).unwrap();
    let names_r = c1.names.clone();
    let replaced = Contribution::encode(
        &p,
        &SESSION,
        &c1.statement,
        &names_r,
        None,
        std::slice::from_ref(&fake.polys().0.clone()),
        &c1.sig,
    );
    let tampered = [
        q.contributions[0].clone(),
        replaced,
        q.contributions[2].clone(),
    ];
    let (_, bad_request) = analyst::pool(&refs(&tampered), &n).unwrap();
    for s in &mut sites {
        let m = refused(s.decrypt(&bad_request));
        assert!(
            m.contains("signed") || m.contains("own contribution"),
            "{m}"
        );
    }
    // The honest shares combined with the substituted c0 in site 2's place: noise.
    let mut forged = c0s_of(&q.contributions[0]);
    forged[0].add_assign(fake.polys().0, &p);
    add_all(&mut forged, &c0s_of(&q.contributions[2]));
    let got = decrypt_with_c0s(&mut sites, &q.request, &q.pooled, &forged);
    let mut truth = fixed_sums(&[v[0].clone(), v[2].clone()]);
    truth.iter_mut().for_each(|x| *x += 1_i128 << 50);
    assert!(all_differ(&got, &truth));
    assert!(all_differ(&got, &fixed_sums(&v)));
}

#[test]
fn contributions_of_two_queries_do_not_mix() {
    let mut sites = federation(3, "default", 0, 2);
    let n = names(&sites);
    let v = values(3);
    let a = contribute_all(&mut sites, qid(1), &v);
    let b = contribute_all(&mut sites, qid(2), &v);
    let mixed = [a[0].clone(), b[1].clone(), a[2].clone()];
    assert!(matches!(
        analyst::pool(&refs(&mixed), &n),
        Err(Error::InvalidArgument(_))
    ));
    // A request for query 1 carrying site 2's attestation from query 2.
    let (_, ra) = analyst::pool(&refs(&a), &n).unwrap();
    let (_, rb) = analyst::pool(&refs(&b), &n).unwrap();
    let mut r = DecryptRequest::parse(&ra).unwrap();
    r.attestations[1] = DecryptRequest::parse(&rb).unwrap().attestations[1].clone();
    for s in &mut sites {
        assert!(refused(s.decrypt(&r.encode(&params()))).contains("signed"));
    }
    // Nothing was used up: both queries still decrypt honestly.
    for req in [ra, rb] {
        let shares: Vec<Vec<u8>> = sites.iter_mut().map(|s| s.decrypt(&req).unwrap()).collect();
        assert_eq!(shares.len(), 3);
    }
}

#[test]
fn contributions_computed_from_other_arguments_do_not_pool_or_decrypt() {
    // The analyst sends `D$x` to one site and `D$y` to the others in one query, to
    // difference the result with an honest query: the arguments are signed.
    let mut sites = federation(3, "default", 0, 2);
    let n = names(&sites);
    let q = qid(1);
    let c: Vec<Vec<u8>> = sites
        .iter_mut()
        .enumerate()
        .map(|(i, s)| {
            let var = if i == 0 { "mean(D$x)" } else { "mean(D$y)" };
            s.contribute(q, &spec("sum", var, &n), &[1.0]).unwrap()
        })
        .collect();
    let m = match analyst::pool(&refs(&c), &n) {
        Err(Error::InvalidArgument(m)) => m,
        other => panic!("expected an error, got {:?}", other.map(|_| ())),
    };
    assert!(m.contains("other arguments"), "{m}");
    // Relabel site 1's contribution with the others' arguments so that it pools: the
    // request then names the majority's arguments, which site 1 did not compute with,
    // and site 1's signature no longer verifies for the others.
    let mut parts: Vec<Contribution> = c.iter().map(|b| Contribution::parse(b).unwrap()).collect();
    parts[0].statement.args = parts[1].statement.args;
    let relabelled: Vec<Vec<u8>> = parts
        .iter()
        .map(|p| {
            Contribution::encode(
                &params(),
                &SESSION,
                &p.statement,
                &p.names,
                p.dp.as_ref(),
                &p.c0s,
                &p.sig,
            )
        })
        .collect();
    let (_, request) = analyst::pool(&refs(&relabelled), &n).unwrap();
    let m = refused(sites[0].decrypt(&request));
    assert!(m.contains("other arguments"), "{m}");
    for s in &mut sites[1..] {
        let m = refused(s.decrypt(&request));
        assert!(m.contains("signed"), "{m}");
    }
    // Claiming site 1's arguments instead: the other sites refuse.
    let mut r = DecryptRequest::parse(&request).unwrap();
    r.args = Contribution::parse(&c[0]).unwrap().statement.args;
    for s in &mut sites[1..] {
        assert!(refused(s.decrypt(&r.encode(&params()))).contains("other arguments"));
    }
}

#[test]
fn a_roster_with_an_unpinned_member_is_refused() {
    let mut sites = new_sites(3, "default");
    let roster = roster_of(&sites);
    let fp: Vec<String> = sites.iter().map(|s| s.fingerprint().unwrap()).collect();
    let pinned = |pins: Vec<String>, min_parties| SitePolicy {
        min_parties,
        pinned: pins,
        ..SitePolicy::default()
    };
    let (m, kind) = refusal(sites[0].join(&roster, 0, &pinned(vec![fp[1].clone()], 2)));
    assert!(m.contains("site3") && m.contains("pinned"), "{m}");
    assert_eq!(kind, RefusalKind::PinMismatch);
    // No pins at all: refused unless the admin allowed unpinned rosters.
    let (m, kind) = refusal(sites[0].join(&roster, 0, &pinned(vec![], 2)));
    assert_eq!(kind, RefusalKind::Unpinned, "{m}");
    // A roster below min_parties, and one without the site, are refused too.
    assert!(refused(sites[0].join(&roster, 0, &open_policy(4))).contains("min.parties"));
    let others = roster_of(&sites[1..]);
    assert!(refused(sites[0].join(&others, 0, &open_policy(2))).contains("not in the roster"));
    // With both peers pinned (fingerprints in any case), it joins.
    let both = pinned(vec![fp[1].to_uppercase(), fp[2].clone()], 2);
    assert!(sites[0].join(&roster, 0, &both).is_ok());
    assert_eq!(sites[0].stage(), SetupStage::Joined);
    let (m, kind) = refusal(sites[0].join(&roster, 0, &both));
    assert!(m.contains("already"), "{m}");
    assert_eq!(kind, RefusalKind::State);
}

#[test]
fn a_reused_query_id_is_refused() {
    let mut sites = federation(2, "default", 0, 2);
    let n = names(&sites);
    sites[0]
        .contribute(qid(9), &spec("sum", "x", &n), &[1.0])
        .unwrap();
    assert!(
        refused(sites[0].contribute(qid(9), &spec("sum", "x", &n), &[1.0]))
            .contains("already used")
    );
    assert!(
        refused(sites[0].contribute(qid(9), &spec("mean", "y", &n), &[2.0, 3.0]))
            .contains("already used")
    );
    // A set without all roster sites (no threshold) and a set without the site.
    assert!(
        refused(sites[0].contribute(qid(10), &spec("sum", "x", &n[..1]), &[1.0]))
            .contains("min.parties")
    );
    assert!(
        sites[1]
            .contribute(qid(11), &spec("sum", "x", &n[..1]), &[1.0])
            .is_err()
    );
}

#[test]
fn partial_sums_differences_and_scalings_of_the_pool_decrypt_to_noise() {
    let k = 4;
    let mut sites = federation(k, "default", 0, 2);
    let n = names(&sites);
    let v = values(k);
    let p = params();
    let fixed: Vec<Vec<i128>> = v
        .iter()
        .map(|r| r.iter().map(|&x| real_to_fixed(x).unwrap()).collect())
        .collect();
    let query = |sites: &mut [Site], q: u32| {
        let query = pool_query(sites, qid(q), &v, &n);
        let c0s: Vec<Vec<Poly>> = query.contributions.iter().map(|b| c0s_of(b)).collect();
        (query.pooled, query.request, c0s)
    };
    let pool_of = |c0s: &[Vec<Poly>], who: &[usize]| -> Vec<Poly> {
        let mut acc = c0s[who[0]].clone();
        for &i in &who[1..] {
            add_all(&mut acc, &c0s[i]);
        }
        acc
    };
    // Control: the whole set decrypts to the sum.
    let (pooled, request, c0s) = query(&mut sites, 1);
    let all: Vec<usize> = (0..k).collect();
    assert_eq!(
        decrypt_with_c0s(&mut sites, &request, &pooled, &pool_of(&c0s, &all)),
        fixed_sums(&v)
    );

    // The pool minus the last contribution.
    let (pooled, request, c0s) = query(&mut sites, 2);
    let mut minus = pool_of(&c0s, &all);
    minus
        .iter_mut()
        .zip(&c0s[k - 1])
        .for_each(|(a, c)| a.sub_assign(c, &p));
    let got = decrypt_with_c0s(&mut sites, &request, &pooled, &minus);
    assert!(all_differ(&got, &fixed_sums(&v[..k - 1])));

    // Three of the four, summed directly.
    let (pooled, request, c0s) = query(&mut sites, 3);
    let got = decrypt_with_c0s(&mut sites, &request, &pooled, &pool_of(&c0s, &[0, 1, 3]));
    assert!(all_differ(
        &got,
        &fixed_sums(&[v[0].clone(), v[1].clone(), v[3].clone()])
    ));

    // One contribution scaled by 3.
    let (pooled, request, c0s) = query(&mut sites, 4);
    let mut scaled = c0s[0].clone();
    scaled.iter_mut().for_each(|c| c.mul_scalar_assign(3, &p));
    let got = decrypt_with_c0s(&mut sites, &request, &pooled, &scaled);
    let truth: Vec<i128> = fixed[0].iter().map(|x| 3 * x).collect();
    assert!(all_differ(&got, &truth));

    // The pool with one site counted twice.
    let (pooled, request, c0s) = query(&mut sites, 5);
    let mut twice = pool_of(&c0s, &all);
    add_all(&mut twice, &c0s[1]);
    let got = decrypt_with_c0s(&mut sites, &request, &pooled, &twice);
    let truth: Vec<i128> = fixed_sums(&v)
        .iter()
        .zip(&fixed[1])
        .map(|(s, x)| s + x)
        .collect();
    assert!(all_differ(&got, &truth));
    // Recovering site 2's values from the two decryptions fails as well.
    let diff: Vec<i128> = got
        .iter()
        .zip(fixed_sums(&v))
        .map(|(a, b)| a.wrapping_sub(b))
        .collect();
    assert!(all_differ(&diff, &fixed[1]));
}

#[test]
fn site_indices_at_the_top_of_their_range_give_errors_not_overflows() {
    // Found by the decoder fuzz: a message naming site u16::MAX made the analyst's
    // error messages overflow when numbering sites from 1.
    let p = params();
    let mut sites = federation(2, "default", 0, 2);
    let n = names(&sites);
    let v = values(2);
    let c = contribute_all(&mut sites, qid(1), &v);
    let mut forged = Contribution::parse(&c[1]).unwrap();
    forged.statement.site = u16::MAX;
    forged.statement.args[0] ^= 1;
    let forged = Contribution::encode(
        &p,
        &SESSION,
        &forged.statement,
        &forged.names,
        None,
        &forged.c0s,
        &forged.sig,
    );
    let m = match analyst::pool(&refs(&[c[0].clone(), forged]), &n) {
        Err(Error::InvalidArgument(m)) => m,
        other => panic!("expected an error, got {:?}", other.map(|_| ())),
    };
    assert!(m.contains("site 65536"), "{m}");
    // A decryption share for another query, from site u16::MAX.
    let q = common::pool_query(&mut sites, qid(2), &v, &n);
    let mut shares = common::decrypt_all(&mut sites, &q.request);
    let mut s = DecryptShare::parse(&shares[1]).unwrap();
    s.site = u16::MAX;
    s.query = qid(3);
    shares[1] = s.encode(&p);
    let e = analyst::combine_fixed(&q.pooled, &refs(&shares)).unwrap_err();
    assert!(e.to_string().contains("site 65536"), "{e}");
}
