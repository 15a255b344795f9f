//! Process CPU time per operation, for before/after comparisons on a shared machine
//! where criterion's wall-clock figures move by 30% or more with the other tenants'
//! load: time spent waiting for a core is not counted. Reads utime + stime from
//! `/proc/self/stat` (Linux), so it runs the operations on one thread
//! (`RAYON_NUM_THREADS=1` is set before the pool starts) and repeats each for about a
//! second. `cargo bench -p mhe --bench cpu_time`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;

use common::Parties;
use mhe::ciphertext::{Ciphertext, encrypt};
use mhe::encoding::{Plaintext, encode};
use mhe::params::Params;
use mhe::protocols::{DecryptionLedger, KeySwitchProtocol, KeySwitchShare, PublicKeyGenProtocol};
use mhe::sampling::Crs;

const PARTIES: usize = 10;

/// CPU time of this process so far, in seconds (user + system).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("Linux /proc");
    // Fields after the parenthesised command name; utime and stime are the 14th and
    // 15th fields of the whole line, in clock ticks (100 per second on Linux).
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

/// Runs `op` `iters` times and returns the CPU time per run, in microseconds.
fn per_op(iters: usize, mut op: impl FnMut()) -> f64 {
    op();
    let t0 = cpu_seconds();
    for _ in 0..iters {
        op();
    }
    (cpu_seconds() - t0) / iters as f64 * 1e6
}

fn full_plaintext(params: &Params) -> Plaintext {
    let values: Vec<i128> = (0..params.values_per_ciphertext() as i128)
        .map(|i| i * 1_000_003 - 7)
        .collect();
    encode(params, &values).unwrap().remove(0)
}

fn run_set(set: &str, scale: usize) {
    let params = Params::by_name(set).unwrap();
    let mut o = Parties::new(&params, PARTIES, [1; 32], [2; 32]);
    let ckg = PublicKeyGenProtocol::new(params.clone());
    let crp = ckg.sample_crp(&Crs::from_seed([2; 32]));
    let ks = KeySwitchProtocol::with_default_flooding(params.clone());
    let pt = full_plaintext(&params);
    let keygen = per_op(4000 / scale, || {
        black_box(ckg.gen_share(&o.sks[0], &crp, &mut o.rng));
    });
    let enc = per_op(1500 / scale, || {
        black_box(encrypt(&params, &o.pk, &pt, &mut o.rng));
    });
    let cts: Vec<Ciphertext> = (0..PARTIES)
        .map(|_| encrypt(&params, &o.pk, &pt, &mut o.rng))
        .collect();
    let add = per_op(8000 / scale, || {
        let mut acc = cts[0].clone();
        for ct in &cts[1..] {
            acc.add_assign(ct, &params);
        }
        black_box(acc);
    });
    let mut pooled = cts[0].clone();
    for ct in &cts[1..] {
        pooled.add_assign(ct, &params);
    }
    let share = per_op(3000 / scale, || {
        let s = ks.gen_share(
            &o.sks[0],
            None,
            &pooled,
            &mut DecryptionLedger::new(),
            &mut o.rng,
        );
        black_box(s.unwrap());
    });
    let shares: Vec<KeySwitchShare> = o
        .sks
        .iter()
        .map(|sk| {
            ks.gen_share(sk, None, &pooled, &mut DecryptionLedger::new(), &mut o.rng)
                .unwrap()
        })
        .collect();
    let combine = per_op(8000 / scale, || {
        black_box(ks.decrypt(&pooled, &ks.aggregate_shares(shares.iter())));
    });
    println!(
        "{set}: keygen share {keygen:.1} us, encrypt {enc:.1} us, add 10 {add:.1} us, \
         decryption share {share:.1} us, combine 10 {combine:.1} us"
    );
}

fn main() {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()
        .expect("first use of the pool");
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    for (set, scale) in [("default", 1), ("large", 4)] {
        if only.as_deref().is_none_or(|o| set.contains(o)) {
            run_set(set, scale);
        }
    }
}
