//! Differential-privacy foundation: the discrete Gaussian sampler against its mass
//! function, sums of site shares, calibration, zCDP accounting against independently
//! computed values (R), the per-analyst budget, and robustness on extreme inputs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs
)]

use mhe::dp::accounting::{
    Analysis, calibrate, central_variance, compose, epsilon_of_rho, epsilon_standard, kls_tau,
    per_site_variance, rho_for_epsilon, rho_of_shares,
};
use mhe::dp::{DiscreteGaussian, DpError, Rho, Sensitivity, ZcdpBudget};
use mhe::sampling::SecretRng;
use proptest::prelude::*;

fn rng(tag: u8) -> SecretRng {
    SecretRng::from_seed_insecure([tag; 32])
}

/// The discrete Gaussian mass function on `-k..=k`, normalised over a range wide
/// enough that the omitted tail is below 1e-300.
fn pmf_table(s2: f64, k: i64) -> Vec<f64> {
    let wide = (60.0 * s2.sqrt()).ceil() as i64 + 10;
    let w = |y: i64| (-((y * y) as f64) / (2.0 * s2)).exp();
    let total: f64 = (-wide..=wide).map(w).sum();
    (-k..=k).map(|y| w(y) / total).collect()
}

/// Upper quantile of chi-square with `df` degrees of freedom at z = 4.5 (p about
/// 3.4e-6), by the Wilson-Hilferty approximation.
fn chi2_critical(df: usize) -> f64 {
    let d = df as f64;
    let a = 2.0 / (9.0 * d);
    d * (1.0 - a + 4.5 * a.sqrt()).powi(3)
}

/// Pearson's statistic of `samples` against `pmf` on `-k..=k` (index `y + k`),
/// with the two tails as two more cells. Returns (statistic, degrees of freedom).
fn chi2(samples: &[i128], pmf: &[f64], k: i64) -> (f64, usize) {
    let n = samples.len() as f64;
    let mut counts = vec![0f64; pmf.len() + 2];
    for &y in samples {
        let y = i64::try_from(y).unwrap();
        let slot = if y < -k {
            pmf.len()
        } else if y > k {
            pmf.len() + 1
        } else {
            usize::try_from(y + k).unwrap()
        };
        counts[slot] += 1.0;
    }
    let inside: f64 = pmf.iter().sum();
    let tail = ((1.0 - inside) / 2.0).max(0.0);
    let mut expected: Vec<f64> = pmf.iter().map(|p| p * n).collect();
    expected.push(tail * n);
    expected.push(tail * n);
    let mut stat = 0.0;
    let mut cells = 0;
    for (o, e) in counts.iter().zip(&expected) {
        if *e > 0.0 {
            stat += (o - e) * (o - e) / e;
            cells += 1;
        } else {
            assert_eq!(*o, 0.0, "a draw fell in a cell of probability 0");
        }
    }
    (stat, cells - 1)
}

/// The largest `k` with an expected count of at least 20 in cell `k`.
fn support(s2: f64, n: usize) -> i64 {
    let table = pmf_table(s2, 200);
    let mut k = 0;
    while k < 200 && table[usize::try_from(200 + k + 1).unwrap()] * n as f64 >= 20.0 {
        k += 1;
    }
    k
}

#[test]
fn small_sigma_draws_follow_the_discrete_gaussian_mass_function() {
    // sigma = 0.5, 1, 3 and a non-dyadic sigma^2 = 10/3.
    for (i, (num, den)) in [(1u128, 4u128), (1, 1), (9, 1), (10, 3)]
        .into_iter()
        .enumerate()
    {
        let dg = DiscreteGaussian::new(num, den).unwrap();
        let s2 = dg.sigma2();
        let n = 200_000;
        let samples = dg.sample_n(&mut rng(10 + i as u8), n).unwrap();
        let k = support(s2, n);
        let (stat, df) = chi2(&samples, &pmf_table(s2, k), k);
        assert!(
            stat < chi2_critical(df),
            "sigma^2 = {num}/{den}: chi-square {stat:.1} on {df} df exceeds {:.1}",
            chi2_critical(df)
        );
        // Mean 0 and the exact variance of the distribution (not sigma^2 below 1).
        let mean = samples.iter().sum::<i128>() as f64 / n as f64;
        let var = samples.iter().map(|&y| (y * y) as f64).sum::<f64>() / n as f64;
        let v = dg.variance();
        assert!(
            mean.abs() < 5.0 * (v / n as f64).sqrt(),
            "sigma^2 = {s2}: mean {mean}"
        );
        println!("MUT {s2} {var} {v} {stat} {df}");
        let fourth = samples
            .iter()
            .map(|&y| ((y * y) as f64).powi(2))
            .sum::<f64>()
            / n as f64;
        let se = ((fourth - v * v) / n as f64).sqrt();
        assert!(
            (var - v).abs() < 5.0 * se,
            "sigma^2 = {s2}: variance {var} vs {v} (se {se})"
        );
    }
}

