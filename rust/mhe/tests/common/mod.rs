//! Helpers shared by the integration tests (and `benches/mhe.rs`): parties of the
//! protocols with their collective key, federations of sites, deterministic random
//! values, and exact arithmetic modulo Q for the two-limb `default` set.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs
)]

use std::sync::Arc;

use mhe::analyst;
use mhe::ciphertext::{Ciphertext, encrypt};
use mhe::encoding::{
    Layout, MAX_ABS_INTEGER, MAX_ABS_REAL, Plaintext, Width, decode, decode_layout, encode,
    encode_layout,
};
use mhe::keys::{PublicKey, SecretKey};
use mhe::params::Params;
use mhe::policy::SitePolicy;
use mhe::protocols::{DecryptionLedger, KeySwitchProtocol, KeySwitchShare, PublicKeyGenProtocol};
use mhe::ring::{Form, Poly};
use mhe::sampling::{Crs, SecretRng};
use mhe::site::{QuerySpec, Site};

/// The session every test federation uses.
pub const SESSION: [u8; 16] = [42u8; 16];

/// `k` secret keys drawn from `rng`.
pub fn secret_keys(params: &Params, k: usize, rng: &mut SecretRng) -> Vec<SecretKey> {
    (0..k).map(|_| SecretKey::generate(params, rng)).collect()
}

/// Parties of the protocol-level tests: their secret keys, the collective public key
/// they generated, and the (insecurely seeded) randomness they go on drawing from.
pub struct Parties {
    pub params: Arc<Params>,
    pub sks: Vec<SecretKey>,
    pub pk: PublicKey,
    pub rng: SecretRng,
}

impl Parties {
    /// `k` parties whose keys are drawn from `SecretRng::from_seed_insecure(rng_seed)`,
    /// with the key-generation CRP drawn from `Crs::from_seed(crs_seed)`.
    pub fn new(params: &Arc<Params>, k: usize, rng_seed: [u8; 32], crs_seed: [u8; 32]) -> Self {
        let mut rng = SecretRng::from_seed_insecure(rng_seed);
        let sks = secret_keys(params, k, &mut rng);
        Self::with_keys(params, sks, rng, crs_seed)
    }

    /// Parties holding `sks`: each sends its key-generation share (drawn from `rng`),
    /// and the shares are summed into the collective public key.
    pub fn with_keys(
        params: &Arc<Params>,
        sks: Vec<SecretKey>,
        mut rng: SecretRng,
        crs_seed: [u8; 32],
    ) -> Self {
        let ckg = PublicKeyGenProtocol::new(params.clone());
        let crp = ckg.sample_crp(&Crs::from_seed(crs_seed));
        let shares: Vec<_> = sks
            .iter()
            .map(|sk| ckg.gen_share(sk, &crp, &mut rng))
            .collect();
        let pk = ckg.gen_public_key(&ckg.aggregate_shares(shares.iter()), &crp);
        Parties {
            params: params.clone(),
            sks,
            pk,
            rng,
        }
    }

    /// Every party encrypts its vector of `values` under the collective key, and the
    /// ciphertexts are summed position by position (one per plaintext).
    pub fn encrypt_and_pool(&mut self, values: &[Vec<i128>]) -> Vec<Ciphertext> {
        let p = self.params.clone();
        self.pool_encodings(values, |v| encode(&p, v).unwrap())
    }

    /// Each party encrypts its `encoded` values; the ciphertexts are added.
    fn pool_encodings(
        &mut self,
        values: &[Vec<i128>],
        encoded: impl Fn(&[i128]) -> Vec<Plaintext>,
    ) -> Vec<Ciphertext> {
        let p = self.params.clone();
        let mut pooled: Option<Vec<Ciphertext>> = None;
        for v in values {
            let cts: Vec<Ciphertext> = encoded(v)
                .iter()
                .map(|pt| encrypt(&p, &self.pk, pt, &mut self.rng))
                .collect();
            match pooled.as_mut() {
                None => pooled = Some(cts),
                Some(acc) => acc
                    .iter_mut()
                    .zip(&cts)
                    .for_each(|(a, c)| a.add_assign(c, &p)),
            }
        }
        pooled.unwrap()
    }

    /// [`Parties::encrypt_and_pool`] for vectors that fit in one ciphertext.
    pub fn encrypt_and_pool_one(&mut self, values: &[Vec<i128>]) -> Ciphertext {
        let mut pooled = self.encrypt_and_pool(values);
        assert_eq!(pooled.len(), 1, "the values take more than one ciphertext");
        pooled.remove(0)
    }

    /// Every party's decryption share of `ct` (a key switch to the zero key, recorded
    /// in the party's ledger), aggregated.
    pub fn decryption_shares(
        &mut self,
        ks: &KeySwitchProtocol,
        ct: &Ciphertext,
        ledgers: &mut [DecryptionLedger],
    ) -> KeySwitchShare {
        ks.aggregate_shares(self.party_shares(ks, ct, ledgers).iter())
    }

