//! Benchmarks of the multiparty protocols, side by side with fhe.rs (`fhe` crate,
//! multiparty BFV in `fhe::mbfv`) at the same ring degree and RNS moduli:
//! key-generation share, encryption of one ciphertext, addition of 10 ciphertexts,
//! decryption share, combination of 10 shares, and a whole round for 8192 values.
//! Also prints ciphertext bytes on the wire against the minimum `2*N*log2(Q)/8`.
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

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use common::Parties;
use criterion::{BatchSize, Criterion};
use fhe::bfv::{self, Encoding};
use fhe::mbfv::{AggregateIter, DecryptionShare, PublicKeyShare};
use fhe_rs::Theirs;
use fhe_traits::{FheEncoder, FheEncrypter, Serialize};
use mhe::ciphertext::{Ciphertext, encrypt};
use mhe::encoding::{Layout, Plaintext, Width, encode};
use mhe::params::Params;
use mhe::protocols::{DecryptionLedger, KeySwitchProtocol, KeySwitchShare, PublicKeyGenProtocol};
use mhe::sampling::Crs;

const PARTIES: usize = 10;
const ROUND_VALUES: usize = 8192;

/// Seed of the CRS our key generation draws its CRP from.
const CRS_SEED: [u8; 32] = [2; 32];

/// Our parties under `set`, with their collective key.
fn ours(set: &str) -> Parties {
    Parties::new(&Params::by_name(set).unwrap(), PARTIES, [1; 32], CRS_SEED)
}

fn full_plaintext(params: &Params) -> Plaintext {
    let values: Vec<i128> = (0..params.values_per_ciphertext() as i128)
        .map(|i| i * 7_919 - 1_000_000)
        .collect();
    encode(params, &values).unwrap().remove(0)
}

fn theirs(params: &Params) -> Theirs {
    fhe_rs::theirs(params, PARTIES)
}

fn fhe_plaintext(par: &Arc<bfv::BfvParameters>, offset: u64) -> bfv::Plaintext {
    let v: Vec<u64> = (0..par.degree() as u64)
        .map(|i| (i * 7 + offset) % 1000)
        .collect();
    bfv::Plaintext::try_encode(&v, Encoding::poly(), par).unwrap()
}

fn print_sizes() {
    println!("ciphertext bytes on the wire (one ciphertext, no header)");
    for set in ["default", "large"] {
        let p = &Params::by_name(set).unwrap();
        let ours_bytes = 2 * mhe::wire::poly_bytes(p);
        let min = 2.0 * p.n() as f64 * p.log_q() / 8.0;
        let t = theirs(p);
        let mut rng = rand09::rng();
        let ct =
            t.pk.try_encrypt(&fhe_plaintext(&t.par, 1), &mut rng)
                .unwrap();
        let fhe_bytes = ct.to_bytes().len();
        println!(
            "  {set}: N = {}, log2 Q = {:.1}: ours {ours_bytes} B ({:.3} x minimum), fhe.rs {fhe_bytes} B ({:.3} x), minimum {min:.0} B; \
             values per ciphertext: ours {} (128-bit), fhe.rs {} (below t = 2^20)",
            p.n(),
            p.log_q(),
            ours_bytes as f64 / min,
            fhe_bytes as f64 / min,
            p.values_per_ciphertext(),
            p.n()
        );
    }
}

/// Bytes that travel per query: a contribution's `c0`s and a decryption share, as
/// whole polynomials (before) and modulus-switched and cut to the coefficients that
/// hold values (now).
fn print_traffic() {
    println!("bytes per site per query (polynomials only): before -> now");
    for set in ["default", "large"] {
        let p = &Params::by_name(set).unwrap();
        for (what, layout) in [
            (
                "mean (3 values, 2 counts), 3 sites",
                Layout::from_widths(&[
                    Width::FULL,
                    Width::integer(34).unwrap(),
                    Width::integer(34).unwrap(),
                ])
                .with_parties(3)
                .unwrap(),
            ),
            (
                "8192 counts, 3 sites",
                Layout::from_widths(&vec![Width::integer(34).unwrap(); 8192])
                    .with_parties(3)
                    .unwrap(),
            ),
            (
                "8192 reals, 10 sites",
                Layout::full(8192).with_parties(10).unwrap(),
            ),
        ] {
            let old_cts = mhe::encoding::num_plaintexts(p, layout.len());
            let old = old_cts * mhe::wire::poly_bytes(p);
            let now: usize = (0..layout.num_plaintexts(p))
                .map(|c| 4 + mhe::wire::switched_bytes(p, layout.used_coeffs(p, c)))
                .sum();
            println!(
                "  {set}, {what}: contribution {old} B -> {now} B, decryption share {old} B -> {now} B ({:.1} x less)",
                old as f64 / now as f64
            );
        }
    }
}

