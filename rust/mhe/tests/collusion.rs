//! What a site colluding with the analyst can do with the group secret (SECURITY.md,
//! section 5): strip the encryption randomness of every contribution and decrypt any
//! pooled sum it took part in from the contributions alone, without a single
//! decryption share; and what it still cannot do: read one honest site's
//! contribution, which the pairwise zero-sum masks keep hidden while two members of
//! the set are honest.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    missing_docs
)]

mod common;

use common::{Parties, TestRng, column_sums, int_vectors};
use mhe::ciphertext::{encrypt_with_shared, scale_and_round};
use mhe::encoding::{Plaintext, decode, encode};
use mhe::keys::PublicKey;
use mhe::params::Params;
use mhe::protocols::zero_sum;
use mhe::protocols::{GroupSecret, GroupSecretProtocol};
use mhe::ring::{Form, Poly};
use std::sync::Arc;

const SESSION: [u8; 16] = [42; 16];
const QUERY: [u8; 16] = [7; 16];

/// The pairwise key of sites `i` and `j` (symmetric), as the key agreement gives it.
fn pair_key(i: usize, j: usize) -> [u8; 32] {
    let (a, b) = if i < j { (i, j) } else { (j, i) };
    let mut k = [0u8; 32];
    k[0] = a as u8;
    k[1] = b as u8;
    k[2] = 0xA5;
    k
}

/// What the analyst receives from each site of the set: `c0` only, encrypted as a
/// `Site` does it (masked plaintext, `u` from the group secret, fresh `e0`).
fn contributions(parties: &mut Parties, group: &GroupSecret, values: &[Vec<i128>]) -> Vec<Poly> {
    let params = parties.params.clone();
    let gsp = GroupSecretProtocol::new(params.clone());
    let k = values.len();
    (0..k)
        .map(|i| {
            let keys: Vec<(usize, [u8; 32])> = (0..k)
                .filter(|&j| j != i)
                .map(|j| (j, pair_key(i, j)))
                .collect();
            let peers: Vec<(usize, &[u8; 32])> = keys.iter().map(|(j, key)| (*j, key)).collect();
            let mut pt = encode(&params, &values[i]).unwrap().remove(0);
            pt.add_assign(&zero_sum::mask(&params, i, &peers, b"ctx"), &params);
            let r = gsp.shared_randomness(group, &SESSION, &QUERY, i as u16, 0);
            encrypt_with_shared(&params, &parties.pk, &pt, &r.u, &mut parties.rng)
        })
        .collect()
}

/// The colluder's decryption: with the group secret it recomputes every `u_k` of
/// `sites`, subtracts `p0 * Σu_k` (p0 is public) from `Σ c0_k`, which leaves
/// `Δ * Σ(m_k + mask_k) + Σ e0_k`, and rounds. No secret-key share is used.
fn strip_and_round(
    params: &Arc<Params>,
    pk: &PublicKey,
    group: &GroupSecret,
    c0s: &[Poly],
    sites: &[usize],
) -> Plaintext {
    let gsp = GroupSecretProtocol::new(params.clone());
    let mut u_sum = vec![0i64; params.n()];
    let mut c0_sum = Poly::zero(params, Form::Coeff);
    for &i in sites {
        let r = gsp.shared_randomness(group, &SESSION, &QUERY, i as u16, 0);
        u_sum.iter_mut().zip(r.u.iter()).for_each(|(a, b)| *a += b);
        c0_sum.add_assign(&c0s[i], params);
    }
    let mut pu = Poly::from_signed(params, &u_sum);
    pu.to_ntt(params);
    pu.mul_assign_ntt(pk.polys().0, params);
    pu.to_coeff(params);
    c0_sum.sub_assign(&pu, params);
    scale_and_round(params, &c0_sum)
}

#[test]
fn a_site_holding_the_group_secret_decrypts_a_pool_it_took_part_in_without_any_share() {
    let params = Params::by_name("default").unwrap();
    let k = 3;
    let mut parties = Parties::new(&params, k, [31; 32], [32; 32]);
    let gsp = GroupSecretProtocol::new(params.clone());
    let shares: Vec<_> = (0..k).map(|_| gsp.gen_share(&mut parties.rng)).collect();
    let group = gsp.aggregate_shares(&SESSION, &[9; 32], &shares);
    let len = params.values_per_ciphertext();
    let values = int_vectors(&mut TestRng::new(31), k, len);
    let c0s = contributions(&mut parties, &group, &values);

    // The pooled sum, from the three c0s and the group secret alone.
    let pooled = strip_and_round(&params, &parties.pk, &group, &c0s, &[0, 1, 2]);
    assert_eq!(
        decode(&params, &[pooled], len).unwrap(),
        column_sums(&values)
    );

    // One honest site's contribution, even after the colluder removes the mask term
    // it shares with that site: still masked by the term of the other honest site.
    for victim in [1, 2] {
        let mut one = strip_and_round(&params, &parties.pk, &group, &c0s, &[victim]);
        let known_key = pair_key(0, victim);
        let known = zero_sum::mask(&params, victim, &[(0, &known_key)], b"ctx");
        one.sub_assign(&known, &params);
        let got = decode(&params, &[one], len).unwrap();
        let same = got
            .iter()
            .zip(&values[victim])
            .filter(|(a, b)| a == b)
            .count();
        assert_eq!(same, 0, "site {victim}'s contribution leaked {same} values");
    }
    // What it learns beyond its own input is the sum of the two honest sites: the
    // pooled sum it was entitled to, minus its own values.
    let mut honest = strip_and_round(&params, &parties.pk, &group, &c0s, &[1, 2]);
    let own_peers: Vec<(usize, [u8; 32])> = [1, 2].iter().map(|&j| (j, pair_key(0, j))).collect();
    let refs: Vec<(usize, &[u8; 32])> = own_peers.iter().map(|(j, key)| (*j, key)).collect();
    // The honest sites' masks sum to minus the colluder's own mask.
    honest.add_assign(&zero_sum::mask(&params, 0, &refs, b"ctx"), &params);
    let expected: Vec<i128> = values[1]
        .iter()
        .zip(&values[2])
        .map(|(a, b)| a + b)
        .collect();
    assert_eq!(decode(&params, &[honest], len).unwrap(), expected);
}
