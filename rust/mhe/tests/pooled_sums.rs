//! Exact pooled sums for K in {1, 2, 3, 10, 100} parties, over the whole documented
//! range, for vectors of length 1, V-1, V, 3V+5 (V values per ciphertext) and N-1, N,
//! 3N+5 (N the ring degree): integers through the protocols, reals through sites and
//! the analyst.
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
    Parties, Query, TestRng, column_sums, decrypt_all, federation, fixed_sums, int_vectors, names,
    pool_query, qid, real_vectors, refs, spec,
};
use mhe::analyst;
use mhe::encoding::{self, MAX_ABS_INTEGER, MAX_ABS_REAL, encode, fixed_to_real};
use mhe::params::Params;
use mhe::protocols::KeySwitchProtocol;
use mhe::{Error, site::Site};

/// Lengths to test for a set: around the values per ciphertext and the ring degree.
fn lengths(params: &Params) -> Vec<usize> {
    let v = params.values_per_ciphertext();
    let n = params.n();
    let mut l = vec![1, v - 1, v, 3 * v + 5, n - 1, n, 3 * n + 5];
    l.sort_unstable();
    l.dedup();
    l
}

/// K parties generate a collective key, encrypt their vectors, the ciphertexts are
/// summed, and the K parties decrypt the sum by a key switch to the zero key.
fn pool_integers(params: &Arc<Params>, values: &[Vec<i128>], seed: u8) -> Vec<i128> {
    let len = values[0].len();
    let mut parties = Parties::new(params, values.len(), [seed; 32], [seed ^ 0x5A; 32]);
    let pooled = parties.encrypt_and_pool(values);
    assert_eq!(pooled.len(), encoding::num_plaintexts(params, len));
    let ks = KeySwitchProtocol::with_default_flooding(params.clone());
    parties.decrypt_pooled(&ks, &pooled, len)
}

fn check_integers(set: &str, k: usize, seed: u8) {
    let params = Params::by_name(set).unwrap();
    let mut rng = TestRng::new(u64::from(seed) * 1000 + k as u64);
    for len in lengths(&params) {
        let values = int_vectors(&mut rng, k, len);
        let got = pool_integers(&params, &values, seed);
        let expected = column_sums(&values);
        assert_eq!(got.len(), len);
        assert!(
            got == expected,
            "{set}: K = {k}, length {len}: pooled sum is not exact"
        );
        // The extremes really were at the edge of the range.
        assert_eq!(got[0], k as i128 * MAX_ABS_INTEGER);
    }
}

#[test]
fn integer_sums_are_exact_for_one_party() {
    check_integers("default", 1, 1);
}

#[test]
fn integer_sums_are_exact_for_two_parties() {
    check_integers("default", 2, 2);
}

#[test]
fn integer_sums_are_exact_for_three_parties() {
    check_integers("default", 3, 3);
}

#[test]
fn integer_sums_are_exact_for_ten_parties() {
    check_integers("default", 10, 4);
}

#[test]
fn integer_sums_are_exact_for_a_hundred_parties() {
    check_integers("default", 100, 5);
}

#[test]
fn integer_sums_are_exact_under_the_large_set() {
    check_integers("large", 3, 6);
}

#[test]
fn values_beyond_the_range_are_typed_errors_before_encryption() {
    let params = Params::by_name("default").unwrap();
    for bad in [
        MAX_ABS_INTEGER + 1,
        -MAX_ABS_INTEGER - 1,
        i128::MAX,
        i128::MIN,
    ] {
        assert!(
            matches!(encode(&params, &[0, bad]), Err(Error::OutOfRange { .. })),
            "{bad}"
        );
    }
    assert!(encode(&params, &[MAX_ABS_INTEGER, -MAX_ABS_INTEGER]).is_ok());
    // A site refuses a real beyond the range without using up the query id.
    let mut sites = federation(2, "default", 0, 2);
    let n = names(&sites);
    for bad in [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        MAX_ABS_REAL * 2.0,
        -MAX_ABS_REAL * 1.5,
    ] {
        let r = sites[0].contribute(qid(1), &spec("sum", "x", &n), &[1.0, bad]);
        assert!(
            matches!(r, Err(Error::OutOfRange { index: 2, .. })),
            "{bad}: {r:?}"
        );
        // The message travels to the analyst: it names the rule and the position,
        // never the value.
        let text = r.unwrap_err().to_string();
        assert!(text.contains("value 2"), "{text}");
        assert!(!text.contains("NaN") && !text.contains("-inf"), "{text}");
        if bad.is_finite() {
            assert!(!text.contains(&format!("{bad}")), "{text}");
            assert!(!text.contains(&format!("{bad:e}")), "{text}");
        }
    }
    let got = run_reals(
        &mut sites,
        qid(1),
        &[vec![MAX_ABS_REAL, 1.0], vec![MAX_ABS_REAL, -0.5]],
    );
    assert_eq!(got, vec![2.0 * MAX_ABS_REAL, 0.5]);
}

fn run_reals(sites: &mut [Site], query: [u8; 16], values: &[Vec<f64>]) -> Vec<f64> {
    let n = names(sites);
    let q = pool_query(sites, query, values, &n);
    let shares = decrypt_all(sites, &q.request);
    analyst::combine(&q.pooled, &refs(&shares)).unwrap()
}

fn check_reals(k: usize, seed: u64) {
    let mut sites = federation(k, "default", 0, k.min(2));
    let params = sites[0].params().clone();
    let mut rng = TestRng::new(seed);
    for (q, len) in lengths(&params).into_iter().enumerate() {
        let values = real_vectors(&mut rng, k, len);
        let n = names(&sites);
        let Query {
            pooled, request, ..
        } = pool_query(&mut sites, qid(100 + q as u32), &values, &n);
        let shares = decrypt_all(&mut sites, &request);
        let exact = analyst::combine_fixed(&pooled, &refs(&shares)).unwrap();
        let expected = fixed_sums(&values);
        assert!(
            exact == expected,
            "K = {k}, length {len}: pooled fixed-point sum is not exact"
        );
        let reals = analyst::combine(&pooled, &refs(&shares)).unwrap();
        let expected_reals: Vec<f64> = expected.iter().map(|&v| fixed_to_real(v)).collect();
        assert!(
            reals == expected_reals,
            "K = {k}, length {len}: reals differ"
        );
        assert_eq!(reals[0], k as f64 * MAX_ABS_REAL);
        if len > 1 {
            assert_eq!(reals[1], -(k as f64) * MAX_ABS_REAL);
        }
    }
}

#[test]
fn real_sums_through_sites_are_exact_for_one_site() {
    check_reals(1, 11);
}

#[test]
fn real_sums_through_sites_are_exact_for_two_sites() {
    check_reals(2, 12);
}

#[test]
fn real_sums_through_sites_are_exact_for_three_sites() {
    check_reals(3, 13);
}

#[test]
fn real_sums_through_sites_are_exact_for_ten_sites() {
    check_reals(10, 14);
}
