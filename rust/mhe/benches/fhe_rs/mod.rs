//! fhe.rs's multiparty BFV (`fhe::mbfv`) set up as the benches compare against it:
//! `PARTIES` parties at the same ring degree and RNS moduli as one of our sets, and
//! plaintext modulus [`FHE_T`] (one value per coefficient).

// Each bench compiles this module and uses part of it.
#![allow(dead_code)]

use std::sync::Arc;

use fhe::bfv::{self, BfvParametersBuilder, Encoding};
use fhe::mbfv::{AggregateIter, CommonRandomPoly, DecryptionShare, PublicKeyShare};
use fhe_traits::{FheDecoder, FheEncoder, FheEncrypter};
use mhe::params::Params;

/// fhe.rs plaintext modulus: one value per coefficient, below t.
pub const FHE_T: u64 = 1 << 20;

/// fhe.rs's parties: parameters, secret keys, collective public key and its CRP.
pub struct Theirs {
    pub par: Arc<bfv::BfvParameters>,
    pub sks: Vec<bfv::SecretKey>,
    pub pk: bfv::PublicKey,
    pub crp: CommonRandomPoly,
}

/// `parties` fhe.rs parties at `params`'s ring degree and moduli, with their key.
pub fn theirs(params: &Params, parties: usize) -> Theirs {
    let moduli: Vec<u64> = params.moduli().collect();
    let par = BfvParametersBuilder::new()
        .set_degree(params.n())
        .set_plaintext_modulus(FHE_T)
        .set_moduli(&moduli)
        .build_arc()
        .unwrap();
    let mut rng = rand09::rng();
    let crp = CommonRandomPoly::new(&par, &mut rng).unwrap();
    let sks: Vec<bfv::SecretKey> = (0..parties)
        .map(|_| bfv::SecretKey::random(&par, &mut rng))
        .collect();
    let pk: bfv::PublicKey = sks
        .iter()
        .map(|sk| PublicKeyShare::new(sk, crp.clone(), &mut rng).unwrap())
        .aggregate()
        .unwrap();
    Theirs { par, sks, pk, crp }
}

impl Theirs {
    /// One round: every party encrypts its `values` (one per coefficient), the
    /// ciphertexts are added, every party gives a decryption share of each sum, and
    /// the combined shares are decoded: the pooled values.
    pub fn round(&self, values: &[Vec<u64>], rng: &mut impl rand09::CryptoRng) -> Vec<u64> {
        let mut acc: Option<Vec<bfv::Ciphertext>> = None;
        for v in values {
            let cts: Vec<bfv::Ciphertext> = v
                .chunks(self.par.degree())
                .map(|chunk| {
                    let pt =
                        bfv::Plaintext::try_encode(chunk, Encoding::poly(), &self.par).unwrap();
                    self.pk.try_encrypt(&pt, rng).unwrap()
                })
                .collect();
            match acc.as_mut() {
                None => acc = Some(cts),
                Some(a) => a.iter_mut().zip(&cts).for_each(|(x, y)| *x += y),
            }
        }
        acc.unwrap()
            .into_iter()
            .flat_map(|ct| {
                let ct = Arc::new(ct);
                let pt: bfv::Plaintext = self
                    .sks
                    .iter()
                    .map(|sk| DecryptionShare::new(sk, &ct, rng).unwrap())
                    .aggregate()
                    .unwrap();
                Vec::<u64>::try_decode(&pt, Encoding::poly()).unwrap()
            })
            .collect()
    }
}
