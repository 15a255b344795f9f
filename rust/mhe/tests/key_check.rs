//! The aggregated-key check of setup: the analyst relays the sum of the key shares
//! instead of every share, and each site accepts it only when every member's signed
//! evaluations of its own share, at points derived from the aggregate, add up to the
//! aggregate's. An aggregate that leaves out, replaces or alters a share, and
//! evaluations that are missing, altered or made for another aggregate, are refused,
//! naming the member where one is to blame.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod common;

use common::{finalize_all, join_all, new_sites, refs};
use mhe::analyst;
use mhe::messages::{KeyEvaluation, KeygenBundle, KeygenShare};
use mhe::params::Params;
use mhe::protocols::{PublicKeyGenProtocol, PublicKeyGenShare};
use mhe::ring::Poly;
use mhe::site::{SetupStage, Site};
use mhe::wire::poly_bytes;

fn refused<T: std::fmt::Debug>(r: mhe::Result<T>) -> String {
    match r {
        Err(mhe::Error::Refused(x)) => x.message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A bundle for each site with `key` in the place of the aggregate.
fn with_key(bundle: &[u8], key: &Poly) -> Vec<u8> {
    let b = KeygenBundle::parse(bundle).unwrap();
    let params = Params::by_id(b.header.params_id).unwrap();
    let sealed: Vec<&[u8]> = b.sealed.iter().map(Vec::as_slice).collect();
    KeygenBundle::encode(&params, &b.header.session, b.recipient, key, &sealed)
}

/// Sites `site1..site3`, joined; their shares and the honest bundles.
fn joined() -> (Vec<Site>, Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let mut sites = new_sites(3, "default");
    let (_, shares) = join_all(&mut sites, 0, 2);
    let bundles = analyst::keygen_bundles(&refs(&shares))
        .unwrap()
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    (sites, shares, bundles)
}

/// Every site finalizes with its bundle in `bundles`; then each checks the
/// evaluations, as relayed by `relay` from the honest list; returns the outcomes.
fn confirm_all(
    sites: &mut [Site],
    bundles: &[Vec<u8>],
    relay: impl Fn(&[Vec<u8>]) -> Vec<u8>,
) -> Vec<mhe::Result<Vec<u8>>> {
    let evals: Vec<Vec<u8>> = sites
        .iter_mut()
        .zip(bundles)
        .map(|(s, b)| s.finalize(b).unwrap())
        .collect();
    let all = relay(&evals);
    sites.iter_mut().map(|s| s.confirm(&all)).collect()
}

fn honest_relay(evals: &[Vec<u8>]) -> Vec<u8> {
    let e = KeyEvaluation::parse(&evals[0]).unwrap();
    let params = Params::by_id(e.header.params_id).unwrap();
    KeyEvaluation::encode_all(&params, &e.header.session, &refs(evals))
}

/// The constant polynomial 1, NTT form.
fn one_ntt(params: &Params) -> Poly {
    let mut p = Poly::from_signed(params, &[1]);
    p.to_ntt(params);
    p
}

fn share_poly(share: &[u8], params: &Params) -> PublicKeyGenShare {
    PublicKeyGenShare::from_poly(KeygenShare::parse(share).unwrap().pk_share, params)
}

#[test]
fn the_sites_accept_the_honest_aggregate_and_derive_one_key() {
    let (mut sites, shares, bundles) = joined();
    let outcomes = confirm_all(&mut sites, &bundles, |e| {
        analyst::keygen_evaluations(&refs(&shares), &refs(e)).unwrap()
    });
    let confs: Vec<Vec<u8>> = outcomes.into_iter().map(Result::unwrap).collect();
    assert!(analyst::confirmations_check(&refs(&confs)).is_ok());
    assert!(sites.iter().all(|s| s.stage() == SetupStage::Ready));
}

#[test]
fn an_aggregate_that_leaves_out_or_replaces_a_share_is_refused_by_every_site() {
    let params = Params::by_name("default").unwrap();
    let ckg = PublicKeyGenProtocol::new(params.clone());
    // A share the analyst made itself (from another federation), to stand in for
    // site2's.
    let (_, strangers, _) = joined();
    let stranger = share_poly(&strangers[1], &params);
    for replace in [false, true] {
        let (mut sites, shares, bundles) = joined();
        let s: Vec<PublicKeyGenShare> = shares.iter().map(|b| share_poly(b, &params)).collect();
        let key = if replace {
            ckg.aggregate_shares([&s[0], &stranger, &s[2]])
        } else {
            ckg.aggregate_shares([&s[0], &s[2]])
        };
        let forged: Vec<Vec<u8>> = bundles.iter().map(|b| with_key(b, key.poly())).collect();
        for m in confirm_all(&mut sites, &forged, honest_relay) {
            let m = refused(m);
            assert!(m.contains("not the sum of the roster's key shares"), "{m}");
        }
        assert!(sites.iter().all(|s| s.stage() == SetupStage::Checking));
    }
}

#[test]
fn an_aggregate_off_in_one_coefficient_is_refused() {
    let params = Params::by_name("default").unwrap();
    let (mut sites, _, bundles) = joined();
    let mut key = KeygenBundle::parse(&bundles[0]).unwrap().key;
    key.to_coeff(&params);
    key.add_assign(&Poly::from_signed(&params, &[0, 0, 0, 0, 0, 1]), &params);
    key.to_ntt(&params);
    let forged: Vec<Vec<u8>> = bundles.iter().map(|b| with_key(b, &key)).collect();
    for m in confirm_all(&mut sites, &forged, honest_relay) {
        assert!(refused(m).contains("not the sum"));
    }
}

#[test]
fn altered_missing_or_misplaced_evaluations_are_refused_naming_the_site() {
    // site2's evaluations altered after signing.
    let (mut sites, _, bundles) = joined();
    let out = confirm_all(&mut sites, &bundles, |e| {
        let mut e = e.to_vec();
        let last = e[1].len() - 70;
        e[1][last] ^= 1;
        honest_relay(&e)
    });
    for m in out {
        let m = refused(m);
        assert!(m.contains("'site2'") && m.contains("not signed"), "{m}");
    }
    // site3's evaluations left out.
    let (mut sites, _, bundles) = joined();
    for m in confirm_all(&mut sites, &bundles, |e| honest_relay(&e[..2])) {
        let m = refused(m);
        assert!(m.contains("from 2 sites for a roster of 3"), "{m}");
    }
    // site2's evaluations in site3's place.
    let (mut sites, _, bundles) = joined();
    let out = confirm_all(&mut sites, &bundles, |e| {
        honest_relay(&[e[0].clone(), e[2].clone(), e[1].clone()])
    });
    for m in out {
        let m = refused(m);
        assert!(
            m.contains("'site2'") && m.contains("missing or out of place"),
            "{m}"
        );
    }
}

#[test]
fn sites_given_different_aggregates_refuse_naming_the_site_that_got_another() {
    let params = Params::by_name("default").unwrap();
    let (mut sites, _, mut bundles) = joined();
    let mut key = KeygenBundle::parse(&bundles[2]).unwrap().key;
    key.add_assign(&one_ntt(&params), &params);
    bundles[2] = with_key(&bundles[2], &key);
    let out = confirm_all(&mut sites, &bundles, honest_relay);
    for m in out.into_iter().take(2) {
        let m = refused(m);
        assert!(m.contains("'site3' received another collective key"), "{m}");
    }
}

#[test]
fn the_analyst_names_a_site_whose_evaluations_are_not_of_its_share() {
    let params = Params::by_name("default").unwrap();
    let (mut sites, mut shares, bundles) = joined();
    let evals: Vec<Vec<u8>> = sites
        .iter_mut()
        .zip(&bundles)
        .map(|(s, b)| s.finalize(b).unwrap())
        .collect();
    // The analyst holds another polynomial as site2's share than site2 evaluated.
    let mut k = KeygenShare::parse(&shares[1]).unwrap();
    k.pk_share.add_assign(&one_ntt(&params), &params);
    let body = KeygenShare::body(
        &params,
        &k.header.session,
        k.site,
        &k.name,
        &k.roster,
        k.threshold,
        &k.pk_share,
    );
    shares[1] = KeygenShare::finish(body, &k.sig, &k.sealed);
    let m = refused(analyst::keygen_evaluations(&refs(&shares), &refs(&evals)));
    assert!(
        m.contains("'site2'") && m.contains("not of its key share"),
        "{m}"
    );
}

#[test]
fn a_bundle_carries_one_polynomial_whatever_the_number_of_sites() {
    let params = Params::by_name("default").unwrap();
    for k in [3usize, 10] {
        let mut sites = new_sites(k, "default");
        let (_, shares) = join_all(&mut sites, 0, 2);
        let share_len = shares[0].len();
        for (_, b) in analyst::keygen_bundles(&refs(&shares)).unwrap() {
            // One packed polynomial plus at most 128 bytes of sealed material and
            // framing per member.
            assert!(b.len() < poly_bytes(&params) + 128 * k, "{} bytes", b.len());
            assert!(b.len() < share_len + 128 * k);
        }
        let evals = finalize_all(&mut sites, &shares);
        assert!(evals.iter().all(|e| e.len() < 300));
    }
}

#[test]
fn the_check_runs_in_order() {
    let (mut sites, shares, bundles) = joined();
    let evals = finalize_all(&mut sites[..1], &shares);
    assert_eq!(sites[0].stage(), SetupStage::Checking);
    let m = refused(sites[1].confirm(&honest_relay(&evals)));
    assert!(m.contains("not finished"), "{m}");
    let m = refused(sites[0].finalize(&bundles[0]));
    assert!(m.contains("not finished"), "{m}");
}
