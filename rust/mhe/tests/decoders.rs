//! Decoders never panic: random bytes, random bodies behind a valid header, truncated,
//! bit-flipped and length-overwritten valid blobs of every kind, through every public
//! parse function, every analyst function and the site's join, finalize, confirm and
//! decrypt.
//! proptest turns a panic into a failure; a strict prefix of a valid blob must be an
//! error for its own parser.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs
)]

mod common;

use std::cell::RefCell;

use common::{
    contribute_all, decrypt_all, finalize_all, finish_keygen, join_all, names, new_sites, qid,
    refs, roster_of,
};
use mhe::analyst;
use mhe::messages::{
    Confirmation, Contribution, DecryptRequest, DecryptShare, Identity, KeyEvaluation,
    KeygenBundle, KeygenShare, Pooled, Roster,
};
use mhe::site::Site;
use mhe::wire::HEADER_LEN;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

const KINDS: [&str; 11] = [
    "identity",
    "roster",
    "keygen share",
    "bundle",
    "confirmation",
    "contribution",
    "pooled",
    "request",
    "share",
    "key evaluation",
    "key evaluations",
];

/// Valid blobs of every kind, and sites in the state where each blob is expected.
struct Fixtures {
    blobs: Vec<Vec<u8>>,
    identities: Vec<Vec<u8>>,
    keygen_shares: Vec<Vec<u8>>,
    confirmations: Vec<Vec<u8>>,
    contributions: Vec<Vec<u8>>,
    shares: Vec<Vec<u8>>,
    names: Vec<String>,
    /// Contributed to the query of `blobs[7]`, has not decrypted.
    decryptor: RefCell<Site>,
    /// Joined, not finalized; `blobs[3]` is its bundle.
    finalizer: RefCell<Site>,
    /// Finalized, not confirmed; `blobs[10]` is its evaluations.
    confirmer: RefCell<Site>,
    /// In the roster `joiner_roster`, not joined.
    joiner: RefCell<Site>,
    joiner_roster: Vec<u8>,
}

fn fixtures() -> Fixtures {
    let threshold = 2;
    // A finished federation, two queries.
    let mut sites = new_sites(3, "default");
    let (roster, keygen_shares) = join_all(&mut sites, threshold, 2);
    let bundle0 = analyst::keygen_bundles(&refs(&keygen_shares)).unwrap();
    let confirmations = finish_keygen(&mut sites, &keygen_shares);
    let n = names(&sites);
    let values: Vec<Vec<f64>> = (0..3).map(|i| vec![f64::from(i), 0.5, -2.0]).collect();
    let contributions = contribute_all(&mut sites, qid(1), &values);
    let (pooled, request1) = analyst::pool(&refs(&contributions), &n[1..]).unwrap();
    let shares = decrypt_all(&mut sites[1..], &request1);
    let c2 = contribute_all(&mut sites, qid(2), &values);
    let (_, request2) = analyst::pool(&refs(&c2), &n[..2]).unwrap();
    let identities: Vec<Vec<u8>> = sites.iter().map(|s| s.identity().unwrap()).collect();
    // A federation whose first site joined but did not finalize.
    let mut f2 = new_sites(3, "default");
    let (_, s2) = join_all(&mut f2, threshold, 2);
    let bundle2 = analyst::keygen_bundles(&refs(&s2))
        .unwrap()
        .swap_remove(0)
        .1;
    // A federation whose sites received their bundles, not the evaluations.
    let mut f4 = new_sites(3, "default");
    let (_, s4) = join_all(&mut f4, threshold, 2);
    let evals4 = finalize_all(&mut f4, &s4);
    let all4 = analyst::keygen_evaluations(&refs(&s4), &refs(&evals4)).unwrap();
    // A roster whose first site has not joined.
    let f3 = new_sites(3, "default");
    let r3 = roster_of(&f3);
    let mut it = sites.into_iter();
    let decryptor = it.next().unwrap();
    let blobs = vec![
        identities[0].clone(),
        roster,
        keygen_shares[0].clone(),
        bundle2,
        confirmations[0].clone(),
        contributions[0].clone(),
        pooled,
        request2,
        shares[0].clone(),
        evals4[0].clone(),
        all4,
    ];
    assert!(!bundle0.is_empty());
    Fixtures {
        blobs,
        identities,
        keygen_shares,
        confirmations,
        contributions,
        shares,
        names: n,
        decryptor: RefCell::new(decryptor),
        finalizer: RefCell::new(f2.into_iter().next().unwrap()),
        confirmer: RefCell::new(f4.into_iter().next().unwrap()),
        joiner: RefCell::new(f3.into_iter().next().unwrap()),
        joiner_roster: r3,
    }
}

