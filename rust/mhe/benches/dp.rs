//! Speed of the exact discrete Gaussian sampler at the scales dsMHE uses: sigma = 1,
//! 2^20 and 2^46 (the per-site share of a pooled mean at epsilon 1 on the 40-bit
//! grid), one draw and a fixed batch of 64 draws; and of the accounting conversion.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use mhe::dp::DiscreteGaussian;
use mhe::dp::accounting::{Rho, epsilon_of_rho, rho_for_epsilon};
use mhe::sampling::SecretRng;

fn sampler(c: &mut Criterion) {
    let mut group = c.benchmark_group("discrete_gaussian");
    for (name, num, den) in [
        ("sigma_0.5", 1u128, 4u128),
        ("sigma_1", 1, 1),
        ("sigma_2^20", 1 << 40, 1),
        ("sigma_2^46", 1 << 92, 1),
        ("sigma2_non_dyadic_2^80/3", 1 << 80, 3),
    ] {
        let dg = DiscreteGaussian::new(num, den).unwrap();
        let mut rng = SecretRng::from_seed_insecure([7; 32]);
        group.bench_function(format!("{name}/one"), |b| {
            b.iter(|| black_box(dg.sample(&mut rng).unwrap()));
        });
        group.bench_function(format!("{name}/batch_64"), |b| {
            b.iter(|| black_box(dg.sample_n(&mut rng, 64).unwrap()));
        });
    }
    group.finish();
}

fn accounting(c: &mut Criterion) {
    let mut group = c.benchmark_group("zcdp_accounting");
    group.bench_function("epsilon_of_rho", |b| {
        b.iter(|| black_box(epsilon_of_rho(Rho::new(black_box(0.03)).unwrap(), 1e-5).unwrap()));
    });
    group.bench_function("rho_for_epsilon", |b| {
        b.iter(|| black_box(rho_for_epsilon(black_box(1.0), 1e-5).unwrap()));
    });
    group.finish();
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    sampler(&mut c);
    accounting(&mut c);
    c.final_summary();
}
