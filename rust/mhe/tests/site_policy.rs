//! The site's own rules on sets, thresholds and its durable ledger, through `Site`:
//! a contribution is a release, so each variable stays tied to one set of sites, in
//! this session and in later ones that share the audit file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod common;

use std::path::PathBuf;

use common::{finish_keygen, names, new_sites, qid, roster_of};
use mhe::audit::{self, Event};
use mhe::policy::SitePolicy;
use mhe::site::{QuerySpec, SetupStage, Site};
use mhe::{Error, RefusalKind};

fn kind<T: std::fmt::Debug>(r: mhe::Result<T>) -> (RefusalKind, String) {
    match r {
        Err(Error::Refused(x)) => (x.kind, x.message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn temp_file(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mhe-site-policy-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir.join("audit.log")
}

/// `k` sites that joined with `policy` and finished key generation.
fn setup(k: usize, threshold: usize, policy: &SitePolicy) -> Vec<Site> {
    let mut sites = new_sites(k, "default");
    let roster = roster_of(&sites);
    let shares: Vec<Vec<u8>> = sites
        .iter_mut()
        .map(|s| s.join(&roster, threshold, policy).unwrap())
        .collect();
    finish_keygen(&mut sites, &shares);
    sites
}

fn open(audit_file: Option<PathBuf>) -> SitePolicy {
    SitePolicy {
        min_parties: 2,
        min_threshold: Some(2),
        allow_unpinned: true,
        audit_file,
        ..SitePolicy::default()
    }
}

fn vars(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| (*x).to_owned()).collect()
}

fn contribute(
    s: &mut Site,
    q: u32,
    variables: &[String],
    sites: &[String],
) -> mhe::Result<Vec<u8>> {
    let spec = QuerySpec {
        kind: "mean",
        call: "mheMeanDS(x = D$x)",
        variables,
        sites,
    };
    s.contribute(qid(q), &spec, &[1.0, 2.0])
}

#[test]
fn a_threshold_below_the_admins_minimum_is_refused_at_join() {
    let mut sites = new_sites(3, "default");
    let roster = roster_of(&sites);
    let none = SitePolicy {
        min_threshold: None,
        ..open(None)
    };
    let (k, m) = kind(sites[0].join(&roster, 2, &none));
    assert_eq!(k, RefusalKind::ThresholdBelowMinimum, "{m}");
    assert!(m.contains("mhe.min.threshold"), "{m}");
    assert_eq!(sites[0].stage(), SetupStage::Created);
    // Without a threshold the same site joins.
    assert!(sites[0].join(&roster, 0, &none).is_ok());
}

#[test]
fn a_variable_released_over_three_sites_is_never_released_over_two() {
    let mut sites = setup(3, 2, &open(None));
    let n = names(&sites);
    let x = vars(&["D$x"]);
    for s in sites.iter_mut() {
        contribute(s, 1, &x, &n).unwrap();
    }
    // A pair query on the same variable: refused by the ledger, naming the earlier set.
    let (k, m) = kind(contribute(
        &mut sites[0],
        2,
        &vars(&["D$y", "D$x"]),
        &n[..2],
    ));
    assert_eq!(k, RefusalKind::SetChanged);
    assert!(m.contains("D$x") && m.contains("site1,site2,site3"), "{m}");
    // Another variable may go over the pair; then it is tied to the pair.
    contribute(&mut sites[0], 3, &vars(&["D$z"]), &n[..2]).unwrap();
    let (k, _) = kind(contribute(&mut sites[0], 4, &vars(&["D$z"]), &n));
    assert_eq!(k, RefusalKind::SetChanged);
}

#[test]
fn the_ledger_survives_a_new_session_through_the_audit_file() {
    let path = temp_file("ledger");
    let mut first = setup(3, 2, &open(Some(path.clone())));
    let n = names(&first);
    for s in first.iter_mut() {
        contribute(s, 1, &vars(&["D$x"]), &n).unwrap();
        s.wipe();
        assert_eq!(s.stage(), SetupStage::Wiped);
    }
    let records = audit::read(&path).unwrap();
    assert_eq!(records.len(), 3);
    assert!(records.iter().all(|r| r.event == Event::Contribution));
    // A new session of the same sites with the same file: the pair is refused, and
    // each site read only its own records (site3 has never released D$y).
    let mut second = setup(3, 2, &open(Some(path.clone())));
    let (k, _) = kind(contribute(&mut second[0], 1, &vars(&["D$x"]), &n[..2]));
    assert_eq!(k, RefusalKind::SetChanged);
    contribute(&mut second[2], 2, &vars(&["D$y"]), &n[1..]).unwrap();
    assert_eq!(audit::read(&path).unwrap().len(), 4);
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

#[test]
fn an_unwritable_audit_file_stops_the_contribution() {
    let dir = temp_file("unwritable");
    let blocker = dir.parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&blocker).unwrap();
    // A directory where the file should be: the append fails.
    std::fs::create_dir_all(&dir).unwrap();
    let mut sites = setup(2, 0, &open(Some(dir.clone())));
    let n = names(&sites);
    let (k, m) = kind(contribute(&mut sites[0], 1, &vars(&["D$x"]), &n));
    assert_eq!(k, RefusalKind::Audit, "{m}");
    assert!(sites[0].audit().is_empty());
    std::fs::remove_dir_all(&blocker).unwrap();
}

#[test]
fn with_pinned_peers_every_query_covers_the_whole_roster() {
    let mut sites = new_sites(3, "default");
    let fps: Vec<String> = sites.iter().map(|s| s.fingerprint().unwrap()).collect();
    let roster = roster_of(&sites);
    let shares: Vec<Vec<u8>> = sites
        .iter_mut()
        .enumerate()
        .map(|(i, s)| {
            let policy = SitePolicy {
                min_parties: 2,
                min_threshold: Some(2),
                pinned: fps
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, f)| f.clone())
                    .collect(),
                ..SitePolicy::default()
            };
            s.join(&roster, 2, &policy).unwrap()
        })
        .collect();
    finish_keygen(&mut sites, &shares);
    let n = names(&sites);
    let (k, _) = kind(contribute(&mut sites[0], 1, &vars(&["D$x"]), &n[..2]));
    assert_eq!(k, RefusalKind::SetNotWholeRoster);
    contribute(&mut sites[0], 2, &vars(&["D$x"]), &n).unwrap();
    // Pinned members are known in the ledger by their fingerprints.
    let sites_logged = &sites[0].audit()[0].sites;
    assert!(
        fps[1..]
            .iter()
            .all(|f| sites_logged.contains(&f.to_ascii_lowercase()))
    );
}

#[test]
fn a_wiped_site_refuses_everything() {
    let mut sites = setup(2, 0, &open(None));
    let n = names(&sites);
    assert!(sites[0].generator_key().is_some());
    sites[0].wipe();
    // What a reader of the site's memory finds of its generator after wipe(): nothing
    // (fast key erasure already kept the state from leading back to earlier draws).
    assert_eq!(sites[0].generator_key(), None);
    let (k, _) = kind(contribute(&mut sites[0], 1, &vars(&["D$x"]), &n));
    assert_eq!(k, RefusalKind::State);
    assert!(sites[0].fingerprint().is_err());
}
