//! Values packed to their width, through the `Site` API: declared layouts pool
//! exactly at several widths and set sizes, with negative values and the extremes of
//! each width; one past the bound is refused; a pool refuses mixed layouts; what
//! travels (switched, cut `c0`s and shares) shrinks and decrypts exactly; decoders
//! refuse altered layouts and coefficient counts.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs
)]

mod common;

use common::{decrypt_all, federation, names, qid, refs, spec};
use mhe::analyst;
use mhe::encoding::{Layout, WIDTH_RULE, Width};
use mhe::messages::{Contribution, DecryptShare, Pooled};
use mhe::site::Site;
use mhe::{Error, FRAC_BITS};

/// Every site contributes its values at `layout` to `query`; the analyst pools them,
/// every site decrypts, and the exact pooled integers come back.
fn round(sites: &mut [Site], query: u32, values: &[Vec<f64>], layout: &Layout) -> Vec<i128> {
    let n = names(sites);
    let blobs: Vec<Vec<u8>> = sites
        .iter_mut()
        .zip(values)
        .map(|(s, v)| {
            s.contribute_with_layout(qid(query), &spec("table", "x", &n), v, layout)
                .unwrap()
        })
        .collect();
    let (pooled, request) = analyst::pool(&refs(&blobs), &n).unwrap();
    let shares = decrypt_all(sites, &request);
    analyst::combine_fixed(&pooled, &refs(&shares)).unwrap()
}

fn column_sums(values: &[Vec<f64>]) -> Vec<i128> {
    (0..values[0].len())
        .map(|i| values.iter().map(|v| v[i] as i128).sum())
        .collect()
}

#[test]
fn declared_widths_pool_exactly_at_their_extremes_for_several_set_sizes() {
    for (set, k) in [("default", 2usize), ("default", 5), ("large", 3)] {
        let mut sites = federation(k, set, 0, 2);
        let l = k.next_power_of_two().trailing_zeros();
        let mut query = 0;
        for bits in [8u32, 19, 20, 34, 53] {
            let room = bits - l - 1;
            let hi = ((1u64 << room) - 1) as f64;
            let lo = -((1u64 << room) as f64);
            let w = Width::integer(bits).unwrap();
            let layout = Layout::from_widths(&[w, w, w, w, Width::FULL]);
            let values: Vec<Vec<f64>> = (0..k)
                .map(|i| vec![hi, lo, i as f64 - 1.0, 0.0, 0.25])
                .collect();
            query += 1;
            let got = round(&mut sites, query, &values, &layout);
            let mut expected = column_sums(&values);
            expected[4] = (k as i128) << (FRAC_BITS - 2);
            assert_eq!(got, expected, "{set}, {k} sites, {bits} bits");
            // One past the bound, either side, is refused before anything leaves.
            let n = names(&sites);
            for bad in [hi + 1.0, lo - 1.0] {
                query += 1;
                let e = sites[0]
                    .contribute_with_layout(
                        qid(query),
                        &spec("table", "x", &n),
                        &[0.0, 0.0, bad, 0.0, 0.0],
                        &layout,
                    )
                    .unwrap_err();
                assert_eq!(
                    e,
                    Error::OutOfRange {
                        rule: WIDTH_RULE,
                        index: 3
                    }
                );
            }
        }
    }
}

#[test]
fn reals_at_full_width_pool_as_before_and_combine_gives_integers_as_integers() {
    let mut sites = federation(3, "default", 0, 2);
    let n = names(&sites);
    let w = Width::integer(34).unwrap();
    let layout = Layout::from_widths(&[Width::FULL, w, w]);
    let values: Vec<Vec<f64>> = (0..3)
        .map(|i| vec![1.5 * f64::from(i) - 7.25, f64::from(i) * 1000.0, 3.0])
        .collect();
    let blobs: Vec<Vec<u8>> = sites
        .iter_mut()
        .zip(&values)
        .map(|(s, v)| {
            s.contribute_with_layout(qid(1), &spec("mean", "x", &n), v, &layout)
                .unwrap()
        })
        .collect();
    let (pooled, request) = analyst::pool(&refs(&blobs), &n).unwrap();
    let shares = decrypt_all(&mut sites, &request);
    let got = analyst::combine(&pooled, &refs(&shares)).unwrap();
    assert_eq!(got, vec![4.5 - 21.75, 3000.0, 9.0]);
}

