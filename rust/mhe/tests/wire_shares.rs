//! Every share, ciphertext and key blob round-trips through the wire format: encode,
//! parse, same value; and the parsed shares still do their job.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs
)]

mod common;

use common::{
    SESSION, decrypt_all, federation, finish_keygen, join_all, names, new_sites, pool_query, qid,
    refs, secret_keys,
};
use mhe::analyst;
use mhe::ciphertext::{Ciphertext, decrypt, encrypt};
use mhe::encoding::{decode, encode};
use mhe::keys::PublicKey;
use mhe::messages::{Contribution, DecryptRequest, DecryptShare, KeygenShare, Pooled};
use mhe::params::Params;
use mhe::protocols::{
    DecryptionLedger, KeySwitchProtocol, KeySwitchShare, PublicKeyGenProtocol, PublicKeyGenShare,
    PublicKeySwitchProtocol,
};
use mhe::ring::{Form, Poly};
use mhe::sampling::{Crs, SecretRng};
use mhe::wire::{HEADER_LEN, Kind, Reader, Writer, poly_bytes};

fn round_trip(params: &Params, polys: &[&Poly], form: Form) -> Vec<Poly> {
    let mut w = Writer::new(Kind::DecryptShare, params, &SESSION);
    for p in polys {
        w.poly(p, params);
    }
    let blob = w.finish();
    assert_eq!(blob.len(), HEADER_LEN + polys.len() * poly_bytes(params));
    let (mut r, h) = Reader::new(&blob, Kind::DecryptShare).unwrap();
    assert_eq!((h.params_id, h.session), (params.id(), SESSION));
    let out = polys
        .iter()
        .map(|_| r.poly(params, form).unwrap())
        .collect();
    r.finish().unwrap();
    out
}

#[test]
fn every_protocol_share_round_trips_and_still_decrypts() {
    for name in ["default", "large"] {
        let params = Params::by_name(name).unwrap();
        let k = 3;
        let mut rng = SecretRng::from_seed_insecure([31; 32]);
        let ckg = PublicKeyGenProtocol::new(params.clone());
        let crp = ckg.sample_crp(&Crs::from_seed([31; 32]));
        let sks = secret_keys(&params, k, &mut rng);
        // Key-generation shares (NTT form).
        let pk_shares: Vec<PublicKeyGenShare> = sks
            .iter()
            .map(|sk| {
                let s = ckg.gen_share(sk, &crp, &mut rng);
                let back = round_trip(&params, &[s.poly()], Form::Ntt).remove(0);
                let parsed = PublicKeyGenShare::from_poly(back, &params);
                assert_eq!(parsed, s);
                parsed
            })
            .collect();
        let pk = ckg.gen_public_key(&ckg.aggregate_shares(pk_shares.iter()), &crp);
        let (p0, p1) = pk.polys();
        assert_eq!(
            round_trip(&params, &[p0, p1], Form::Ntt),
            vec![p0.clone(), p1.clone()]
        );
        // Ciphertexts.
        let values: Vec<i128> = (0..params.values_per_ciphertext() as i128)
            .map(|i| i * i - 77)
            .collect();
        let ct = encrypt(
            &params,
            &pk,
            &encode(&params, &values).unwrap()[0],
            &mut rng,
        );
        let back = round_trip(&params, &[ct.polys().0, ct.polys().1], Form::Coeff);
        let ct2 = Ciphertext::from_polys(back[0].clone(), back[1].clone());
        assert_eq!(ct2, ct);
        // Decryption shares.
        let ks = KeySwitchProtocol::with_default_flooding(params.clone());
        let dec: Vec<KeySwitchShare> = sks
            .iter()
            .map(|sk| {
                let s = ks
                    .gen_share(sk, None, &ct, &mut DecryptionLedger::new(), &mut rng)
                    .unwrap();
                let parsed = KeySwitchShare::from_poly(
                    round_trip(&params, &[s.poly()], Form::Coeff).remove(0),
                    &params,
                );
                assert_eq!(parsed, s);
                parsed
            })
            .collect();
        let got = decode(
            &params,
            &[ks.decrypt(&ct2, &ks.aggregate_shares(dec.iter()))],
            values.len(),
        )
        .unwrap();
        assert_eq!(got, values, "{name}");
        // The fused combine gives the same plaintext as summing then decrypting, and
        // so the same values; short of one share it decodes to something else.
        let fused = ks.decrypt_shares(&ct2, dec.iter());
        assert_eq!(
            fused,
            ks.decrypt(&ct2, &ks.aggregate_shares(dec.iter())),
            "{name}"
        );
        assert_eq!(
            decode(&params, &[fused], values.len()).unwrap(),
            values,
            "{name}"
        );
        let short = ks.decrypt_shares(&ct2, dec[1..].iter());
        assert_ne!(
            decode(&params, &[short], values.len()).unwrap(),
            values,
            "{name}"
        );
        // Public-key switch shares: both polynomials.
        let (sk_r, pk_r) = PublicKey::generate_pair(&params, &mut rng).unwrap();
        let pks = PublicKeySwitchProtocol::for_parties(params.clone(), 3).unwrap();
        let ct3 = encrypt(
            &params,
            &pk,
            &encode(&params, &values).unwrap()[0],
            &mut rng,
        );
        let shares: Vec<_> = sks
            .iter()
            .map(|sk| {
                pks.gen_share(sk, &pk_r, &ct3, &mut DecryptionLedger::new(), &mut rng)
                    .unwrap()
            })
            .collect();
        for s in &shares {
            let (h0, h1) = s.polys();
            assert_eq!(
                round_trip(&params, &[h0, h1], Form::Coeff),
                vec![h0.clone(), h1.clone()]
            );
        }
        let switched = pks.key_switch(&ct3, &pks.aggregate_shares(shares.iter()));
        let (c0, c1) = switched.polys();
        let back = round_trip(&params, &[c0, c1], Form::Coeff);
        let switched2 = Ciphertext::from_polys(back[0].clone(), back[1].clone());
        assert_eq!(
            decode(
                &params,
                &[decrypt(&params, &sk_r, &switched2)],
                values.len()
            )
            .unwrap(),
            values
        );
    }
}

