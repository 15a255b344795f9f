//! Noise: the key-switch share carries uniform flooding over `[-2^w, 2^w)`, and the
//! measured noise of fresh pooled ciphertexts and of pooled decryptions stays under
//! the bounds documented in `mhe::noise`. Exact arithmetic modulo Q (two limbs).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs
)]

mod common;

use common::{Parties, TestRng, centred, column_sums, int_vectors, scaled_centred, sub_centred};
use mhe::ciphertext::Ciphertext;
use mhe::encoding::{Plaintext, decode, encode};
use mhe::error::Error;
use mhe::keys::SecretKey;
use mhe::noise;
use mhe::params::Params;
use mhe::protocols::{DecryptionLedger, KeySwitchProtocol};
use mhe::ring::Poly;
use mhe::sampling::{self, Crs, SecretRng};

fn seed_of(i: usize) -> [u8; 32] {
    let mut s = [0x33u8; 32];
    s[0] = u8::try_from(i).unwrap();
    s
}

/// A secret key from a seed, with its ternary coefficients (the generator draws
/// exactly these first).
fn key_with_coeffs(params: &Params, i: usize) -> (SecretKey, Vec<i64>) {
    let sk = SecretKey::generate(params, &mut SecretRng::from_seed_insecure(seed_of(i)));
    let coeffs =
        sampling::ternary(&mut SecretRng::from_seed_insecure(seed_of(i)), params.n()).to_vec();
    (sk, coeffs)
}

/// `a * b` for `b` given by small coefficients, coefficient form.
fn mul_small(params: &Params, a: &Poly, b: &[i64]) -> Poly {
    let mut x = a.clone();
    x.to_ntt(params);
    let mut y = Poly::from_signed(params, b);
    y.to_ntt(params);
    x.mul_assign_ntt(&y, params);
    x.to_coeff(params);
    x
}

/// The sum of the plaintexts of `values` (one plaintext each).
fn plaintext_sum(params: &Params, values: &[Vec<i128>]) -> Plaintext {
    let mut m = Plaintext::zero(params);
    for v in values {
        m.add_assign(&encode(params, v).unwrap()[0], params);
    }
    m
}

/// The noise `e` of a phase `c0 + c1*s = Δm + e` (coefficient form), centred.
fn noise_of(params: &Params, phase: &Poly, m: &Plaintext) -> Vec<i128> {
    sub_centred(
        params,
        &centred(params, phase),
        &scaled_centred(params, m.coeffs()),
    )
}

fn stats(v: &[i128], scale: f64) -> (f64, f64, f64, f64) {
    let xs: Vec<f64> = v.iter().map(|&x| x as f64 / scale).collect();
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (mean, var, min, max)
}

#[test]
fn key_switch_share_noise_is_uniform_over_the_flooding_interval() {
    let params = Params::by_name("default").unwrap();
    let w = params.flooding_bits();
    assert!(
        w >= noise::ciphertext_noise_bits(&params, params.max_parties())
            + params.spec().log_n
            + noise::STATISTICAL_SECURITY_BITS
            + noise::SHARE_CAP_BITS
    );
    let ks = KeySwitchProtocol::with_default_flooding(params.clone());
    let (sk, s) = key_with_coeffs(&params, 1);
    let mut rng = SecretRng::from_seed_insecure([9; 32]);
    let mut all = Vec::new();
    for label in [b"ct-a", b"ct-b"] {
        let c0 = common::zero(&params);
        let c1 = Crs::from_seed([4; 32]).uniform_poly(&params, label);
        let ct = Ciphertext::from_polys(c0, c1.clone());
        let share = ks
            .gen_share(&sk, None, &ct, &mut DecryptionLedger::new(), &mut rng)
            .unwrap();
        let exact = mul_small(&params, &c1, &s);
        let f = sub_centred(
            &params,
            &centred(&params, share.poly()),
            &centred(&params, &exact),
        );
        all.extend(f);
    }
    let bound = 1i128 << w;
    assert!(
        all.iter().all(|&x| (-bound..bound).contains(&x)),
        "flooding outside [-2^{w}, 2^{w})"
    );
    // Uniform on [-1, 1) after scaling by 2^w: mean 0 (sd 0.0064 over 8192 samples),
    // variance 1/3 (sd 0.0033), and both ends of the interval are reached.
    let (mean, var, min, max) = stats(&all, bound as f64);
    assert!(mean.abs() < 0.035, "mean {mean}");
    assert!((var - 1.0 / 3.0).abs() < 0.02, "variance {var}");
    assert!(min < -0.995 && max > 0.995, "range [{min}, {max}]");
    // Each of 16 bins holds about 1/16 of the samples (chi-square, 15 dof, p ~ 1e-6).
    let mut bins = [0usize; 16];
    for x in &all {
        let b = ((*x as f64 / bound as f64 + 1.0) * 8.0).floor() as usize;
        bins[b.min(15)] += 1;
    }
    let e = all.len() as f64 / 16.0;
    let chi2: f64 = bins.iter().map(|&o| (o as f64 - e).powi(2) / e).sum();
    assert!(chi2 < 50.0, "chi-square {chi2} over bins {bins:?}");
}

