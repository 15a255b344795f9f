//! A party's long-term keys for one session: an Ed25519 signing key (its identity in
//! the roster) and an X25519 key from which it derives a pairwise secret with every
//! other roster member (for zero-sum masks and for sealing Shamir shares).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::sampling::SecretRng;

/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// HKDF label of the subkey of a pairwise key that seals key material (the AEAD key).
pub const AEAD_SUBKEY: &[u8] = b"mhe/pairwise/aead/v1";
/// HKDF label of the subkey of a pairwise key that keys the zero-sum mask PRF.
pub const MASK_SUBKEY: &[u8] = b"mhe/pairwise/mask/v1";

/// The subkey of the pairwise key `root` for one use (`label`, [`AEAD_SUBKEY`] or
/// [`MASK_SUBKEY`]): HKDF-SHA256-Expand with `root` as the pseudorandom key (it is
/// itself an HKDF output, see [`SiteKeys::pairwise_key`]). One key never serves two
/// primitives.
pub fn subkey(root: &[u8; 32], label: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    // A 32-byte PRK is long enough and a 32-byte output is far below HKDF's limit, so
    // neither call can fail; the fallback keeps the function total.
    let ok = Hkdf::<Sha256>::from_prk(root)
        .ok()
        .and_then(|h| h.expand(label, out.as_mut()).ok());
    if ok.is_none() {
        *out = crate::sampling::derive_key(b"mhe/subkey/v1", root, label);
    }
    out
}

/// A party's secret keys. No `Clone`, no serializer; the dalek types zeroize on drop.
pub struct SiteKeys {
    signing: SigningKey,
    dh: x25519_dalek::StaticSecret,
}

impl std::fmt::Debug for SiteKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteKeys")
            .field(
                "verifying_key",
                &fingerprint(&self.signing.verifying_key().to_bytes()),
            )
            .finish_non_exhaustive()
    }
}

impl SiteKeys {
    /// Fresh keys from the OS-seeded generator.
    pub fn generate(rng: &mut SecretRng) -> SiteKeys {
        let signing = SigningKey::from_bytes(&rng.bytes32());
        let dh = x25519_dalek::StaticSecret::from(*rng.bytes32());
        SiteKeys { signing, dh }
    }

    /// Keys whose signing key is the administrator's long-term key `seed` (so that
    /// peers can pin its fingerprint once), with a fresh key-agreement key.
    pub fn with_signing_seed(seed: &[u8; 32], rng: &mut SecretRng) -> SiteKeys {
        let signing = SigningKey::from_bytes(seed);
        let dh = x25519_dalek::StaticSecret::from(*rng.bytes32());
        SiteKeys { signing, dh }
    }

    /// The public verification key.
    pub fn verifying_key(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// The public Diffie-Hellman key.
    pub fn dh_public(&self) -> [u8; 32] {
        x25519_dalek::PublicKey::from(&self.dh).to_bytes()
    }

    /// Signs `msg`.
    pub fn sign(&self, msg: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.signing.sign(msg).to_bytes()
    }

    /// The secret this party shares with the holder of `peer_dh`: HKDF-SHA256 of the
    /// X25519 shared point, salted with the session and bound to the pair's verification
    /// keys (in a fixed order, so both sides derive the same key).
    ///
    /// # Errors
    /// [`Error::Refused`] for a low-order peer key (an all-zero shared point).
    pub fn pairwise_key(
        &self,
        session: &[u8; 16],
        own_vk: &[u8; 32],
        peer_vk: &[u8; 32],
        peer_dh: &[u8; 32],
    ) -> Result<Zeroizing<[u8; 32]>> {
        let shared = self
            .dh
            .diffie_hellman(&x25519_dalek::PublicKey::from(*peer_dh));
        if !shared.was_contributory() {
            return Err(Error::Refused(
                "a roster member's key-agreement key is degenerate".into(),
            ));
        }
        let (lo, hi) = if own_vk <= peer_vk {
            (own_vk, peer_vk)
        } else {
            (peer_vk, own_vk)
        };
        let mut info = Vec::with_capacity(80);
        info.extend_from_slice(b"mhe/pairwise/v1");
        info.extend_from_slice(lo);
        info.extend_from_slice(hi);
        let mut okm = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(session), shared.as_bytes())
            .expand(&info, okm.as_mut())
            .map_err(|_| Error::InvalidArgument("key derivation failed".into()))?;
        Ok(okm)
    }
}

/// Verifies `sig` on `msg` under `vk` (strict: rejects malleable and small-order forms).
///
/// # Errors
/// [`Error::BadSignature`]; the message says nothing more.
pub fn verify(vk: &[u8; 32], msg: &[u8], sig: &[u8; SIGNATURE_LEN]) -> Result<()> {
    let key = VerifyingKey::from_bytes(vk).map_err(|_| Error::BadSignature)?;
    key.verify_strict(msg, &Signature::from_bytes(sig))
        .map_err(|_| Error::BadSignature)
}