#[test]
fn a_pool_refuses_contributions_of_different_layouts() {
    let mut sites = federation(3, "default", 0, 2);
    let n = names(&sites);
    let narrow = Layout::from_widths(&[Width::integer(34).unwrap(); 2]);
    let wide = Layout::from_widths(&[Width::integer(40).unwrap(); 2]);
    let blobs: Vec<Vec<u8>> = sites
        .iter_mut()
        .enumerate()
        .map(|(i, s)| {
            let layout = if i == 1 { &wide } else { &narrow };
            s.contribute_with_layout(qid(1), &spec("table", "x", &n), &[1.0, 2.0], layout)
                .unwrap()
        })
        .collect();
    let e = analyst::pool(&refs(&blobs), &n).unwrap_err().to_string();
    assert!(e.contains("site2") && e.contains("other widths"), "{e}");
}

#[test]
fn counts_travel_in_far_fewer_bytes_than_reals_and_shares_shrink_with_them() {
    let mut sites = federation(3, "default", 0, 2);
    let n = names(&sites);
    let counts: Vec<f64> = (0..4000).map(f64::from).collect();
    let narrow = Layout::from_widths(&vec![Width::integer(34).unwrap(); counts.len()]);
    let contribute = |s: &mut Site, q: u32, layout: &Layout| {
        s.contribute_with_layout(qid(q), &spec("table", "x", &n), &counts, layout)
            .unwrap()
    };
    let packed: Vec<Vec<u8>> = sites
        .iter_mut()
        .map(|s| contribute(s, 1, &narrow))
        .collect();
    let full: Vec<Vec<u8>> = sites
        .iter_mut()
        .map(|s| contribute(s, 2, &Layout::full(counts.len())))
        .collect();
    // 2 coefficients of 31 bits per count against 7, and 108 bits per coefficient
    // before modulus switching.
    assert!(
        packed[0].len() * 3 < full[0].len(),
        "{} vs {}",
        packed[0].len(),
        full[0].len()
    );
    let old_bytes = mhe::encoding::num_plaintexts(&mhe::Params::by_name("default").unwrap(), 4000)
        * mhe::wire::poly_bytes(&mhe::Params::by_name("default").unwrap());
    assert!(
        packed[0].len() * 15 < old_bytes,
        "{} vs {old_bytes}",
        packed[0].len()
    );
    let (pooled, request) = analyst::pool(&refs(&packed), &n).unwrap();
    let shares = decrypt_all(&mut sites, &request);
    assert!(shares[0].len() * 15 < old_bytes);
    let got = analyst::combine(&pooled, &refs(&shares)).unwrap();
    let expected: Vec<f64> = counts.iter().map(|c| 3.0 * c).collect();
    assert_eq!(got, expected);
}