#[test]
fn the_variance_of_the_discrete_gaussian_matches_independent_values() {
    // Values from R: sum(y^2 w) / sum(w), w = exp(-y^2 / (2 s2)), y = -50..50.
    let cases = [
        ((1u128, 4u128), 0.215_012_675_088_138_5),
        ((1, 1), 0.999_999_788_767_728_1),
        ((9, 1), 9.0),
        ((10, 3), 3.333_333_333_333_333_5),
    ];
    for ((num, den), want) in cases {
        let got = DiscreteGaussian::new(num, den).unwrap().variance();
        assert!(
            (got - want).abs() < 1e-12 * want,
            "{num}/{den}: {got} vs {want}"
        );
    }
    assert_eq!(
        DiscreteGaussian::new(1 << 40, 1).unwrap().variance(),
        2f64.powi(40)
    );
}

/// Moments and tails of `n` draws at a large sigma, against the normal law (the
/// discrete Gaussian at sigma >= 1000 is the normal law to far below the tolerances).
fn check_large(dg: &DiscreteGaussian, n: usize, tag: u8) {
    let sigma = dg.sigma2().sqrt();
    let samples = dg.sample_n(&mut rng(tag), n).unwrap();
    let nf = n as f64;
    let z: Vec<f64> = samples.iter().map(|&y| y as f64 / sigma).collect();
    let mean = z.iter().sum::<f64>() / nf;
    let var = z.iter().map(|v| v * v).sum::<f64>() / nf;
    assert!(
        mean.abs() < 5.0 / nf.sqrt(),
        "sigma {sigma}: mean/sigma {mean}"
    );
    assert!(
        (var - 1.0).abs() < 5.0 * (2.0 / nf).sqrt(),
        "sigma {sigma}: var/sigma^2 {var}"
    );
    // Two-sided normal tails at 1, 2 and 3 sigma.
    for (t, p) in [
        (1.0, 0.317_310_507_862_914_1),
        (2.0, 0.045_500_263_896_358_4),
        (3.0, 0.002_699_796_063_260_2),
    ] {
        let got = z.iter().filter(|v| v.abs() > t).count() as f64 / nf;
        let se = (p * (1.0 - p) / nf).sqrt();
        assert!(
            (got - p).abs() < 5.0 * se,
            "sigma {sigma}: P(|Y| > {t} sigma) = {got} vs {p}"
        );
    }
    // Symmetry: as many draws above 0 as below.
    let pos = samples.iter().filter(|&&y| y > 0).count() as f64;
    let neg = samples.iter().filter(|&&y| y < 0).count() as f64;
    assert!(
        (pos - neg).abs() < 5.0 * nf.sqrt(),
        "sigma {sigma}: {pos} above 0, {neg} below"
    );
}

#[test]
fn large_sigma_draws_have_the_normal_moments_tails_and_symmetry() {
    check_large(&DiscreteGaussian::new(1 << 40, 1).unwrap(), 40_000, 20); // sigma = 2^20
    check_large(&DiscreteGaussian::new(1 << 80, 1).unwrap(), 20_000, 21); // sigma = 2^40
    check_large(&DiscreteGaussian::new(1 << 96, 1).unwrap(), 20_000, 22); // sigma = 2^48
    check_large(
        &DiscreteGaussian::from_variance_ceil(2.5e12).unwrap(),
        20_000,
        23,
    );
}