/// Every parser of the crate on `b`; returns whether the parser of `kind` accepted it.
fn parse_all(b: &[u8], kind: usize) -> bool {
    let ok = [
        Identity::parse(b).is_ok(),
        Roster::parse(b).is_ok(),
        KeygenShare::parse(b).is_ok(),
        KeygenBundle::parse(b).is_ok(),
        Confirmation::parse(b).is_ok(),
        Contribution::parse(b).is_ok(),
        Pooled::parse(b).is_ok(),
        DecryptRequest::parse(b).is_ok(),
        DecryptShare::parse(b).is_ok(),
        KeyEvaluation::parse(b).is_ok(),
        KeyEvaluation::parse_all(b).is_ok(),
    ];
    let _ = analyst::blob_info(b);
    let _ = analyst::roster_info(b);
    ok[kind]
}

/// Every analyst and site function that takes a blob, with `b` in the place of one.
fn exercise(fx: &Fixtures, b: &[u8]) {
    let with = |list: &[Vec<u8>]| -> Vec<Vec<u8>> {
        let mut v = list.to_vec();
        v[0] = b.to_vec();
        v
    };
    let _ = analyst::roster_build(&refs(&with(&fx.identities)));
    let _ = analyst::keygen_bundles(&refs(&with(&fx.keygen_shares)));
    let _ = analyst::keygen_bundles(&[b]);
    let _ = analyst::keygen_evaluations(&refs(&fx.keygen_shares), &[b]);
    let _ = analyst::keygen_evaluations(&[b], &refs(&fx.keygen_shares));
    let _ = analyst::confirmations_check(&refs(&with(&fx.confirmations)));
    let _ = analyst::pool(&refs(&with(&fx.contributions)), &fx.names);
    let _ = analyst::pool(&[b], &fx.names[..1]);
    let _ = analyst::combine(b, &refs(&fx.shares));
    let _ = analyst::combine_fixed(&fx.blobs[6], &refs(&with(&fx.shares)));
    let _ = fx.joiner.borrow_mut().join(b, 2, &common::open_policy(2));
    let _ = fx.finalizer.borrow_mut().finalize(b);
    let _ = fx.confirmer.borrow_mut().confirm(b);
    let _ = fx.decryptor.borrow_mut().decrypt(b);
}

/// Feeds `b` to every parser and to every function that takes a blob: none may panic.
fn feed_everywhere(fx: &Fixtures, b: &[u8]) {
    for k in 0..KINDS.len() {
        let _ = parse_all(b, k);
    }
    exercise(fx, b);
}

/// Runs `case` on `cases` values drawn from `strategy`, with one set of fixtures.
fn check<S: Strategy>(
    cases: u32,
    strategy: S,
    case: impl Fn(&Fixtures, S::Value) -> Result<(), TestCaseError>,
) {
    let fx = fixtures();
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new(config)
        .run(&strategy, |v| case(&fx, v))
        .unwrap();
}

/// A byte position in a blob of `len` bytes: among the first 300, where the lengths
/// are, or anywhere.
fn position(at: &Index, len: usize, near_start: bool) -> usize {
    at.index(if near_start { len.min(300) } else { len })
}