fn bench_set(c: &mut Criterion, set: &str) {
    let mut o = ours(set);
    let params = o.params.clone();
    let ckg = PublicKeyGenProtocol::new(params.clone());
    let crp = ckg.sample_crp(&Crs::from_seed(CRS_SEED));
    let ks = KeySwitchProtocol::with_default_flooding(params.clone());
    let n = params.n();
    let mut g = c.benchmark_group(format!("{set} (N={n})"));

    // Ours.
    g.bench_function("ours/keygen share", |b| {
        b.iter(|| black_box(ckg.gen_share(&o.sks[0], &crp, &mut o.rng)));
    });
    let pt = full_plaintext(&params);
    g.bench_function("ours/encrypt 1 ct", |b| {
        b.iter(|| black_box(encrypt(&params, &o.pk, &pt, &mut o.rng)))
    });
    let cts: Vec<Ciphertext> = (0..PARTIES)
        .map(|_| encrypt(&params, &o.pk, &pt, &mut o.rng))
        .collect();
    g.bench_function("ours/add 10 cts", |b| {
        b.iter(|| {
            let mut acc = cts[0].clone();
            for ct in &cts[1..] {
                acc.add_assign(ct, &params);
            }
            black_box(acc)
        });
    });
    let mut pooled = cts[0].clone();
    for ct in &cts[1..] {
        pooled.add_assign(ct, &params);
    }
    g.bench_function("ours/decryption share", |b| {
        b.iter(|| {
            black_box(
                ks.gen_share(
                    &o.sks[0],
                    None,
                    &pooled,
                    &mut DecryptionLedger::new(),
                    &mut o.rng,
                )
                .unwrap(),
            )
        });
    });
    let shares: Vec<KeySwitchShare> = o
        .sks
        .iter()
        .map(|sk| {
            ks.gen_share(sk, None, &pooled, &mut DecryptionLedger::new(), &mut o.rng)
                .unwrap()
        })
        .collect();
    g.bench_function("ours/combine 10 shares", |b| {
        b.iter(|| black_box(ks.decrypt(&pooled, &ks.aggregate_shares(shares.iter()))));
    });
    let values: Vec<Vec<i128>> = (0..PARTIES)
        .map(|p| {
            (0..ROUND_VALUES as i128)
                .map(|i| i * 31 - p as i128 * 1_000_003)
                .collect()
        })
        .collect();
    g.bench_function("ours/round 10 parties 8192 values, full width", |b| {
        b.iter(|| {
            let pooled = o.encrypt_and_pool(&values);
            black_box(o.decrypt_pooled(&ks, &pooled, ROUND_VALUES))
        });
    });
    // The same round with the values declared at fhe.rs's width: pooled values of
    // 20 bits (each party's below 1000, as fhe.rs's), so one coefficient per value
    // under `large` and two under `default` (t = 2^19 < 2^20); and at the values' own
    // width, what `Width::for_bound` gives for them over 10 parties (one coefficient
    // per value under both sets).
    let (small, expected, own) = common::round_values(PARTIES, ROUND_VALUES);
    for (width, name) in [
        (
            Width::integer(20).unwrap(),
            "ours/round 10 parties 8192 values",
        ),
        (own, "ours/round 10 parties 8192 values, own width"),
    ] {
        let layout = Layout::from_widths(&vec![width; ROUND_VALUES])
            .with_parties(PARTIES)
            .unwrap();
        assert_eq!(o.round_at(&ks, &layout, &small), expected);
        println!(
            "{set}: 8192 values at {} bits take {} ciphertexts per party (full width: {})",
            width.bits(),
            layout.num_plaintexts(&params),
            Layout::full(ROUND_VALUES)
                .with_parties(PARTIES)
                .unwrap()
                .num_plaintexts(&params)
        );
        g.bench_function(name, |b| {
            b.iter(|| black_box(o.round_at(&ks, &layout, &small)));
        });
    }

    // fhe.rs, same N and moduli.
    let t = theirs(&params);
    let mut rng = rand09::rng();
    g.bench_function("fhe.rs/keygen share", |b| {
        b.iter(|| black_box(PublicKeyShare::new(&t.sks[0], t.crp.clone(), &mut rng).unwrap()));
    });
    let fpt = fhe_plaintext(&t.par, 3);
    g.bench_function("fhe.rs/encrypt 1 ct", |b| {
        b.iter(|| black_box(t.pk.try_encrypt(&fpt, &mut rng).unwrap()))
    });
    let fcts: Vec<bfv::Ciphertext> = (0..PARTIES)
        .map(|_| t.pk.try_encrypt(&fpt, &mut rng).unwrap())
        .collect();
    g.bench_function("fhe.rs/add 10 cts", |b| {
        b.iter(|| {
            let mut acc = fcts[0].clone();
            for ct in &fcts[1..] {
                acc += ct;
            }
            black_box(acc)
        });
    });
    let mut fpooled = fcts[0].clone();
    for ct in &fcts[1..] {
        fpooled += ct;
    }
    let fpooled = Arc::new(fpooled);
    g.bench_function("fhe.rs/decryption share", |b| {
        b.iter(|| black_box(DecryptionShare::new(&t.sks[0], &fpooled, &mut rng).unwrap()));
    });
    g.bench_function("fhe.rs/combine 10 shares", |b| {
        b.iter_batched(
            || {
                let mut r = rand09::rng();
                t.sks
                    .iter()
                    .map(|sk| DecryptionShare::new(sk, &fpooled, &mut r).unwrap())
                    .collect::<Vec<_>>()
            },
            |shares| {
                let pt: bfv::Plaintext = shares.into_iter().aggregate().unwrap();
                black_box(pt)
            },
            BatchSize::SmallInput,
        );
    });
    let fvalues: Vec<Vec<u64>> = (0..PARTIES)
        .map(|p| {
            (0..ROUND_VALUES as u64)
                .map(|i| (i * 31 + p as u64) % 1000)
                .collect()
        })
        .collect();
    g.bench_function("fhe.rs/round 10 parties 8192 values", |b| {
        b.iter(|| black_box(t.round(&fvalues, &mut rng)));
    });
    g.finish();
}

