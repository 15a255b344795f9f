//! Public-key switch to a recipient, and t-out-of-N threshold decryption, through the
//! protocols and through sites and the analyst.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs
)]

mod common;

use common::{
    Parties, Query, TestRng, column_sums, decrypt_all, federation, fixed_sums, int_vectors, names,
    pool_query, qid, refs,
};
use mhe::Error;
use mhe::analyst;
use mhe::ciphertext::decrypt;
use mhe::encoding::decode;
use mhe::keys::{PublicKey, SecretKey};
use mhe::messages::{DecryptRequest, Pooled};
use mhe::noise;
use mhe::params::Params;
use mhe::protocols::{
    Combiner, DecryptionLedger, KeySwitchProtocol, PublicKeySwitchProtocol, ShamirShare,
    Thresholdizer,
};

/// `k` parties of the `default` set, their randomness and CRP seeded with `seed`.
fn setup(k: usize, seed: u8) -> Parties {
    Parties::new(
        &Params::by_name("default").unwrap(),
        k,
        [seed; 32],
        [seed; 32],
    )
}

#[test]
fn the_recipient_decrypts_the_public_key_switched_pool_and_no_single_share_reveals_it() {
    let k = 4;
    let mut s = setup(k, 21);
    let len = s.params.values_per_ciphertext();
    let values = int_vectors(&mut TestRng::new(21), k, len);
    let expected = column_sums(&values);
    let ct = s.encrypt_and_pool_one(&values);
    let params = s.params.clone();
    let (sk_r, pk_r) = PublicKey::generate_pair(&params, &mut s.rng).unwrap();
    let pks = PublicKeySwitchProtocol::for_parties(params.clone(), k).unwrap();
    let mut ledgers: Vec<DecryptionLedger> = (0..k).map(|_| DecryptionLedger::new()).collect();
    let shares: Vec<_> = s
        .sks
        .iter()
        .zip(ledgers.iter_mut())
        .map(|(sk, l)| pks.gen_share(sk, &pk_r, &ct, l, &mut s.rng).unwrap())
        .collect();
    let switched = pks.key_switch(&ct, &pks.aggregate_shares(shares.iter()));
    let got = decode(&params, &[decrypt(&params, &sk_r, &switched)], len).unwrap();
    assert_eq!(got, expected);
    // The switched ciphertext is no longer under the collective key.
    let collective = SecretKey::ideal_sum(&params, &s.sks.iter().collect::<Vec<_>>());
    assert_ne!(
        decode(&params, &[decrypt(&params, &collective, &switched)], len).unwrap(),
        expected
    );
    // One party's share with the recipient's key: not the value (for every party).
    for (i, sh) in shares.iter().enumerate() {
        let one = pks.key_switch(&ct, &pks.aggregate_shares([sh]));
        let v = decode(&params, &[decrypt(&params, &sk_r, &one)], len).unwrap();
        let same = v.iter().zip(&expected).filter(|(a, b)| a == b).count();
        assert_eq!(same, 0, "party {i}'s share alone revealed {same} values");
    }
    // All shares but one: not the value either.
    let partial = pks.key_switch(&ct, &pks.aggregate_shares(&shares[1..]));
    let v = decode(&params, &[decrypt(&params, &sk_r, &partial)], len).unwrap();
    assert!(v.iter().zip(&expected).all(|(a, b)| a != b));
    // A second share for the same ciphertext is refused, whatever the target.
    let (_, pk_other) = PublicKey::generate_pair(&params, &mut s.rng).unwrap();
    let again = pks.gen_share(&s.sks[0], &pk_other, &ct, &mut ledgers[0], &mut s.rng);
    assert!(matches!(again, Err(Error::Refused(_))));
    let ks = KeySwitchProtocol::with_default_flooding(params.clone());
    assert!(matches!(
        ks.gen_share(&s.sks[0], None, &ct, &mut ledgers[0], &mut s.rng),
        Err(Error::Refused(_))
    ));
}