#[test]
fn every_message_of_a_federation_round_trips() {
    let mut sites = federation(3, "default", 2, 2);
    let params = Params::by_name("default").unwrap();
    let n = names(&sites);
    // 600 reals at full width, 7 coefficients each at 3 sites: two ciphertexts.
    let values: Vec<Vec<f64>> = (0..3).map(|i| vec![f64::from(i); 600]).collect();
    let q = pool_query(&mut sites, qid(1), &values, &n[..2]);
    for b in &q.contributions {
        let c = Contribution::parse(b).unwrap();
        assert_eq!(c.c0s.len(), 2);
        let again = Contribution::encode(
            &params,
            &SESSION,
            &c.statement,
            &c.names,
            c.dp.as_ref(),
            &c.c0s,
            &c.sig,
        );
        assert_eq!(&again, b);
    }
    let r = DecryptRequest::parse(&q.request).unwrap();
    assert_eq!(r.encode(&params), q.request);
    let p = Pooled::parse(&q.pooled).unwrap();
    assert_eq!(p.encode(&params), q.pooled);
    let shares = decrypt_all(&mut sites[..2], &q.request);
    for b in &shares {
        let s = DecryptShare::parse(b).unwrap();
        assert_eq!(s.shares.len(), 2);
        assert_eq!(&s.encode(&params), b);
    }
    let got = analyst::combine(&q.pooled, &refs(&shares)).unwrap();
    assert_eq!(got, vec![3.0; 600]);
}

#[test]
fn keygen_shares_round_trip_and_every_site_confirms_the_same_key() {
    let params = Params::by_name("default").unwrap();
    let mut sites = new_sites(3, "default");
    let (_, blobs) = join_all(&mut sites, 2, 2);
    let parsed: Vec<KeygenShare> = blobs
        .iter()
        .map(|b| KeygenShare::parse(b).unwrap())
        .collect();
    for (b, s) in blobs.iter().zip(&parsed) {
        assert_eq!(s.sealed.len(), 2);
        let again = KeygenShare::finish(s.signed.clone(), &s.sig, &s.sealed);
        assert_eq!(&again, b);
        let body = KeygenShare::body(
            &params,
            &SESSION,
            s.site,
            &s.name,
            &s.roster,
            s.threshold,
            &s.pk_share,
        );
        assert_eq!(body, s.signed);
    }
    // The parsed shares are what the sites sum: key generation finishes and every
    // site confirms the same collective key.
    let confs = finish_keygen(&mut sites, &blobs);
    let keys: Vec<[u8; 32]> = confs
        .iter()
        .map(|c| mhe::messages::Confirmation::parse(c).unwrap().key)
        .collect();
    assert!(keys.iter().all(|k| *k == keys[0]));
}