/// A site's side of one query through the `Site` API (`default` set): its signed
/// contribution of 8 values, and its decryption share, which includes computing the
/// pooled `c1` of all K contributions from the group secret.
fn bench_site(c: &mut Criterion) {
    let mut g = c.benchmark_group("site query (default, 8 values)");
    for k in [3usize, 10] {
        let mut sites = common::federation(k, "default", 0, 2);
        let names = common::names(&sites);
        let values: Vec<Vec<f64>> = (0..k).map(|i| vec![i as f64 + 0.5; 8]).collect();
        let mut next = 0u32;
        g.bench_function(format!("contribute, {k} sites"), |b| {
            b.iter(|| {
                next += 1;
                black_box(
                    sites[0]
                        .contribute(
                            common::qid(next),
                            &common::spec("mean", "x", &names),
                            &values[0],
                        )
                        .unwrap(),
                )
            });
        });
        g.bench_function(format!("decrypt (pooled c1 computed), {k} sites"), |b| {
            // Each share needs a fresh query: time the decryption alone.
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    next += 1;
                    let q = common::pool_query(&mut sites, common::qid(next), &values, &names);
                    let start = std::time::Instant::now();
                    black_box(sites[0].decrypt(&q.request).unwrap());
                    total += start.elapsed();
                }
                total
            });
        });
    }
    g.finish();
}

fn main() {
    print_sizes();
    print_traffic();
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    for set in ["default", "large"] {
        bench_set(&mut c, set);
    }
    bench_site(&mut c);
    c.final_summary();
}