/// The fingerprint an administrator compares out of band: the first 16 bytes of
/// SHA-256 of the verification key, in hex.
pub fn fingerprint(vk: &[u8; 32]) -> String {
    let d = Sha256::digest(vk);
    d.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The fingerprint of the verification key of the signing key `seed`.
pub fn seed_fingerprint(seed: &[u8; 32]) -> String {
    fingerprint(&SigningKey::from_bytes(seed).verifying_key().to_bytes())
}

/// Seals `msg` for the holder of the pairwise `key` with ChaCha20-Poly1305 under the
/// key's AEAD subkey ([`AEAD_SUBKEY`]), binding `aad`; a fresh random nonce is
/// prepended.
///
/// # Errors
/// [`Error::BadSeal`] if encryption fails (it does not for sane lengths).
pub fn seal(key: &[u8; 32], aad: &[u8], msg: &[u8], rng: &mut SecretRng) -> Result<Vec<u8>> {
    rng.check()?;
    let aead_key = subkey(key, AEAD_SUBKEY);
    let cipher = ChaCha20Poly1305::new((&*aead_key).into());
    let nonce_bytes = rng.bytes32();
    let nonce_slice = nonce_bytes.get(..12).ok_or(Error::BadSeal)?;
    let nonce = Nonce::try_from(nonce_slice).map_err(|_| Error::BadSeal)?;
    let ct = cipher
        .encrypt(&nonce, Payload { msg, aad })
        .map_err(|_| Error::BadSeal)?;
    let mut out = Vec::with_capacity(12 + ct.len());
    out.extend_from_slice(nonce_slice);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Opens a message sealed by [`seal`].
///
/// # Errors
/// [`Error::BadSeal`] for a wrong key, a wrong `aad`, or tampered bytes.
pub fn open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let (nonce_slice, ct) = sealed.split_at_checked(12).ok_or(Error::BadSeal)?;
    let nonce = Nonce::try_from(nonce_slice).map_err(|_| Error::BadSeal)?;
    let aead_key = subkey(key, AEAD_SUBKEY);
    let cipher = ChaCha20Poly1305::new((&*aead_key).into());
    cipher
        .decrypt(&nonce, Payload { msg: ct, aad })
        .map(Zeroizing::new)
        .map_err(|_| Error::BadSeal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_derive_the_same_pairwise_key() {
        let mut rng = SecretRng::from_seed_insecure([4; 32]);
        let a = SiteKeys::generate(&mut rng);
        let b = SiteKeys::generate(&mut rng);
        let s = [7u8; 16];
        let kab = a
            .pairwise_key(&s, &a.verifying_key(), &b.verifying_key(), &b.dh_public())
            .unwrap();
        let kba = b
            .pairwise_key(&s, &b.verifying_key(), &a.verifying_key(), &a.dh_public())
            .unwrap();
        assert_eq!(*kab, *kba);
        let other = a
            .pairwise_key(
                &[8u8; 16],
                &a.verifying_key(),
                &b.verifying_key(),
                &b.dh_public(),
            )
            .unwrap();
        assert_ne!(*kab, *other);
    }

    #[test]
    fn the_aead_and_the_masks_use_separate_subkeys_of_a_pairwise_key() {
        let root = [3u8; 32];
        let aead = subkey(&root, AEAD_SUBKEY);
        let mask = subkey(&root, MASK_SUBKEY);
        assert_ne!(*aead, *mask);
        assert_ne!(*aead, root);
        assert_ne!(*mask, root);
        assert_eq!(*subkey(&root, AEAD_SUBKEY), *aead);
        // A message sealed with the pairwise key does not open under the raw root key
        // used directly as the AEAD key: the seal uses the subkey.
        let mut rng = SecretRng::from_seed_insecure([7; 32]);
        let sealed = seal(&root, b"aad", b"secret", &mut rng).unwrap();
        let (nonce, ct) = sealed.split_at(12);
        let raw = ChaCha20Poly1305::new((&root).into());
        let nonce = Nonce::try_from(nonce).unwrap();
        assert!(raw.decrypt(&nonce, Payload { msg: ct, aad: b"aad" }).is_err());
        let sub = ChaCha20Poly1305::new((&*aead).into());
        assert!(sub.decrypt(&nonce, Payload { msg: ct, aad: b"aad" }).is_ok());
    }

    #[test]
    fn signatures_verify_and_tampering_fails() {
        let mut rng = SecretRng::from_seed_insecure([5; 32]);
        let a = SiteKeys::generate(&mut rng);
        let sig = a.sign(b"hello");
        assert!(verify(&a.verifying_key(), b"hello", &sig).is_ok());
        assert_eq!(
            verify(&a.verifying_key(), b"hellp", &sig),
            Err(Error::BadSignature)
        );
    }

    #[test]
    fn sealed_messages_open_only_with_key_and_aad() {
        let mut rng = SecretRng::from_seed_insecure([6; 32]);
        let key = [1u8; 32];
        let sealed = seal(&key, b"aad", b"secret", &mut rng).unwrap();
        assert_eq!(open(&key, b"aad", &sealed).unwrap().as_slice(), b"secret");
        assert!(open(&[2u8; 32], b"aad", &sealed).is_err());
        assert!(open(&key, b"other", &sealed).is_err());
        let mut t = sealed.clone();
        t[20] ^= 1;
        assert!(open(&key, b"aad", &t).is_err());
        assert!(open(&key, b"aad", &sealed[..5]).is_err());
    }
}