    /// Every party's decryption share of `ct`, recorded in the party's ledger.
    pub fn party_shares(
        &mut self,
        ks: &KeySwitchProtocol,
        ct: &Ciphertext,
        ledgers: &mut [DecryptionLedger],
    ) -> Vec<KeySwitchShare> {
        assert_eq!(ledgers.len(), self.sks.len(), "one ledger per party");
        self.sks
            .iter()
            .zip(ledgers.iter_mut())
            .map(|(sk, ledger)| ks.gen_share(sk, None, ct, ledger, &mut self.rng).unwrap())
            .collect()
    }

    /// All parties decrypt the pooled ciphertexts together (each with one ledger for
    /// all of them); the first `len` values.
    pub fn decrypt_pooled(
        &mut self,
        ks: &KeySwitchProtocol,
        cts: &[Ciphertext],
        len: usize,
    ) -> Vec<i128> {
        let mut ledgers: Vec<DecryptionLedger> =
            self.sks.iter().map(|_| DecryptionLedger::new()).collect();
        let pts: Vec<Plaintext> = cts
            .iter()
            .map(|ct| ks.decrypt(ct, &self.decryption_shares(ks, ct, &mut ledgers)))
            .collect();
        decode(&self.params, &pts, len).unwrap()
    }

    /// A whole round at declared widths: every party encodes its `values` at `layout`
    /// and encrypts them, the ciphertexts are pooled, every party gives a decryption
    /// share of each pooled ciphertext (one ledger per party for the round), and the
    /// combined shares are decoded. The benches' round, timed against fhe.rs.
    pub fn round_at(
        &mut self,
        ks: &KeySwitchProtocol,
        layout: &Layout,
        values: &[Vec<i128>],
    ) -> Vec<i128> {
        let p = self.params.clone();
        let pooled = self.pool_encodings(values, |v| encode_layout(&p, layout, v).unwrap());
        let mut ledgers: Vec<DecryptionLedger> =
            self.sks.iter().map(|_| DecryptionLedger::new()).collect();
        let pts: Vec<Plaintext> = pooled
            .iter()
            .map(|ct| ks.decrypt_shares(ct, self.party_shares(ks, ct, &mut ledgers).iter()))
            .collect();
        decode_layout(&p, &pts, layout).unwrap()
    }
}

/// The policy of the test sites: unpinned rosters allowed (the tests play every
/// site), thresholds from 2, at least `min_parties` sites, no audit file.
pub fn open_policy(min_parties: usize) -> SitePolicy {
    SitePolicy {
        min_parties,
        min_threshold: Some(2),
        allow_unpinned: true,
        ..SitePolicy::default()
    }
}

/// The variable every test query reads.
pub static X: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| vec!["x".to_owned()]);

/// A query of kind `sum`, call text `x`, reading the variable `x`, over `sites`.
pub fn sum_of_x(sites: &[String]) -> QuerySpec<'_> {
    QuerySpec {
        kind: "sum",
        call: "x",
        variables: &X,
        sites,
    }
}

/// A query of `kind` with call text `call`, reading the variable `x`, over `sites`.
pub fn spec<'a>(kind: &'a str, call: &'a str, sites: &'a [String]) -> QuerySpec<'a> {
    QuerySpec {
        kind,
        call,
        variables: &X,
        sites,
    }
}

/// Sites `site1..sitek` of one session, not yet joined.
pub fn new_sites(k: usize, params: &str) -> Vec<Site> {
    (0..k)
        .map(|i| Site::new(&format!("site{}", i + 1), SESSION, params).unwrap())
        .collect()
}

/// Every site joins the roster of all of them: the roster and the key-generation
/// shares, in order.
pub fn join_all(
    sites: &mut [Site],
    threshold: usize,
    min_parties: usize,
) -> (Vec<u8>, Vec<Vec<u8>>) {
    let roster = roster_of(sites);
    let shares = sites
        .iter_mut()
        .map(|s| {
            s.join(&roster, threshold, &open_policy(min_parties))
                .unwrap()
        })
        .collect();
    (roster, shares)
}

/// Sites `site1..sitek` that finished key generation in one session.
pub fn federation(k: usize, params: &str, threshold: usize, min_parties: usize) -> Vec<Site> {
    let mut sites = new_sites(k, params);
    let (_, shares) = join_all(&mut sites, threshold, min_parties);
    finish_keygen(&mut sites, &shares);
    sites
}

/// The roster blob of these sites, in order.
pub fn roster_of(sites: &[Site]) -> Vec<u8> {
    let ids: Vec<Vec<u8>> = sites.iter().map(|s| s.identity().unwrap()).collect();
    analyst::roster_build(&refs(&ids)).unwrap()
}

