//! Fast key erasure and wiping of the secret generator (SECURITY.md, section 6): the
//! state it keeps after a draw, and after `wipe()`, gives no way back to what it drew.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

use mhe::ciphertext::Ciphertext;
use mhe::error::Error;
use mhe::keys::SecretKey;
use mhe::params::Params;
use mhe::protocols::{DecryptionLedger, KeySwitchProtocol};
use mhe::ring::{Form, Poly};
use mhe::sampling::{Crs, SecretRng};
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};

/// Whether the first `words` 32-bit words of the ChaCha20 stream of `key` contain
/// `needle` at any word offset: what an attacker holding `key` could regenerate.
fn stream_contains(key: [u8; 32], needle: &[u8; 32], words: usize) -> bool {
    let mut stream = vec![0u8; 4 * words + 32];
    ChaCha20Rng::from_seed(key).fill_bytes(&mut stream);
    stream
        .chunks_exact(4)
        .enumerate()
        .any(|(i, _)| stream.get(4 * i..4 * i + 32) == Some(&needle[..]))
}

#[test]
fn the_state_after_a_draw_does_not_regenerate_the_draw() {
    let mut rng = SecretRng::from_seed_insecure([7; 32]);
    let before = rng.current_key().unwrap();
    let drawn = rng.bytes32();
    let after = rng.current_key().unwrap();
    // Without re-keying, the state read before the draw gives the draw back: this is
    // what the review did with the seed a wiped site left behind.
    assert!(stream_contains(before, &drawn, 1 << 16));
    // With re-keying, the state read after it does not, anywhere in 256 KiB of stream.
    assert_ne!(before, after);
    assert!(!stream_contains(after, &drawn, 1 << 16));
    // Nor does it give back a secret drawn earlier: a key share's sampling.
    let params = Params::toy();
    let _sk = SecretKey::generate(&params, &mut rng);
    let later = rng.current_key().unwrap();
    assert!(!stream_contains(later, &drawn, 1 << 16));
    assert_ne!(later, after);
}

#[test]
fn every_kind_of_draw_re_keys_the_generator() {
    let params = Params::toy();
    let mut rng = SecretRng::from_seed_insecure([8; 32]);
    let mut keys = vec![rng.current_key().unwrap()];
    let _ = mhe::sampling::ternary(&mut rng, 64);
    keys.push(rng.current_key().unwrap());
    let _ = mhe::sampling::gaussian(&mut rng, 64);
    keys.push(rng.current_key().unwrap());
    let _ = mhe::sampling::flooding(&mut rng, 64, 40);
    keys.push(rng.current_key().unwrap());
    let _ = mhe::keys::PublicKey::generate_pair(&params, &mut rng).unwrap();
    keys.push(rng.current_key().unwrap());
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), keys.len(), "a draw left the key in place");
}

#[test]
fn a_wiped_generator_holds_nothing_and_refuses_protocol_steps() {
    let params = Params::toy();
    let mut rng = SecretRng::from_seed_insecure([9; 32]);
    let sk = SecretKey::generate(&params, &mut rng);
    let drawn = rng.bytes32();
    rng.wipe();
    assert!(rng.is_wiped());
    assert_eq!(rng.current_key(), None);
    assert!(matches!(rng.check(), Err(Error::Refused(_))));
    // A protocol step refuses before drawing or recording anything.
    let ks = KeySwitchProtocol::new(params.clone(), 2).unwrap();
    let ct = Ciphertext::from_polys(
        Poly::zero(&params, Form::Coeff),
        Crs::from_seed([1; 32]).uniform_poly(&params, b"c1"),
    );
    let mut ledger = DecryptionLedger::new();
    let r = ks.gen_share(&sk, None, &ct, &mut ledger, &mut rng);
    assert!(matches!(r, Err(Error::Refused(_))), "{r:?}");
    assert!(ledger.is_empty());
    // An infallible draw that ignored the refusal takes a fresh OS key, and leaves the
    // generator wiped: nothing of the old state comes back.
    let again = rng.bytes32();
    assert_ne!(*again, *drawn);
    assert_ne!(*again, [0u8; 32]);
    assert!(rng.is_wiped());
    assert_eq!(rng.current_key(), None);
}