#[test]
fn flooding_widths_outside_the_documented_window_are_refused() {
    let params = Params::by_name("default").unwrap();
    let k = 3;
    let w = noise::flooding_bits(&params, k);
    assert!(PublicKeySwitchProtocol::new(params.clone(), k, w - 1).is_err());
    assert!(PublicKeySwitchProtocol::new(params.clone(), k, w + 3).is_err());
    assert!(KeySwitchProtocol::with_flooding(params.clone(), k, w - 1).is_err());
    assert!(KeySwitchProtocol::with_flooding(params.clone(), k, 0).is_err());
    assert!(KeySwitchProtocol::with_flooding(params.clone(), k, w).is_ok());
    assert!(PublicKeySwitchProtocol::new(params.clone(), k, w + 2).is_ok());
    assert_eq!(
        KeySwitchProtocol::new(params.clone(), k)
            .unwrap()
            .flooding_bits(),
        w
    );
}

#[test]
fn a_key_switch_is_sized_for_its_set_and_refuses_sets_the_margin_cannot_hold() {
    let params = Params::by_name("default").unwrap();
    let max = params.max_parties();
    assert!(KeySwitchProtocol::new(params.clone(), 0).is_err());
    assert!(KeySwitchProtocol::new(params.clone(), max + 1).is_err());
    assert!(PublicKeySwitchProtocol::for_parties(params.clone(), max + 1).is_err());
    let small = KeySwitchProtocol::new(params.clone(), 2).unwrap();
    let largest = KeySwitchProtocol::new(params.clone(), max).unwrap();
    assert!(small.flooding_bits() < largest.flooding_bits());
    assert_eq!(largest.flooding_bits(), params.flooding_bits());
    // Even the widest flooding keeps decryption exact for the largest set.
    assert!(noise::correctness_margin_bits(&params, max) >= noise::MIN_MARGIN_BITS);
}

/// Thresholdized keys of a `t`-of-`n` setup: party j's threshold secret.
fn thresholdize(s: &mut Parties, t: usize) -> Vec<SecretKey> {
    let n = s.sks.len();
    let th = Thresholdizer::new(s.params.clone());
    let polys: Vec<_> = s
        .sks
        .iter()
        .map(|sk| th.gen_polynomial(sk, t, &mut s.rng).unwrap())
        .collect();
    (0..n)
        .map(|j| {
            let received: Vec<ShamirShare> = polys
                .iter()
                .map(|p| th.gen_share(p, j as u64 + 1).unwrap())
                .collect();
            th.aggregate_shares(received.iter()).into_secret(&s.params)
        })
        .collect()
}

fn subsets(n: usize, t: usize) -> Vec<Vec<usize>> {
    (0u32..1 << n)
        .filter(|m| m.count_ones() as usize == t)
        .map(|m| (0..n).filter(|i| m >> i & 1 == 1).collect())
        .collect()
}

#[test]
fn every_three_subset_of_a_three_of_five_protocol_setup_decrypts_and_two_do_not() {
    let (n, t) = (5, 3);
    let mut s = setup(n, 22);
    let tsks = thresholdize(&mut s, t);
    let values = int_vectors(&mut TestRng::new(22), n, 40);
    let expected = column_sums(&values);
    let subsets3 = subsets(n, t);
    assert_eq!(subsets3.len(), 10);
    for set in &subsets3 {
        // A fresh ciphertext per subset: a party never decrypts one twice.
        let got = threshold_decrypt(&mut s, &tsks, set, t, &values);
        assert_eq!(got, expected, "subset {set:?}");
    }
    for pair in subsets(n, t - 1) {
        let points: Vec<u64> = pair.iter().map(|&i| i as u64 + 1).collect();
        // The combiner refuses fewer than t points ...
        let r = Combiner::new(s.params.clone(), points[0], t)
            .gen_additive_share(&points, &tsks[pair[0]]);
        assert!(matches!(r, Err(Error::InvalidArgument(_))));
        // ... and interpolating t-1 shares as if t were 2 gives noise, not the value.
        let got = threshold_decrypt(&mut s, &tsks, &pair, t - 1, &values);
        assert!(
            got.iter().zip(&expected).all(|(a, b)| a != b),
            "pair {pair:?} decrypted"
        );
    }
}