/// Relays the aggregated key and the key evaluations, and checks the confirmations.
pub fn finish_keygen(sites: &mut [Site], shares: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let evals = finalize_all(sites, shares);
    let all = analyst::keygen_evaluations(&refs(shares), &refs(&evals)).unwrap();
    let confs: Vec<Vec<u8>> = sites.iter_mut().map(|s| s.confirm(&all).unwrap()).collect();
    analyst::confirmations_check(&refs(&confs)).unwrap();
    confs
}

/// Relays each site's key-generation bundle (the aggregated key); returns the sites'
/// key evaluations, in order.
pub fn finalize_all(sites: &mut [Site], shares: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let bundles = analyst::keygen_bundles(&refs(shares)).unwrap();
    sites
        .iter_mut()
        .zip(&bundles)
        .map(|(s, (name, b))| {
            assert_eq!(name, s.name());
            s.finalize(b).unwrap()
        })
        .collect()
}

/// Borrowed slices of owned blobs.
pub fn refs(v: &[Vec<u8>]) -> Vec<&[u8]> {
    v.iter().map(Vec::as_slice).collect()
}

/// Names of the sites.
pub fn names(sites: &[Site]) -> Vec<String> {
    sites.iter().map(|s| s.name().to_owned()).collect()
}

/// Every site contributes its values to `query` (all sites in the set).
pub fn contribute_all(sites: &mut [Site], query: [u8; 16], values: &[Vec<f64>]) -> Vec<Vec<u8>> {
    let n = names(sites);
    sites
        .iter_mut()
        .zip(values)
        .map(|(s, v)| s.contribute(query, &sum_of_x(&n), v).unwrap())
        .collect()
}

/// The blobs of one query: every site's contribution, and the pooled ciphertexts and
/// the decryption request that the analyst builds from them.
pub struct Query {
    pub contributions: Vec<Vec<u8>>,
    pub pooled: Vec<u8>,
    pub request: Vec<u8>,
}

/// Every site contributes its values to `query`, and the analyst pools them for the
/// sites named in `decryptors`.
pub fn pool_query(
    sites: &mut [Site],
    query: [u8; 16],
    values: &[Vec<f64>],
    decryptors: &[String],
) -> Query {
    let contributions = contribute_all(sites, query, values);
    let (pooled, request) = analyst::pool(&refs(&contributions), decryptors).unwrap();
    Query {
        contributions,
        pooled,
        request,
    }
}

/// Every one of `sites` decrypts `request`: their shares, in order.
pub fn decrypt_all(sites: &mut [Site], request: &[u8]) -> Vec<Vec<u8>> {
    sites
        .iter_mut()
        .map(|s| s.decrypt(request).unwrap())
        .collect()
}

/// A query id from a number.
pub fn qid(i: u32) -> [u8; 16] {
    let mut q = [0u8; 16];
    q[..4].copy_from_slice(&i.to_le_bytes());
    q[15] = 0xA5;
    q
}

/// SplitMix64: deterministic test randomness.
pub struct TestRng(u64);

