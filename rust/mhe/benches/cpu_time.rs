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
mod fhe_rs;

use mhe::encoding::{Layout, Width, decode_layout, encode_layout};
use std::hint::black_box;

use common::Parties;
use mhe::ciphertext::{Ciphertext, encrypt, scale_and_round};
use mhe::encoding::{Plaintext, encode};
use mhe::params::Params;
use mhe::protocols::key_switch::poly_digest;
use mhe::protocols::{DecryptionLedger, KeySwitchProtocol, KeySwitchShare, PublicKeyGenProtocol};
use mhe::ring::Poly;
use mhe::sampling::{self, Crs, SecretRng};

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
    let fused = per_op(8000 / scale, || {
        black_box(ks.decrypt_shares(&pooled, shares.iter()));
    });
    println!(
        "{set}: keygen share {keygen:.1} us, encrypt {enc:.1} us, add 10 {add:.1} us, \
         decryption share {share:.1} us, combine 10 {combine:.1} us (fused {fused:.1} us)"
    );
    steps(&params, &pooled, &mut o.rng, scale);
    combine_steps(&params, &ks, &pooled, &shares, scale);
}

/// The parts of combining (summing the shares, decrypting with the sum) and of the
/// encoding at a declared width, each alone.
fn combine_steps(
    params: &Params,
    ks: &KeySwitchProtocol,
    pooled: &Ciphertext,
    shares: &[KeySwitchShare],
    scale: usize,
) {
    let aggregate = per_op(8000 / scale, || {
        black_box(ks.aggregate_shares(shares.iter()));
    });
    let agg = ks.aggregate_shares(shares.iter());
    let finish = per_op(8000 / scale, || {
        black_box(ks.decrypt(pooled, &agg));
    });
    let layout = Layout::from_widths(&vec![Width::integer(15).unwrap(); params.n()])
        .with_parties(PARTIES)
        .unwrap();
    let values: Vec<i128> = (0..params.n() as i128).map(|i| i % 1000).collect();
    let encode_one = per_op(4000 / scale, || {
        black_box(encode_layout(params, &layout, &values).unwrap());
    });
    let pts = encode_layout(params, &layout, &values).unwrap();
    let decode_one = per_op(4000 / scale, || {
        black_box(decode_layout(params, &pts, &layout).unwrap());
    });
    println!(
        "  aggregate 10 shares {aggregate:.1} us, decrypt with the sum {finish:.1} us; {} values \
         at 15 bits: encode {encode_one:.1} us, decode {decode_one:.1} us",
        params.n()
    );
}

/// The steps inside an encryption and a decryption share, each alone: where the
/// round's time goes.
fn steps(params: &Params, pooled: &Ciphertext, rng: &mut SecretRng, scale: usize) {
    let n = params.n();
    let bits = params.flooding_bits();
    let digest = per_op(8000 / scale, || {
        black_box(poly_digest(pooled.polys().1));
    });
    let flood = per_op(8000 / scale, || {
        black_box(sampling::flooding(rng, n, bits));
    });
    let wide: Vec<i128> = sampling::flooding(rng, n, bits).to_vec();
    let reduce = per_op(8000 / scale, || {
        black_box(Poly::from_signed_wide(params, &wide));
    });
    let mut p = pooled.polys().1.clone();
    let ntt = per_op(8000 / scale, || {
        p.to_ntt(params);
        p.to_coeff(params);
    });
    let gauss = per_op(8000 / scale, || {
        black_box(sampling::gaussian(rng, n));
    });
    let tern = per_op(8000 / scale, || {
        black_box(sampling::ternary(rng, n));
    });
    let round = per_op(8000 / scale, || {
        black_box(scale_and_round(params, pooled.polys().0));
    });
    println!(
        "  steps: scale and round {round:.1} us, SHA-256 of c1 {digest:.1} us, flooding draw {flood:.1} us, its reduction \
         {reduce:.1} us, NTT forward + inverse {ntt:.1} us, Gaussian draw {gauss:.1} us, \
         ternary draw {tern:.1} us"
    );
}

/// The round of the criterion bench (`benches/mhe.rs`), in CPU time: 10 parties
/// encrypt 8192 values each, the ciphertexts are added, every party gives a
/// decryption share of each pooled ciphertext, the shares are combined and decoded.
/// Ours twice: with the values declared at fhe.rs's width (pooled values of 20 bits)
/// and at their own width (what [`Width::for_bound`] gives for each party's values,
/// below 1000, pooled over 10 parties); fhe.rs packs one value below t = 2^20 per
/// coefficient. Same N and moduli.
fn round_vs_fhe(set: &str, iters: usize) {
    const VALUES: usize = 8192;
    let params = Params::by_name(set).unwrap();
    let mut o = Parties::new(&params, PARTIES, [1; 32], [2; 32]);
    let ks = KeySwitchProtocol::with_default_flooding(params.clone());
    let (small, expected, own) = common::round_values(PARTIES, VALUES);
    let mut ours = Vec::new();
    for width in [Width::integer(20).unwrap(), own] {
        let layout = Layout::from_widths(&vec![width; VALUES])
            .with_parties(PARTIES)
            .unwrap();
        assert_eq!(o.round_at(&ks, &layout, &small), expected);
        let us = per_op(iters, || {
            black_box(o.round_at(&ks, &layout, &small));
        });
        ours.push((width.bits(), layout.num_plaintexts(&params), us));
    }
    let (theirs_us, theirs_cts) = fhe_round(&params, &small, &expected, iters);
    for (bits, cts, us) in ours {
        println!(
            "{set}: round of {PARTIES} parties over {VALUES} values at {bits} bits: ours {:.1} ms \
             ({cts} ct/party), fhe.rs {:.1} ms ({} ct/party), fhe.rs / ours = {:.2}",
            us / 1000.0,
            theirs_us / 1000.0,
            theirs_cts,
            theirs_us / us
        );
    }
}

/// fhe.rs's side of the round (same N and moduli, t = 2^20, one value per
/// coefficient): its CPU time per round in microseconds and its ciphertexts per party.
fn fhe_round(
    params: &Params,
    small: &[Vec<i128>],
    expected: &[i128],
    iters: usize,
) -> (f64, usize) {
    let t = fhe_rs::theirs(params, PARTIES);
    let mut rng = rand09::rng();
    let fvalues: Vec<Vec<u64>> = small
        .iter()
        .map(|v| v.iter().map(|&x| x as u64).collect())
        .collect();
    let mut theirs = || t.round(&fvalues, &mut rng);
    let got = theirs();
    assert!(got.iter().zip(expected).all(|(&a, &b)| a as i128 == b));
    let theirs_us = per_op(iters, || {
        black_box(theirs());
    });
    (theirs_us, small[0].len().div_ceil(t.par.degree()))
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
    for set in ["default", "large"] {
        if only
            .as_deref()
            .is_none_or(|o| o == "round" || set.contains(o))
        {
            round_vs_fhe(set, 10);
        }
    }
}