#[test]
fn the_fixtures_are_valid_blobs_of_their_kind() {
    let fx = fixtures();
    for (k, b) in fx.blobs.iter().enumerate() {
        assert!(parse_all(b, k), "fixture {} does not parse", KINDS[k]);
        assert_eq!(
            (0..KINDS.len()).filter(|&j| parse_all(b, j)).count(),
            1,
            "{} parses as another kind",
            KINDS[k]
        );
    }
    assert!(
        fx.joiner
            .borrow_mut()
            .join(&fx.joiner_roster, 2, &common::open_policy(2))
            .is_ok()
    );
    assert!(fx.finalizer.borrow_mut().finalize(&fx.blobs[3]).is_ok());
    assert!(fx.confirmer.borrow_mut().confirm(&fx.blobs[10]).is_ok());
    assert!(fx.decryptor.borrow_mut().decrypt(&fx.blobs[7]).is_ok());
}

#[test]
fn random_bytes_are_typed_errors() {
    let strategy = proptest::collection::vec(any::<u8>(), 0..600);
    check(256, strategy, |fx, b| {
        for k in 0..KINDS.len() {
            prop_assert!(!parse_all(&b, k));
        }
        exercise(fx, &b);
        Ok(())
    });
}

#[test]
fn random_bodies_behind_a_valid_header_are_typed_errors() {
    let strategy = (
        0..KINDS.len(),
        proptest::collection::vec(any::<u8>(), 0..2000),
    );
    check(256, strategy, |fx, (k, body)| {
        let mut b = fx.blobs[k][..HEADER_LEN].to_vec();
        b.extend_from_slice(&body);
        feed_everywhere(fx, &b);
        Ok(())
    });
}

#[test]
fn truncated_blobs_are_errors() {
    let strategy = (0..KINDS.len(), any::<Index>());
    check(256, strategy, |fx, (k, at)| {
        let full = &fx.blobs[k];
        // Half the cases cut inside the first 300 bytes, where the lengths are.
        let cut = position(&at, full.len(), at.index(2) == 0);
        let b = &full[..cut];
        prop_assert!(
            !parse_all(b, k),
            "a {}-byte prefix of a {} parsed",
            cut,
            KINDS[k]
        );
        exercise(fx, b);
        Ok(())
    });
}

#[test]
fn bit_flipped_blobs_never_panic() {
    let flips = (any::<Index>(), 0..8u8, any::<bool>());
    let strategy = (0..KINDS.len(), proptest::collection::vec(flips, 1..4));
    check(256, strategy, |fx, (k, flips)| {
        let mut b = fx.blobs[k].clone();
        for (at, bit, near_start) in flips {
            let i = position(&at, b.len(), near_start);
            b[i] ^= 1 << bit;
        }
        feed_everywhere(fx, &b);
        Ok(())
    });
}

#[test]
fn header_flips_are_errors() {
    // A flip in the header's magic, version or kind is always an error.
    let strategy = (0..KINDS.len(), 0..5usize, 0..8u8);
    check(128, strategy, |fx, (k, i, bit)| {
        let mut b = fx.blobs[k].clone();
        b[i] ^= 1 << bit;
        prop_assert!(!parse_all(&b, k));
        exercise(fx, &b);
        Ok(())
    });
}

#[test]
fn overwritten_lengths_never_panic_or_overallocate() {
    let values = prop_oneof![
        Just(0u32),
        Just(1u32),
        Just(u32::MAX),
        Just(u32::MAX / 2),
        Just(1u32 << 24),
        Just(1001u32),
        any::<u32>()
    ];
    let strategy = (0..KINDS.len(), any::<Index>(), values);
    check(256, strategy, |fx, (k, at, v)| {
        let mut b = fx.blobs[k].clone();
        let span = b.len().min(400) - 4;
        let i = HEADER_LEN.min(span) + at.index(span - HEADER_LEN.min(span) + 1);
        b[i..i + 4].copy_from_slice(&v.to_le_bytes());
        feed_everywhere(fx, &b);
        Ok(())
    });
}