#[test]
fn mid_sigma_draws_follow_the_mass_function_in_quarter_sigma_bins() {
    // sigma = 4096 and a non-dyadic sigma^2 = 30000001/3: one million draws binned by
    // a quarter of sigma over [-5 sigma, 5 sigma], against the exact mass per bin.
    for (i, (num, den)) in [(1u128 << 24, 1u128), (30_000_001, 3)]
        .into_iter()
        .enumerate()
    {
        let dg = DiscreteGaussian::new(num, den).unwrap();
        let s2 = dg.sigma2();
        let sigma = s2.sqrt();
        let width = (sigma / 4.0).round() as i64;
        let half = 20 * width; // 5 sigma
        let wide = (40.0 * sigma) as i64;
        let w = |y: i64| (-((y * y) as f64) / (2.0 * s2)).exp();
        let total: f64 = (-wide..=wide).map(w).sum();
        let bin = |y: i64| -> usize {
            if y < -half {
                0
            } else if y >= half {
                41
            } else {
                usize::try_from((y + half) / width).unwrap() + 1
            }
        };
        let mut p = vec![0.0f64; 42];
        for y in -wide..=wide {
            p[bin(y)] += w(y) / total;
        }
        let n = 1_000_000;
        let mut counts = vec![0.0f64; 42];
        for &y in dg.sample_n(&mut rng(25 + i as u8), n).unwrap().iter() {
            counts[bin(i64::try_from(y).unwrap())] += 1.0;
        }
        let stat: f64 = counts
            .iter()
            .zip(&p)
            .map(|(o, q)| (o - q * n as f64).powi(2) / (q * n as f64))
            .sum();
        assert!(
            stat < chi2_critical(41),
            "sigma^2 = {s2}: chi-square {stat:.1} on 41 df"
        );
    }
}