/// The parties of `set` decrypt a fresh pool of `values` with their thresholdized
/// keys `tsks`, each interpolating as if the threshold were `t`.
fn threshold_decrypt(
    s: &mut Parties,
    tsks: &[SecretKey],
    set: &[usize],
    t: usize,
    values: &[Vec<i128>],
) -> Vec<i128> {
    let ct = s.encrypt_and_pool_one(values);
    let ks = KeySwitchProtocol::with_default_flooding(s.params.clone());
    let points: Vec<u64> = set.iter().map(|&i| i as u64 + 1).collect();
    let shares: Vec<_> = set
        .iter()
        .map(|&i| {
            let add = Combiner::new(s.params.clone(), i as u64 + 1, t)
                .gen_additive_share(&points, &tsks[i])
                .unwrap();
            ks.gen_share(&add, None, &ct, &mut DecryptionLedger::new(), &mut s.rng)
                .unwrap()
        })
        .collect();
    let pt = ks.decrypt(&ct, &ks.aggregate_shares(shares.iter()));
    decode(&s.params, &[pt], values[0].len()).unwrap()
}

#[test]
fn every_three_subset_of_a_three_of_five_federation_decrypts() {
    let mut sites = federation(5, "default", 3, 3);
    let n = names(&sites);
    let values: Vec<Vec<f64>> = (0..5)
        .map(|i| vec![f64::from(i) + 0.25, -1.5 * f64::from(i), 1e9])
        .collect();
    let expected = fixed_sums(&values);
    for (q, set) in subsets(5, 3).iter().enumerate() {
        let dec: Vec<String> = set.iter().map(|&i| n[i].clone()).collect();
        let query = pool_query(&mut sites, qid(q as u32), &values, &dec);
        let shares: Vec<Vec<u8>> = set
            .iter()
            .map(|&i| sites[i].decrypt(&query.request).unwrap())
            .collect();
        assert_eq!(
            analyst::combine_fixed(&query.pooled, &refs(&shares)).unwrap(),
            expected,
            "subset {set:?}"
        );
        // Sites outside the subset refuse (they are not decryptors).
        for i in (0..5).filter(|i| !set.contains(i)) {
            let r = sites[i].decrypt(&query.request);
            assert!(matches!(r, Err(Error::Refused(_))));
        }
    }
}

#[test]
fn fewer_than_t_decryptors_are_refused_and_t_minus_one_shares_do_not_give_the_value() {
    let mut sites = federation(5, "default", 3, 3);
    let n = names(&sites);
    let values: Vec<Vec<f64>> = (0..5).map(|i| vec![f64::from(i), 2.0, -3.0]).collect();
    let expected = fixed_sums(&values);

    // A request naming two decryptors is refused by both.
    let request = pool_query(&mut sites, qid(50), &values, &n[..2]).request;
    for site in &mut sites[..2] {
        match site.decrypt(&request) {
            Err(Error::Refused(m)) => assert!(m.contains("threshold"), "{m}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    // Three decryptors, but only two shares reach the analyst: no value.
    let Query {
        pooled, request, ..
    } = pool_query(&mut sites, qid(51), &values, &n[..3]);
    let shares = decrypt_all(&mut sites[..2], &request);
    assert!(analyst::combine_fixed(&pooled, &refs(&shares)).is_err());
    let mut p = Pooled::parse(&pooled).unwrap();
    p.decryptors = vec![0, 1];
    let params = Params::by_id(p.header.params_id).unwrap();
    let forged = p.encode(&params);
    let got = analyst::combine_fixed(&forged, &refs(&shares)).unwrap();
    assert!(
        got.iter().zip(&expected).all(|(a, b)| a != b),
        "two shares gave {got:?}"
    );

    // The analyst cannot trim the decryptor list after the fact either: the third
    // site still serves the original request, and the sum of all three is right.
    let third = sites[2].decrypt(&request).unwrap();
    let all = [shares[0].clone(), shares[1].clone(), third];
    assert_eq!(
        analyst::combine_fixed(&pooled, &refs(&all)).unwrap(),
        expected
    );
    // A request rewritten to two decryptors is refused by a site that has not served.
    let request = pool_query(&mut sites, qid(52), &values, &n[..3]).request;
    let mut r = DecryptRequest::parse(&request).unwrap();
    r.decryptors = vec![3, 4];
    assert!(matches!(
        sites[3].decrypt(&r.encode(&params)),
        Err(Error::Refused(_))
    ));
}
