//! Differential privacy wired through the protocol (issue 14): the noise shares of
//! K sites, drawn in the real `Site::contribute_dp`, pooled by the analyst and
//! decrypted jointly, add up to the documented total; the budget refuses before
//! anything is encrypted and survives a reload of the audit file; the DP facts are
//! signed with the contribution.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss,
    missing_docs
)]

mod common;

use common::{SESSION, decrypt_all, finish_keygen, names, new_sites, qid, refs, roster_of, spec};
use mhe::analyst;
use mhe::dp::accounting::rho_for_epsilon;
use mhe::messages::{Contribution, DpFacts};
use mhe::policy::SitePolicy;
use mhe::site::Site;
use mhe::{DpQuery, Error, RefusalKind};

/// Sites `site1..sitek` of one session with key generation finished, sharing
/// `audit` as their audit file (each reads only its own lines).
fn dp_federation(k: usize, threshold: usize, audit: Option<&std::path::Path>) -> Vec<Site> {
    let mut sites = new_sites(k, "default");
    let roster = roster_of(&sites);
    let policy = SitePolicy {
        min_parties: 2,
        min_threshold: Some(2),
        allow_unpinned: true,
        audit_file: audit.map(std::path::Path::to_path_buf),
        ..SitePolicy::default()
    };
    let shares: Vec<Vec<u8>> = sites
        .iter_mut()
        .map(|s| s.join(&roster, threshold, &policy).unwrap())
        .collect();
    finish_keygen(&mut sites, &shares);
    sites
}

const DELTA: f64 = 1e-6;

fn dp_query(total_epsilon: f64, epsilon: f64) -> DpQuery {
    DpQuery {
        total_epsilon,
        delta: DELTA,
        epsilon,
        l2: 1.0,
        l1: 1.0,
    }
}

/// Every site contributes `values` to query `q` under `dp`: the blobs.
fn contribute_dp(sites: &mut [Site], q: u32, values: &[f64], dp: &DpQuery) -> Vec<Vec<u8>> {
    let n = names(sites);
    sites
        .iter_mut()
        .map(|s| {
            s.contribute_dp(qid(q), &spec("sum", "x", &n), values, Some(dp))
                .unwrap()
        })
        .collect()
}

/// Pools and decrypts: the pooled values (40-bit fixed point) and each site's facts.
fn pool_and_decrypt(sites: &mut [Site], blobs: &[Vec<u8>]) -> (Vec<i128>, Vec<Option<DpFacts>>) {
    let n = names(sites);
    let (pooled, request, dp) = analyst::pool_with_dp(&refs(blobs), &n).unwrap();
    let shares = decrypt_all(sites, &request);
    let values = analyst::combine_fixed(&pooled, &refs(&shares)).unwrap();
    (values, dp.into_iter().map(|(_, f)| f).collect())
}