#[test]
fn draws_depend_only_on_the_generator_state() {
    let dg = DiscreteGaussian::new(1 << 50, 3).unwrap();
    let a = dg.sample_n(&mut rng(30), 50).unwrap();
    let b = dg.sample_n(&mut rng(30), 50).unwrap();
    let c = dg.sample_n(&mut rng(31), 50).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn the_sum_of_site_shares_has_the_convolved_distribution() {
    // Three sites with sigma^2 = 1/4 each: the pooled noise follows the three-fold
    // convolution of the mass function.
    let dg = DiscreteGaussian::new(1, 4).unwrap();
    let k1 = 8i64;
    let one = pmf_table(0.25, k1);
    let mut sum = vec![1.0f64];
    for _ in 0..3 {
        let mut next = vec![0.0; sum.len() + one.len() - 1];
        for (i, a) in sum.iter().enumerate() {
            for (j, b) in one.iter().enumerate() {
                next[i + j] += a * b;
            }
        }
        sum = next;
    }
    let k = 3 * k1; // sum is indexed by y + 3 k1
    let n = 200_000;
    let mut g = rng(40);
    let pooled: Vec<i128> = (0..n)
        .map(|_| (0..3).map(|_| dg.sample(&mut g).unwrap()).sum())
        .collect();
    // Keep cells with an expected count of at least 20, the rest as tails.
    let kk = (0..=k)
        .rev()
        .find(|&y| sum[usize::try_from(y + k).unwrap()] * n as f64 >= 20.0)
        .unwrap();
    let table: Vec<f64> = (-kk..=kk)
        .map(|y| sum[usize::try_from(y + k).unwrap()])
        .collect();
    let (stat, df) = chi2(&pooled, &table, kk);
    assert!(stat < chi2_critical(df), "chi-square {stat:.1} on {df} df");
}

#[test]
fn the_sum_of_calibrated_shares_has_the_documented_total_variance() {
    let sens = Sensitivity::count();
    let cal = calibrate(Analysis::SumOfHonestShares, 1.0, 1e-5, &sens, 5, 3).unwrap();
    let per_site = cal.per_site.variance();
    assert!((cal.total_variance - 5.0 * per_site).abs() < 1e-9 * cal.total_variance);
    let n = 40_000;
    let mut g = rng(41);
    let pooled: Vec<f64> = (0..n)
        .map(|_| {
            (0..5)
                .map(|_| cal.per_site.sample(&mut g).unwrap())
                .sum::<i128>() as f64
        })
        .collect();
    let mean = pooled.iter().sum::<f64>() / n as f64;
    let var = pooled.iter().map(|v| v * v).sum::<f64>() / n as f64;
    let sd = cal.total_variance.sqrt();
    assert!(mean.abs() < 5.0 * sd / (n as f64).sqrt(), "mean {mean}");
    assert!(
        (var / cal.total_variance - 1.0).abs() < 5.0 * (2.0 / n as f64).sqrt(),
        "variance {var} vs {}",
        cal.total_variance
    );
}

#[test]
fn accounting_matches_independently_computed_values() {
    // Values from R (optimize over alpha of the same objective; uniroot for the
    // inverse; the analytic Gaussian for the exact curve).
    let rho = Rho::new(0.5).unwrap();
    assert!((epsilon_standard(rho, 1e-5).unwrap() - 5.298_525_912_188_08).abs() < 1e-12);
    let cases = [
        (0.5, 1e-5, 4.728_386_984_943_31, 4.377_178_095_681_22),
        (0.01, 1e-6, 0.621_692_654_559_603, 0.575_055_185_779_996),
        (2.0, 1e-9, 14.150_147_553_874_6, 13.534_772_219_165_5),
    ];
    for (r, delta, want, exact_gaussian) in cases {
        let r = Rho::new(r).unwrap();
        let got = epsilon_of_rho(r, delta).unwrap();
        assert!((got - want).abs() < 1e-9, "rho {r:?}: {got} vs {want}");
        // Tighter than the standard bound, never tighter than the exact curve of the
        // Gaussian mechanism, which is exactly rho-zCDP.
        assert!(got < epsilon_standard(r, delta).unwrap());
        assert!(got > exact_gaussian);
    }
    let inv = rho_for_epsilon(1.0, 1e-5).unwrap().value();
    assert!((inv / 0.030_556_595_197_639_6 - 1.0).abs() < 1e-9, "{inv}");
    let inv = rho_for_epsilon(0.5, 1e-6).unwrap().value();
    assert!((inv / 0.006_641_524_356_660_5 - 1.0).abs() < 1e-9, "{inv}");
    assert!(epsilon_of_rho(rho_for_epsilon(1.0, 1e-5).unwrap(), 1e-5).unwrap() <= 1.0);
    assert_eq!(epsilon_of_rho(Rho::new(0.0).unwrap(), 1e-5).unwrap(), 0.0);
    let total = compose(&[Rho::new(0.01).unwrap(); 3]).unwrap().value();
    assert!((total - 0.03).abs() < 1e-15);
}

#[test]
fn the_privacy_of_shares_follows_both_analyses() {
    let count = Sensitivity::count();
    // One honest share: Delta^2 / (2 sigma^2).
    let one = rho_of_shares(Analysis::OneHonestShare, &count, 2.0, 2).unwrap();
    assert_eq!(one.value(), 0.25);
    // Sum of 2 shares of sigma^2 = 2: (1 / sqrt(4) + tau)^2 / 2, tau = 10 exp(-2 pi^2)
    // (R: 0.12500001337644032).
    let sum = rho_of_shares(Analysis::SumOfHonestShares, &count, 2.0, 2).unwrap();
    assert!((sum.value() - 0.125_000_013_376_440_32).abs() < 1e-16);
    assert!((kls_tau(2.0, 2) - 2.675_287_991_074_243e-8).abs() < 1e-20);
    // At fixed-point scales tau is 0 and h shares act as one of h times the variance.
    let big = Sensitivity::clipped_sum(0.0, 15.0, 40).unwrap();
    let s2 = 1e28;
    let r3 = rho_of_shares(Analysis::SumOfHonestShares, &big, s2, 3).unwrap();
    let central = rho_of_shares(Analysis::OneHonestShare, &big, 3.0 * s2, 1).unwrap();
    assert!((r3.value() / central.value() - 1.0).abs() < 1e-12);
    // Below sigma = 1/2 only the one-share bound applies.
    let tiny = rho_of_shares(Analysis::SumOfHonestShares, &count, 0.2, 4).unwrap();
    assert_eq!(tiny.value(), 1.0 / 0.4);
    assert!(rho_of_shares(Analysis::SumOfHonestShares, &count, 1.0, 0).is_err());
}

#[test]
fn calibration_reaches_the_target_epsilon() {
    let sens = Sensitivity::clipped_vector(&[(0.0, 15.0), (0.0, 1.0)], 40).unwrap();
    let target = rho_for_epsilon(1.0, 1e-5).unwrap().value();
    let central = central_variance(1.0, 1e-5, &sens).unwrap();
    // (15^2 + 1) 2^80 / (2 * 0.0305565951976396), from R.
    assert!(
        (central / (226.0 * 2f64.powi(80) / (2.0 * 0.030_556_595_197_639_6)) - 1.0).abs() < 1e-9
    );
    assert!(central_variance(0.0, 1e-5, &sens).is_err());
    for (analysis, honest, share) in [
        (Analysis::SumOfHonestShares, 2, central / 2.0),
        (Analysis::OneHonestShare, 2, central),
        (Analysis::SumOfHonestShares, 1, central),
    ] {
        let cal = calibrate(analysis, 1.0, 1e-5, &sens, 3, honest).unwrap();
        assert!(cal.rho.value() <= target);
        assert!(
            cal.epsilon <= 1.0 && cal.epsilon > 1.0 - 1e-6,
            "{analysis:?}: {}",
            cal.epsilon
        );
        let got = cal.per_site.sigma2();
        assert!(
            got >= share * (1.0 - 1e-15) && got < share * (1.0 + 1e-9),
            "{got} vs {share}"
        );
        assert_eq!(per_site_variance(analysis, central, honest).unwrap(), share);
        assert!((cal.total_variance / (3.0 * got) - 1.0).abs() < 1e-12);
    }
    // Small sigma: the tau correction (or the one-share fallback) raises the share
    // above central / h, and the result still meets the target.
    let count = Sensitivity::count();
    let cal = calibrate(Analysis::SumOfHonestShares, 4.0, 1e-5, &count, 6, 5).unwrap();
    let target = rho_for_epsilon(4.0, 1e-5).unwrap().value();
    let s2 = cal.per_site.sigma2();
    assert!(s2 > 1.0 / (2.0 * target * 5.0));
    assert!(
        rho_of_shares(Analysis::SumOfHonestShares, &count, s2, 5)
            .unwrap()
            .value()
            <= target
    );
    assert!(calibrate(Analysis::SumOfHonestShares, 1.0, 1e-5, &count, 3, 4).is_err());
    assert!(calibrate(Analysis::SumOfHonestShares, 1.0, 1e-5, &count, 3, 0).is_err());
}

#[test]
fn a_three_site_pooled_mean_has_the_predicted_error_below_1e_3_at_epsilon_one() {
    // Three sites of 1e5 rows of a cholesterol-like variable (mmol/L) clipped to
    // [0, 15]; the mean releases (sum, count) on a grid of g fractional bits (count
    // as 1.0 per row), delta = 1e-5 for the query, threshold 2 of 3 (h = 2). The grid
    // is the finest (g <= 40) whose per-site sigma^2 fits the sampler (2^96).
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let xs: Vec<f64> = (0..300_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (2.0 + 8.0 * (state >> 11) as f64 / (1u64 << 53) as f64).clamp(0.0, 15.0)
        })
        .collect();
    let mut g = rng(50);
    for epsilon in [0.1, 0.5, 1.0, 2.0] {
        let (bits, cal) = (0..=40u32)
            .rev()
            .find_map(|bits| {
                let sens = Sensitivity::clipped_vector(&[(0.0, 15.0), (0.0, 1.0)], bits).unwrap();
                calibrate(Analysis::SumOfHonestShares, epsilon, 1e-5, &sens, 3, 2)
                    .ok()
                    .map(|cal| (bits, cal))
            })
            .unwrap();
        let scale = 2f64.powi(i32::try_from(bits).unwrap());
        let sum: i128 = xs.iter().map(|x| (x * scale).round() as i128).sum();
        let count = xs.len() as i128 * (1i128 << bits);
        let mean = sum as f64 / count as f64;
        let trials = 400;
        let mut sq = 0.0;
        for _ in 0..trials {
            let noise_s: i128 = (0..3).map(|_| cal.per_site.sample(&mut g).unwrap()).sum();
            let noise_n: i128 = (0..3).map(|_| cal.per_site.sample(&mut g).unwrap()).sum();
            let noisy = (sum + noise_s) as f64 / (count + noise_n) as f64;
            sq += ((noisy - mean) / mean).powi(2);
        }
        let rms = (sq / trials as f64).sqrt();
        // First order: the relative error of S / N is noise_S / S - noise_N / N, of
        // variance V / S^2 + V / N^2 with V the total noise variance of each.
        let v = cal.total_variance;
        let predicted = (v / (sum as f64).powi(2) + v / (count as f64).powi(2)).sqrt();
        println!(
            "epsilon {epsilon}: grid 2^-{bits}, pooled mean {mean:.4}, per-site sigma {:.2}, \
             total noise sd {:.2} (real units), rms relative error {rms:.3e}, predicted {predicted:.3e}",
            cal.per_site.sigma2().sqrt() / scale,
            v.sqrt() / scale
        );
        assert!(
            (rms / predicted - 1.0).abs() < 0.2,
            "rms {rms} vs predicted {predicted}"
        );
        if epsilon >= 1.0 {
            assert!(rms < 1e-3);
        }
    }
}