#[test]
fn decoders_refuse_altered_layouts_and_coefficient_counts() {
    let mut sites = federation(3, "default", 0, 2);
    let n = names(&sites);
    let layout = Layout::from_widths(&[Width::integer(34).unwrap(); 5]);
    let blobs: Vec<Vec<u8>> = sites
        .iter_mut()
        .map(|s| {
            s.contribute_with_layout(qid(1), &spec("table", "x", &n), &[1.0; 5], &layout)
                .unwrap()
        })
        .collect();
    let (pooled, request) = analyst::pool(&refs(&blobs), &n).unwrap();
    let shares = decrypt_all(&mut sites, &request);
    let c = Contribution::parse(&blobs[0]).unwrap();
    assert_eq!(c.statement.layout.parties(), 3);
    assert_eq!(c.c0s.len(), 1);
    assert_eq!(c.c0s[0].len(), 10); // 5 counts x 2 coefficients
    // The layout sits right after n_values (u32 = 5): parties u16, runs u32, then
    // (count u32, bits u8, frac u8).
    let at = |blob: &[u8]| {
        let pat = [5u8, 0, 0, 0, 3, 0, 1, 0, 0, 0, 5, 0, 0, 0, 34, 0];
        blob.windows(pat.len())
            .position(|w| w == pat)
            .expect("layout bytes")
    };
    let i = at(&blobs[0]);
    let altered = |offset: usize, byte: u8| {
        let mut b = blobs[0].clone();
        b[i + offset] = byte;
        Contribution::parse(&b)
    };
    assert!(altered(4, 0).is_err(), "0 parties");
    assert!(altered(5, 0xFF).is_err(), "too many parties");
    assert!(altered(6, 9).is_err(), "9 runs for 5 values");
    assert!(altered(10, 4).is_err(), "runs hold 4 values, not 5");
    assert!(altered(14, 1).is_err(), "1 bit");
    assert!(altered(15, 7).is_err(), "7 fractional bits");
    // A wider width changes the coefficient count: the c0 no longer matches.
    assert!(altered(14, 60).is_err());
    // A polynomial claiming more coefficients than N, or than the bytes present.
    let mut w = mhe::wire::Writer::new(
        mhe::wire::Kind::DecryptShare,
        &mhe::Params::by_name("default").unwrap(),
        &common::SESSION,
    );
    w.u16(1).fixed(&qid(1)).count(1).count(5000);
    assert!(DecryptShare::parse(&w.finish()).is_err());
    let mut w = mhe::wire::Writer::new(
        mhe::wire::Kind::DecryptShare,
        &mhe::Params::by_name("default").unwrap(),
        &common::SESSION,
    );
    w.u16(1)
        .fixed(&qid(1))
        .count(1)
        .count(4096)
        .fixed(&[0; 100]);
    assert!(matches!(
        DecryptShare::parse(&w.finish()),
        Err(Error::Truncated { .. })
    ));
    // A share cut to another number of coefficients is refused by combine.
    let mut s = DecryptShare::parse(&shares[0]).unwrap();
    let p = mhe::Params::by_name("default").unwrap();
    let longer = mhe::ciphertext::Switched::from_coeffs(&p, vec![0; 11]);
    s.shares[0] = longer;
    let mut others = shares.clone();
    others[0] = s.encode(&p);
    let e = analyst::combine(&pooled, &refs(&others))
        .unwrap_err()
        .to_string();
    assert!(e.contains("other coefficients"), "{e}");
    Pooled::parse(&pooled).unwrap();
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(400))]

    /// Random bytes read as a layout or as a switched polynomial are typed errors or
    /// valid values, never a panic; a forged count cannot reserve memory (every count
    /// is checked against the bytes present first).
    #[test]
    fn random_layout_and_polynomial_bytes_never_panic(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
        n_values in 0usize..64,
    ) {
        let params = mhe::Params::by_name("default").unwrap();
        if let Ok(layout) = mhe::wire::Reader::bare(&bytes).layout(n_values) {
            proptest::prop_assert_eq!(layout.len(), n_values);
            proptest::prop_assert!((1..=1000).contains(&layout.parties()));
        }
        if let Ok(p) = mhe::wire::Reader::bare(&bytes).switched(&params) {
            proptest::prop_assert!(p.len() <= params.n());
        }
    }
}

#[test]
fn a_forged_run_or_coefficient_count_is_refused_before_allocation() {
    let params = mhe::Params::by_name("default").unwrap();
    // 1000 parties, u32::MAX runs, nothing behind.
    let mut bytes = vec![0xE8, 0x03];
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(mhe::wire::Reader::bare(&bytes).layout(1 << 24).is_err());
    // 4096 coefficients announced, 10 bytes present.
    let mut bytes = 4096u32.to_le_bytes().to_vec();
    bytes.extend_from_slice(&[0; 10]);
    assert!(matches!(
        mhe::wire::Reader::bare(&bytes).switched(&params),
        Err(Error::Truncated { .. })
    ));
}
