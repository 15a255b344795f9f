//! A whole federation in one process: sites and analyst exchange blobs as they would
//! through DataSHIELD.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use mhe::analyst;
use mhe::policy::SitePolicy;
use mhe::site::{QuerySpec, Site};

pub fn federation(k: usize, params: &str, threshold: usize) -> Vec<Site> {
    let session = [42u8; 16];
    let mut sites: Vec<Site> = (0..k)
        .map(|i| Site::new(&format!("site{}", i + 1), session, params).unwrap())
        .collect();
    let ids: Vec<Vec<u8>> = sites.iter().map(|s| s.identity().unwrap()).collect();
    let roster = analyst::roster_build(&ids.iter().map(Vec::as_slice).collect::<Vec<_>>()).unwrap();
    let shares: Vec<Vec<u8>> = sites
        .iter_mut()
        .map(|s| {
            let policy = SitePolicy {
                min_parties: 2.min(k),
                min_threshold: Some(2),
                allow_unpinned: true,
                ..SitePolicy::default()
            };
            s.join(&roster, threshold, &policy).unwrap()
        })
        .collect();
    let bundles = analyst::keygen_bundles(&slices(&shares)).unwrap();
    let evals: Vec<Vec<u8>> = sites
        .iter_mut()
        .zip(&bundles)
        .map(|(s, (_, b))| s.finalize(b).unwrap())
        .collect();
    let all = analyst::keygen_evaluations(&slices(&shares), &slices(&evals)).unwrap();
    let confs: Vec<Vec<u8>> = sites.iter_mut().map(|s| s.confirm(&all).unwrap()).collect();
    analyst::confirmations_check(&slices(&confs)).unwrap();
    sites
}

/// Runs one query: every site contributes, the analyst pools, the decryptors decrypt.
///
/// # Errors
/// Whatever a site or the analyst refuses.
pub fn run_query(
    sites: &mut [Site],
    query: [u8; 16],
    values: &[Vec<f64>],
    decryptors: &[usize],
) -> mhe::Result<Vec<f64>> {
    let names: Vec<String> = sites.iter().map(|s| s.name().to_owned()).collect();
    let contribs: Vec<Vec<u8>> = sites
        .iter_mut()
        .zip(values)
        .map(|(s, v)| {
            s.contribute(
                query,
                &QuerySpec {
                    kind: "sum",
                    call: "x",
                    variables: &["x".to_owned()],
                    sites: &names,
                },
                v,
            )
        })
        .collect::<mhe::Result<_>>()?;
    let dec: Vec<String> = decryptors.iter().map(|&i| names[i].clone()).collect();
    let (pooled, request) = analyst::pool(
        &contribs.iter().map(Vec::as_slice).collect::<Vec<_>>(),
        &dec,
    )?;
    let shares: Vec<Vec<u8>> = decryptors
        .iter()
        .map(|&i| sites[i].decrypt(&request))
        .collect::<mhe::Result<_>>()?;
    analyst::combine(
        &pooled,
        &shares.iter().map(Vec::as_slice).collect::<Vec<_>>(),
    )
}

#[test]
fn three_sites_pool_a_sum_exactly() {
    let mut sites = federation(3, "default", 0);
    let values = vec![
        vec![1.5, 2.0, -3.25],
        vec![10.0, 0.0, 1e6],
        vec![-0.5, 7.0, 0.125],
    ];
    let got = run_query(&mut sites, [1; 16], &values, &[0, 1, 2]).unwrap();
    assert_eq!(got, vec![11.0, 9.0, 1e6 - 3.125]);
}

#[test]
fn two_of_three_threshold_decrypts_with_any_pair() {
    let mut sites = federation(3, "default", 2);
    let values = vec![vec![1.0], vec![2.0], vec![4.0]];
    for (q, pair) in [[0usize, 1], [0, 2], [1, 2]].iter().enumerate() {
        let got = run_query(
            &mut sites,
            [10 + u8::try_from(q).unwrap(); 16],
            &values,
            pair,
        )
        .unwrap();
        assert_eq!(got, vec![7.0]);
    }
}

fn slices(v: &[Vec<u8>]) -> Vec<&[u8]> {
    v.iter().map(Vec::as_slice).collect()
}