fn refusal<T: std::fmt::Debug>(r: mhe::Result<T>) -> (String, RefusalKind) {
    match r {
        Err(Error::Refused(m)) => (m.message, m.kind),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Kolmogorov-Smirnov distance of `x` from N(0, var).
fn ks_normal(x: &mut [f64], var: f64) -> f64 {
    x.sort_by(f64::total_cmp);
    let n = x.len() as f64;
    let sd = var.sqrt();
    let cdf = |z: f64| 0.5 * erfc(-z / (sd * std::f64::consts::SQRT_2));
    x.iter()
        .enumerate()
        .map(|(i, &v)| {
            let f = cdf(v);
            (f - i as f64 / n).abs().max((f - (i + 1) as f64 / n).abs())
        })
        .fold(0.0, f64::max)
}

/// erfc to about 1e-7 (Numerical Recipes' Chebyshev fit), enough for a KS test of
/// some 10^4 draws.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[test]
fn the_pooled_noise_of_three_sites_has_the_documented_total_distribution() {
    // 3-of-3: the analyst may collude with 2 sites, so each share alone carries the
    // guarantee (h = 1). All values 0: the decrypted pool is the noise itself.
    let mut sites = dp_federation(3, 0, None);
    let len = 2048;
    let zeros = vec![0.0; len];
    let dp = dp_query(1000.0, 1.0);
    let mut noise = Vec::new();
    let mut facts_seen = Vec::new();
    for q in 1..=5 {
        let blobs = contribute_dp(&mut sites, q, &zeros, &dp);
        let (pooled, facts) = pool_and_decrypt(&mut sites, &blobs);
        let f: Vec<DpFacts> = facts.into_iter().map(Option::unwrap).collect();
        noise.extend(pooled.iter().map(|&v| v as f64 / 2f64.powi(40)));
        facts_seen.extend(f);
    }
    let f0 = facts_seen[0].clone();
    // Every site computes the same share from public values.
    for f in &facts_seen {
        assert_eq!(f.mechanism, DpFacts::DISCRETE_GAUSSIAN_SHARES);
        assert_eq!((f.grid_bits, f.honest), (f0.grid_bits, 1));
        assert_eq!(f.variance.to_bits(), f0.variance.to_bits());
    }
    // The calibration reaches the target: rho at most rho*(1, 1e-6), epsilon in
    // (0.99, 1], and sigma^2 >= Delta^2 / (2 rho*) with one honest share.
    let target = rho_for_epsilon(1.0, DELTA).unwrap().value();
    assert!(
        f0.rho <= target && f0.epsilon <= 1.0 && f0.epsilon > 0.99,
        "{f0:?}"
    );
    assert!(f0.variance >= 1.0 / (2.0 * target) * (1.0 - 1e-9), "{f0:?}");
    // The pooled noise: 3 independent shares, variance 3 Var(share). With 10240
    // draws the sample variance has a relative standard error of sqrt(2/10240) =
    // 1.4%: 5 standard errors give a false failure below 1e-6.
    let total = 3.0 * f0.variance;
    let n = noise.len() as f64;
    let mean = noise.iter().sum::<f64>() / n;
    let var = noise.iter().map(|x| x * x).sum::<f64>() / n;
    let se = (2.0 / n).sqrt();
    assert!(
        (var / total - 1.0).abs() < 5.0 * se,
        "pooled variance {var}, documented {total}"
    );
    assert!(mean.abs() < 5.0 * (total / n).sqrt(), "mean {mean}");
    // At sigma of about 2^40 grid units the sum of three discrete Gaussians is the
    // normal law to far better than the test resolves: KS against N(0, total) at the
    // 0.1% level (critical value 1.95 / sqrt(n)).
    let d = ks_normal(&mut noise, total);
    assert!(
        d < 1.95 / n.sqrt(),
        "KS distance {d} (critical {})",
        1.95 / n.sqrt()
    );
}

#[test]
fn a_threshold_key_calibrates_for_the_honest_sites_and_the_values_survive_the_noise() {
    // 2-of-3: h = 3 - 2 + 1 = 2 honest shares carry the guarantee together.
    let mut sites = dp_federation(3, 2, None);
    let values: Vec<f64> = (0..64).map(|i| f64::from(i) * 1000.0).collect();
    let dp = dp_query(1000.0, 1.0);
    let blobs = contribute_dp(&mut sites, 1, &values, &dp);
    let (pooled, facts) = pool_and_decrypt(&mut sites, &blobs);
    let f = facts[0].clone().unwrap();
    assert_eq!(f.honest, 2);
    let sd = (3.0 * f.variance).sqrt();
    let errors: Vec<f64> = pooled
        .iter()
        .zip(&values)
        .map(|(&p, &v)| p as f64 / 2f64.powi(40) - 3.0 * v)
        .collect();
    // Not exact, and within 6 sd of the truth (false failure below 1e-7 per value).
    assert!(errors.iter().any(|e| *e != 0.0));
    assert!(
        errors.iter().all(|e| e.abs() < 6.0 * sd),
        "{errors:?} sd {sd}"
    );
}

#[test]
fn a_query_beyond_the_budget_is_refused_before_encryption_and_after_a_reload() {
    let dir = std::env::temp_dir().join(format!("mhe-dp-wiring-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let audit = dir.join("audit.log");
    let mut sites = dp_federation(2, 0, Some(&audit));
    let zeros = vec![0.0; 4];
    // Each query spends epsilon 0.8 of a total of 1: the first fits, the second
    // does not (zCDP costs add: 2 rho(0.8) is about 1.3 rho(1)).
    let dp = dp_query(1.0, 0.8);
    let blobs = contribute_dp(&mut sites, 1, &zeros, &dp);
    let facts = Contribution::parse(&blobs[0]).unwrap().dp.unwrap();
    assert_eq!(facts.queries, 1);
    assert_eq!(facts.analyst, "unpinned");
    assert!(facts.budget_spent > 0.0 && facts.budget_spent <= facts.budget_total);
    let lines = std::fs::read_to_string(&audit).unwrap().lines().count();
    let n = names(&sites);
    let (msg, kind) =
        refusal(sites[0].contribute_dp(qid(2), &spec("sum", "x", &n), &zeros, Some(&dp)));
    assert_eq!(kind, RefusalKind::Budget, "{msg}");
    assert!(msg.contains("budget"), "{msg}");
    // Refused before anything was encrypted or logged: no line, and the query id was
    // not consumed (the same id contributes without DP).
    assert_eq!(
        std::fs::read_to_string(&audit).unwrap().lines().count(),
        lines
    );
    sites[0]
        .contribute(qid(2), &spec("sum", "x", &n), &zeros)
        .unwrap();
    // A new session (a new setup) reads the budget back from the audit file.
    let mut again = dp_federation(2, 0, Some(&audit));
    let n2 = names(&again);
    let (_, kind) =
        refusal(again[1].contribute_dp(qid(9), &spec("sum", "x", &n2), &zeros, Some(&dp)));
    assert_eq!(kind, RefusalKind::Budget);
    // A smaller query still fits what is left.
    let small = dp_query(1.0, 0.05);
    let blob = again[1]
        .contribute_dp(qid(10), &spec("sum", "x", &n2), &zeros, Some(&small))
        .unwrap();
    let f = Contribution::parse(&blob).unwrap().dp.unwrap();
    assert_eq!(f.queries, 2);
    assert!(f.budget_spent > facts.budget_spent);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn altered_dp_facts_fail_the_signature() {
    let mut sites = dp_federation(3, 0, None);
    let n = names(&sites);
    let blobs = contribute_dp(&mut sites, 1, &[1.0, 2.0], &dp_query(10.0, 1.0));
    let p = mhe::Params::by_name("default").unwrap();
    let tamper_at = |i: usize, edit: &dyn Fn(&mut Contribution)| {
        let mut c = Contribution::parse(&blobs[i]).unwrap();
        edit(&mut c);
        Contribution::encode(
            &p,
            &SESSION,
            &c.statement,
            &c.names,
            c.dp.as_ref(),
            &c.c0s,
            &c.sig,
        )
    };
    let doubled = tamper_at(2, &|c| {
        let f = c.dp.as_mut().unwrap();
        f.sigma *= 2.0;
        f.variance *= 4.0;
    });
    // An honest pool refuses a mix of DP on and off, so the forger drops the
    // facts of every contribution; the signatures still cover them.
    let drop = |c: &mut Contribution| c.dp = None;
    let dropped = [
        tamper_at(0, &drop),
        tamper_at(1, &drop),
        tamper_at(2, &drop),
    ];
    let mixed = [blobs[0].clone(), blobs[1].clone(), dropped[2].clone()];
    assert!(analyst::pool(&refs(&mixed), &n).is_err());
    for set in [[blobs[0].clone(), blobs[1].clone(), doubled], dropped] {
        let (_, request) = analyst::pool(&refs(&set), &n).unwrap();
        let (msg, kind) = refusal(sites[0].decrypt(&request));
        assert_eq!(kind, RefusalKind::BadAttestation, "{msg}");
        assert!(msg.contains("site"), "{msg}");
    }
}

#[test]
fn an_analyst_is_known_by_a_pinned_key_and_every_other_analyst_shares_one_budget() {
    let mut sites = dp_federation(2, 0, None);
    let seed = [7u8; 32];
    let other = [8u8; 32];
    let id0 = sites[0].identity().unwrap();
    let (vk, sig) = mhe::sign_analyst_challenge(&seed, &id0).unwrap();
    let fp = mhe::identity::fingerprint(&vk);
    assert_eq!(
        sites[0]
            .authenticate_analyst(&vk, &sig, std::slice::from_ref(&fp))
            .unwrap(),
        fp
    );
    // A signature for the other site (another challenge) is refused, and the
    // identity stays.
    let id1 = sites[1].identity().unwrap();
    let (_, sig1) = mhe::sign_analyst_challenge(&seed, &id1).unwrap();
    let (_, kind) = refusal(sites[0].authenticate_analyst(&vk, &sig1, std::slice::from_ref(&fp)));
    assert_eq!(kind, RefusalKind::BadAttestation);
    assert_eq!(sites[0].analyst(), fp);
    // An unpinned key is charged to the shared budget.
    let (vk2, sig2) = mhe::sign_analyst_challenge(&other, &id1).unwrap();
    assert_eq!(
        sites[1]
            .authenticate_analyst(&vk2, &sig2, std::slice::from_ref(&fp))
            .unwrap(),
        "unpinned"
    );
    let blobs = contribute_dp(&mut sites, 1, &[0.0], &dp_query(10.0, 1.0));
    let who: Vec<String> = blobs
        .iter()
        .map(|b| Contribution::parse(b).unwrap().dp.unwrap().analyst)
        .collect();
    assert_eq!(who, vec![fp, "unpinned".to_owned()]);
}

#[test]
fn a_dp_block_out_of_range_or_of_an_unknown_version_is_malformed() {
    let mut sites = dp_federation(2, 0, None);
    let blobs = contribute_dp(&mut sites, 1, &[1.0], &dp_query(10.0, 1.0));
    let p = mhe::Params::by_name("default").unwrap();
    let c = Contribution::parse(&blobs[0]).unwrap();
    let encode = |dp: &DpFacts| {
        Contribution::encode(
            &p,
            &SESSION,
            &c.statement,
            &c.names,
            Some(dp),
            &c.c0s,
            &c.sig,
        )
    };
    let good = c.dp.clone().unwrap();
    let bad: Vec<(&str, DpFacts)> = vec![
        (
            "NaN sigma",
            DpFacts {
                sigma: f64::NAN,
                ..good.clone()
            },
        ),
        (
            "negative rho",
            DpFacts {
                rho: -1.0,
                ..good.clone()
            },
        ),
        (
            "delta 1",
            DpFacts {
                delta: 1.0,
                ..good.clone()
            },
        ),
        (
            "grid 41",
            DpFacts {
                grid_bits: 41,
                ..good.clone()
            },
        ),
        (
            "mechanism 9",
            DpFacts {
                mechanism: 9,
                ..good.clone()
            },
        ),
        (
            "no honest site",
            DpFacts {
                honest: 0,
                ..good.clone()
            },
        ),
        (
            "no analyst",
            DpFacts {
                analyst: String::new(),
                ..good.clone()
            },
        ),
    ];
    for (what, f) in bad {
        match Contribution::parse(&encode(&f)) {
            Err(Error::Malformed(_)) => {}
            other => panic!("{what}: expected Malformed, got {:?}", other.map(|_| ())),
        }
    }
    // The block's version byte follows the statement's fields: a version 2 block is
    // refused, not read as something else.
    let blob = encode(&good);
    let plain = Contribution::encode(&p, &SESSION, &c.statement, &c.names, None, &c.c0s, &c.sig);
    // The two encodings differ from the version byte on: find it.
    let pos = plain.iter().zip(&blob).position(|(a, b)| a != b).unwrap();
    assert_eq!((plain[pos], blob[pos]), (0, 1));
    let mut v2 = blob.clone();
    v2[pos] = 2;
    assert!(
        matches!(Contribution::parse(&v2), Err(Error::Malformed(m)) if m.contains("version 2"))
    );
    assert!(Contribution::parse(&blob).is_ok());
}

#[test]
fn two_sessions_of_one_site_racing_for_the_last_of_the_budget_release_once() {
    // An analyst logs in several times and sends the same expensive query in every
    // session at once: each session is a separate Site over the same audit file (as
    // separate R processes on a server). Each query spends epsilon 0.8 of a total of
    // 1, so the budget fits one: exactly one session may release.
    let dir = std::env::temp_dir().join(format!("mhe-dp-race-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let audit = dir.join("audit.log");
    const SESSIONS: usize = 4;
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(SESSIONS));
    let handles: Vec<_> = (0..SESSIONS)
        .map(|_| {
            let mut sites = dp_federation(2, 0, Some(&audit));
            let barrier = std::sync::Arc::clone(&barrier);
            std::thread::spawn(move || {
                let n = names(&sites);
                let values = vec![0.0; 64];
                barrier.wait();
                sites[0].contribute_dp(
                    qid(1),
                    &spec("sum", "x", &n),
                    &values,
                    Some(&dp_query(1.0, 0.8)),
                )
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let released = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(released, 1, "{results:?}");
    for r in results.into_iter().filter(std::result::Result::is_err) {
        assert_eq!(refusal(r).1, RefusalKind::Budget);
    }
    // The ledger holds one charge, and a new session still finds the budget spent.
    let text = std::fs::read_to_string(&audit).unwrap();
    assert_eq!(
        text.lines().filter(|l| l.starts_with("v2\t")).count(),
        1,
        "{text}"
    );
    let mut again = dp_federation(2, 0, Some(&audit));
    let n = names(&again);
    let (_, kind) = refusal(again[0].contribute_dp(
        qid(2),
        &spec("sum", "x", &n),
        &[0.0],
        Some(&dp_query(1.0, 0.8)),
    ));
    assert_eq!(kind, RefusalKind::Budget);
    let _ = std::fs::remove_dir_all(&dir);
}