#[test]
fn a_budget_refuses_to_overspend_and_survives_a_round_trip() {
    let mut b = ZcdpBudget::new("analyst-7f3a:key", 0.1).unwrap();
    let q = Rho::new(0.04).unwrap();
    b.spend(q).unwrap();
    b.spend(q).unwrap();
    let before = b.clone();
    let err = b.spend(q).unwrap_err();
    assert!(matches!(err, DpError::BudgetExceeded { .. }), "{err}");
    assert!(err.to_string().contains("analyst-7f3a:key"));
    assert_eq!(b, before, "a refused spend leaves the budget unchanged");
    assert!(!b.can_spend(q).unwrap());
    assert!(b.can_spend(Rho::new(0.019).unwrap()).unwrap());
    assert_eq!(b.queries(), 2);
    assert!((b.remaining_rho() - 0.02).abs() < 1e-15);
    // The line round-trips exactly: reloading does not refill the budget.
    let line = b.to_line();
    assert!(!line.contains('\n'));
    let mut again = ZcdpBudget::from_line(&format!("{line}\n")).unwrap();
    assert_eq!(again, b);
    assert!(again.spend(q).is_err());
    // A total of epsilon = 1 split into queries of a quarter of its rho: four are
    // charged, the fifth is refused.
    let mut split = ZcdpBudget::from_epsilon("b", 1.0, 1e-5).unwrap();
    let quarter = Rho::new(split.total_rho() / 4.0).unwrap();
    for _ in 0..4 {
        split.spend(quarter).unwrap();
    }
    assert!(split.spend(quarter).is_err());
    assert!(split.epsilon_spent(1e-5).unwrap() <= 1.0);
    // A budget in (epsilon, delta) holds the converted rho.
    let e = ZcdpBudget::from_epsilon("a", 1.0, 1e-5).unwrap();
    assert!((e.total_rho() / 0.030_556_595_197_639_6 - 1.0).abs() < 1e-9);
    assert_eq!(e.epsilon_spent(1e-5).unwrap(), 0.0);
}