impl TestRng {
    pub fn new(seed: u64) -> Self {
        TestRng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// Uniform over `[-MAX_ABS_INTEGER, MAX_ABS_INTEGER]`.
    pub fn int_in_range(&mut self) -> i128 {
        let span = 2 * MAX_ABS_INTEGER.unsigned_abs() + 1;
        let r = (u128::from(self.next_u64()) << 64 | u128::from(self.next_u64())) % span;
        r as i128 - MAX_ABS_INTEGER
    }
    /// A real in `[-2^76, 2^76]` of random sign and magnitude 2^-45 .. 2^76.
    pub fn real_in_range(&mut self) -> f64 {
        let mant = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        let e = self.below(122) as i32 - 45;
        let x = (mant * 2f64.powi(e)).min(MAX_ABS_REAL);
        if self.next_u64() & 1 == 1 { -x } else { x }
    }
}

/// Integer vectors of `k` parties and length `len`, random over the whole range, with
/// the extremes: party 0 holds +max at every even index, party 1 (or 0) -max at
/// index 1, and index 0 is +max for every party.
pub fn int_vectors(rng: &mut TestRng, k: usize, len: usize) -> Vec<Vec<i128>> {
    (0..k)
        .map(|p| {
            (0..len)
                .map(|i| match (p, i) {
                    (_, 0) => MAX_ABS_INTEGER,
                    (_, 1) => -MAX_ABS_INTEGER,
                    (0, i) if i % 2 == 0 => MAX_ABS_INTEGER,
                    (1, i) if i % 3 == 0 => -MAX_ABS_INTEGER,
                    _ => rng.int_in_range(),
                })
                .collect()
        })
        .collect()
}

/// Real vectors as [`int_vectors`], with `±MAX_ABS_REAL`, zero, and values below the
/// resolution.
pub fn real_vectors(rng: &mut TestRng, k: usize, len: usize) -> Vec<Vec<f64>> {
    (0..k)
        .map(|p| {
            (0..len)
                .map(|i| match (p, i) {
                    (_, 0) => MAX_ABS_REAL,
                    (_, 1) => -MAX_ABS_REAL,
                    (_, 2) => 0.0,
                    (_, 3) => 3.0e-13,
                    (0, i) if i % 2 == 0 => MAX_ABS_REAL,
                    _ => rng.real_in_range(),
                })
                .collect()
        })
        .collect()
}

/// Column sums.
pub fn column_sums(v: &[Vec<i128>]) -> Vec<i128> {
    let len = v.first().map_or(0, Vec::len);
    (0..len).map(|i| v.iter().map(|r| r[i]).sum()).collect()
}

/// The exact pooled value of reals: the sum of their fixed-point encodings.
pub fn fixed_sums(v: &[Vec<f64>]) -> Vec<i128> {
    let fixed: Vec<Vec<i128>> = v
        .iter()
        .map(|r| {
            r.iter()
                .map(|&x| mhe::encoding::real_to_fixed(x).unwrap())
                .collect()
        })
        .collect();
    column_sums(&fixed)
}

fn mul_mod(a: u64, b: u64, q: u64) -> u64 {
    (u128::from(a) * u128::from(b) % u128::from(q)) as u64
}

fn pow_mod(mut a: u64, mut e: u64, q: u64) -> u64 {
    let mut r = 1u64;
    while e > 0 {
        if e & 1 == 1 {
            r = mul_mod(r, a, q);
        }
        a = mul_mod(a, a, q);
        e >>= 1;
    }
    r
}

/// Q for a two-limb set (fits in a u128).
pub fn q_of(params: &Params) -> u128 {
    let m: Vec<u64> = params.moduli().collect();
    assert_eq!(m.len(), 2, "exact arithmetic here is for two-limb sets");
    u128::from(m[0]) * u128::from(m[1])
}

/// The coefficients of a two-limb polynomial (coefficient form), CRT-reconstructed and
/// centred in `(-Q/2, Q/2]`.
pub fn centred(params: &Params, p: &Poly) -> Vec<i128> {
    assert_eq!(p.form(), Form::Coeff);
    let m: Vec<u64> = params.moduli().collect();
    let (q0, q1) = (m[0], m[1]);
    let q = q_of(params);
    let inv = pow_mod(q0 % q1, q1 - 2, q1);
    let rows: Vec<&[u64]> = p.rows().collect();
    rows[0]
        .iter()
        .zip(rows[1])
        .map(|(&x0, &x1)| {
            let d = (x1 + q1 - x0 % q1) % q1;
            let k = mul_mod(d, inv, q1);
            let x = u128::from(x0) + u128::from(q0) * u128::from(k);
            if x > q / 2 {
                x as i128 - q as i128
            } else {
                x as i128
            }
        })
        .collect()
}

/// `Δ*m mod Q` centred, for plaintext coefficients `m` (two-limb sets).
pub fn scaled_centred(params: &Params, m: &[u128]) -> Vec<i128> {
    let q = q_of(params);
    let delta = q >> params.plain_bits();
    m.iter()
        .map(|&c| {
            let x = (delta * c) % q;
            if x > q / 2 {
                x as i128 - q as i128
            } else {
                x as i128
            }
        })
        .collect()
}

/// `(a - b) mod Q`, centred.
pub fn sub_centred(params: &Params, a: &[i128], b: &[i128]) -> Vec<i128> {
    let q = q_of(params) as i128;
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = (x - y).rem_euclid(q);
            if d > q / 2 { d - q } else { d }
        })
        .collect()
}

/// The zero polynomial in coefficient form.
pub fn zero(params: &Params) -> Poly {
    Poly::zero(params, Form::Coeff)
}

/// The benches' round data: `values` values per party, each below 1000 (as fhe.rs's
/// benchmark), their column sums, and the width [`Width::for_bound`] gives them over
/// `parties` parties.
pub fn round_values(parties: usize, values: usize) -> (Vec<Vec<i128>>, Vec<i128>, Width) {
    let small: Vec<Vec<i128>> = (0..parties)
        .map(|p| {
            (0..values as i128)
                .map(|i| (i * 31 + p as i128) % 1000)
                .collect()
        })
        .collect();
    let bound = small
        .iter()
        .flatten()
        .map(|v| v.unsigned_abs())
        .max()
        .unwrap();
    let own = Width::for_bound(bound, parties).unwrap();
    let sums = column_sums(&small);
    (small, sums, own)
}