#[test]
fn fresh_pooled_ciphertext_noise_matches_the_estimate_and_stays_under_the_bound() {
    let params = Params::by_name("default").unwrap();
    let k = 10;
    let (sks, coeffs): (Vec<SecretKey>, Vec<Vec<i64>>) =
        (0..k).map(|i| key_with_coeffs(&params, 10 + i)).unzip();
    let s: Vec<i64> = (0..params.n())
        .map(|j| coeffs.iter().map(|c| c[j]).sum())
        .collect();
    let rng = SecretRng::from_seed_insecure([10; 32]);
    let mut parties = Parties::with_keys(&params, sks, rng, [5; 32]);
    let values = int_vectors(&mut TestRng::new(3), k, params.values_per_ciphertext());
    let pooled = parties.encrypt_and_pool_one(&values);
    let (c0, c1) = pooled.polys();
    let mut x = mul_small(&params, c1, &s);
    x.add_assign(c0, &params);
    let e = noise_of(&params, &x, &plaintext_sum(&params, &values));
    let max = e.iter().map(|v| v.unsigned_abs()).max().unwrap();
    let bound = 1u128 << noise::ciphertext_noise_bits(&params, k);
    assert!(
        max < bound,
        "fresh pooled noise {max} >= 2^{}",
        noise::ciphertext_noise_bits(&params, k)
    );
    // The estimate for K parties: sd within 15% of pooled_sd(N, K), max within TAIL_SDS.
    let sd_est = noise::pooled_sd(params.n(), k);
    let (mean, var, _, _) = stats(&e, 1.0);
    assert!(
        (var.sqrt() / sd_est - 1.0).abs() < 0.15,
        "sd {} vs estimate {sd_est}",
        var.sqrt()
    );
    assert!(mean.abs() < 0.1 * sd_est, "mean {mean}");
    assert!((max as f64) < noise::TAIL_SDS * sd_est);
}

#[test]
fn total_decryption_noise_of_ten_parties_stays_under_the_documented_bound() {
    let params = Params::by_name("default").unwrap();
    let k = 10;
    let w = noise::flooding_bits(&params, k);
    let mut parties = Parties::new(&params, k, [11; 32], [6; 32]);
    let values = int_vectors(&mut TestRng::new(4), k, params.values_per_ciphertext());
    let ct = parties.encrypt_and_pool_one(&values);
    let ks = KeySwitchProtocol::new(params.clone(), k).unwrap();
    let mut ledgers: Vec<DecryptionLedger> = (0..k).map(|_| DecryptionLedger::new()).collect();
    let agg = parties.decryption_shares(&ks, &ct, &mut ledgers);
    let mut x = ct.polys().0.clone();
    x.add_assign(agg.poly(), &params);
    let e = noise_of(&params, &x, &plaintext_sum(&params, &values));
    let max = e.iter().map(|v| v.unsigned_abs()).max().unwrap() as f64;
    // Under the documented worst case for K parties.
    assert!(
        max.log2() < noise::decryption_noise_bits(&params, k),
        "noise 2^{}",
        max.log2()
    );
    let k_bound =
        k as f64 * 2f64.powi(w as i32) + 2f64.powi(noise::ciphertext_noise_bits(&params, k) as i32);
    assert!(max < k_bound, "noise {max} above K*2^w + B");
    // Decryption is exact with that noise ...
    let got = decode(&params, &[ks.decrypt(&ct, &agg)], values[0].len()).unwrap();
    assert_eq!(got, column_sums(&values));
    // ... and the flooding is really there: the sum of K uniforms has variance K/3 * 2^2w.
    let (_, var, _, _) = stats(&e, 2f64.powi(w as i32));
    let expected = k as f64 / 3.0;
    assert!(
        (var / expected - 1.0).abs() < 0.1,
        "variance {var} vs {expected}"
    );
    assert!(noise::correctness_margin_bits(&params, k) > 2.0);
}

#[test]
fn a_key_share_gives_at_most_the_session_cap_of_decryption_shares() {
    let params = Params::toy();
    let mut rng = SecretRng::from_seed_insecure([12; 32]);
    let sk = SecretKey::generate(&params, &mut rng);
    let ks = KeySwitchProtocol::new(params.clone(), 2).unwrap();
    let crs = Crs::from_seed([13; 32]);
    let ct = |i: usize| {
        Ciphertext::from_polys(
            common::zero(&params),
            crs.uniform_poly(&params, &(i as u64).to_le_bytes()),
        )
    };
    let mut ledger = DecryptionLedger::new();
    for i in 0..noise::MAX_SHARES_PER_SESSION {
        ks.gen_share(&sk, None, &ct(i), &mut ledger, &mut rng)
            .unwrap();
    }
    assert_eq!(ledger.len(), noise::MAX_SHARES_PER_SESSION);
    assert!(ledger.ensure_room(0).is_ok());
    assert!(ledger.ensure_room(1).is_err());
    // Share N+1, for a ciphertext never seen: refused with the typed error.
    let next = ks.gen_share(&sk, None, &ct(usize::MAX), &mut ledger, &mut rng);
    assert_eq!(
        next,
        Err(Error::ShareLimit {
            limit: noise::MAX_SHARES_PER_SESSION
        })
    );
    assert_eq!(ledger.len(), noise::MAX_SHARES_PER_SESSION);
    // A fresh ledger (a new session) may share again.
    assert!(ledger_fresh_share(&ks, &sk, &ct(0), &mut rng));
}

fn ledger_fresh_share(
    ks: &KeySwitchProtocol,
    sk: &SecretKey,
    ct: &Ciphertext,
    rng: &mut SecretRng,
) -> bool {
    ks.gen_share(sk, None, ct, &mut DecryptionLedger::new(), rng)
        .is_ok()
}