#[test]
fn malformed_budget_lines_and_identities_are_refused() {
    let good = "dsmhe-dp-budget 1 analyst=ab total=100 spent=10 queries=1";
    assert!(ZcdpBudget::from_line(good).is_ok());
    for bad in [
        "",
        "dsmhe-dp-budget 1 analyst=ab total=100 spent=10",
        "dsmhe-dp-budget 2 analyst=ab total=100 spent=10 queries=1",
        "other 1 analyst=ab total=100 spent=10 queries=1",
        "dsmhe-dp-budget 1 analyst=a b total=100 spent=10 queries=1",
        "dsmhe-dp-budget 1 analyst= total=100 spent=10 queries=1",
        "dsmhe-dp-budget 1 analyst=ab total=100 spent=101 queries=1",
        "dsmhe-dp-budget 1 analyst=ab total=-1 spent=0 queries=1",
        "dsmhe-dp-budget 1 analyst=ab total=1e3 spent=0 queries=1",
        "dsmhe-dp-budget 1 analyst=ab spent=0 total=100 queries=1",
        "dsmhe-dp-budget 1 analyst=ab total=100 spent=10 queries=1 extra",
        "dsmhe-dp-budget  1 analyst=ab total=100 spent=10 queries=1",
        "dsmhe-dp-budget 1 analyst=ab total=999999999999999999999999999999999999999999 spent=0 queries=1",
    ] {
        assert!(
            matches!(ZcdpBudget::from_line(bad), Err(DpError::Parse(_))),
            "accepted {bad:?}"
        );
    }
    assert!(ZcdpBudget::new("has space", 1.0).is_err());
    assert!(ZcdpBudget::new("", 1.0).is_err());
    assert!(ZcdpBudget::new(&"a".repeat(129), 1.0).is_err());
    assert!(ZcdpBudget::new("a", -1.0).is_err());
    assert!(ZcdpBudget::new("a", f64::NAN).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn extreme_sampler_parameters_never_panic(num in any::<u128>(), den in any::<u128>(), seed in any::<u8>()) {
        if let Ok(dg) = DiscreteGaussian::new(num, den) {
            let mut g = rng(seed);
            for _ in 0..3 {
                prop_assert!(dg.sample(&mut g).is_ok());
            }
        }
    }

    #[test]
    fn extreme_sampler_sizes_never_panic(shift in 0u32..=96, den_shift in 0u32..=32, seed in any::<u8>()) {
        let dg = DiscreteGaussian::new(1u128 << shift, 1u128 << den_shift).unwrap();
        let y = dg.sample(&mut rng(seed)).unwrap();
        // Within 40 sigma (a miss has probability below exp(-800)).
        let bound = 40.0 * dg.sigma2().sqrt() + 1.0;
        prop_assert!((y as f64).abs() <= bound, "{y} beyond {bound}");
    }

    #[test]
    fn extreme_accounting_inputs_never_panic(
        rho in prop_oneof![any::<f64>(), 0.0..1e6f64],
        delta in prop_oneof![any::<f64>(), 1e-300..1.0f64],
        eps in prop_oneof![any::<f64>(), 1e-6..1e3f64],
        s2 in prop_oneof![any::<f64>(), 1e-6..1e30f64],
        honest in 0u32..2000,
    ) {
        if let Ok(r) = Rho::new(rho) {
            let _ = epsilon_standard(r, delta);
            if let Ok(e) = epsilon_of_rho(r, delta) {
                prop_assert!(e >= 0.0 && !e.is_nan());
            }
        }
        if let Ok(r) = rho_for_epsilon(eps, delta) {
            prop_assert!(r.value() >= 0.0 && r.value().is_finite());
        }
        let _ = rho_of_shares(Analysis::SumOfHonestShares, &Sensitivity::count(), s2, honest);
        let _ = per_site_variance(Analysis::SumOfHonestShares, s2, honest);
        let _ = DiscreteGaussian::from_variance_ceil(s2);
        let _ = kls_tau(s2.abs(), honest);
    }

    #[test]
    fn extreme_calibration_and_sensitivity_inputs_never_panic(
        eps in prop_oneof![any::<f64>(), 1e-3..50.0f64],
        lo in any::<f64>(),
        hi in prop_oneof![any::<f64>(), -1e6..1e6f64],
        bits in 0u32..64,
        sites in 0u32..50,
        honest in 0u32..50,
    ) {
        if let Ok(sens) = Sensitivity::clipped_sum(lo.min(hi), hi.max(lo), bits) {
            let _ = calibrate(Analysis::SumOfHonestShares, eps, 1e-6, &sens, sites, honest);
            let _ = calibrate(Analysis::OneHonestShare, eps, 1e-6, &sens, sites, honest);
        }
        let _ = Sensitivity::clipped_sum(lo, hi, bits);
    }

    #[test]
    fn epsilon_grows_with_rho(a in 1e-9..1e3f64, b in 1e-9..1e3f64, delta in 1e-12..0.5f64) {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let e_lo = epsilon_of_rho(Rho::new(lo).unwrap(), delta).unwrap();
        let e_hi = epsilon_of_rho(Rho::new(hi).unwrap(), delta).unwrap();
        prop_assert!(e_lo <= e_hi * (1.0 + 1e-12), "eps({lo}) = {e_lo} > eps({hi}) = {e_hi}");
        prop_assert!(e_hi <= epsilon_standard(Rho::new(hi).unwrap(), delta).unwrap());
    }

    #[test]
    fn arbitrary_budget_lines_never_panic(line in ".{0,200}") {
        let _ = ZcdpBudget::from_line(&line);
        let _ = ZcdpBudget::from_line(&format!("dsmhe-dp-budget 1 {line}"));
    }
}
