//! Pairwise zero-sum masks: each party of a query's set adds to its plaintext a mask
//! derived from the pairwise secrets it shares with the other members, with opposite
//! signs on the two sides of each pair. The masks of the whole set sum to zero modulo
//! t, so the pooled sum decrypts to the pooled value; any other combination (one
//! party's ciphertext, a subset, a difference, a party counted twice) decrypts to a
//! value masked by pseudorandom terms that only the missing parties could remove.
//!
//! Masked plaintexts are uniform modulo t, so their sum wraps modulo t up to K times;
//! the BFV scaling `Δ = floor(Q/t)` turns each wrap into an extra noise term below t,
//! which [`crate::noise`] counts in the correctness margin.

use rand_core::Rng;
use zeroize::Zeroizing;

use crate::encoding::Plaintext;
use crate::identity::{MASK_SUBKEY, subkey};
use crate::params::Params;
use crate::sampling::SecretRng;

/// The mask of the party at `own` (its position in the query's set) for `context`
/// (session, query, ciphertext index and the set itself), from the pairwise keys it
/// shares with the other members, given as `(position, key)`.
///
/// Each pairwise key is first narrowed to its mask subkey (HKDF label
/// [`MASK_SUBKEY`]), so the masks and the sealing of key material (which uses the
/// AEAD subkey) never share a key. The mask, its terms and the PRF states are secret
/// and zeroized after use.
pub fn mask(
    params: &Params,
    own: usize,
    peers: &[(usize, &[u8; 32])],
    context: &[u8],
) -> Plaintext {
    let mask = params.plain_mask();
    let mut acc = Plaintext::zero(params);
    for &(pos, key) in peers {
        if pos == own {
            continue;
        }
        let sub = subkey(key, MASK_SUBKEY);
        let mut stream = SecretRng::from_prf(&sub, context);
        let mut coeffs = Zeroizing::new(Vec::with_capacity(params.n()));
        stream.draw(|r| {
            coeffs.extend(
                (0..params.n())
                    .map(|_| ((u128::from(r.next_u64()) << 64) | u128::from(r.next_u64())) & mask),
            );
        });
        let term = Plaintext::from_coeffs(params, std::mem::take(&mut *coeffs));
        if own < pos {
            acc.add_assign(&term, params);
        } else {
            acc.sub_assign(&term, params);
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_of_a_full_set_cancel_and_partial_sums_do_not() {
        let params = Params::toy();
        let k = 4;
        // keys[i][j] == keys[j][i]
        let key = |i: usize, j: usize| -> [u8; 32] {
            let (a, b) = if i < j { (i, j) } else { (j, i) };
            [u8::try_from(a * 16 + b).unwrap(); 32]
        };
        let masks: Vec<Plaintext> = (0..k)
            .map(|i| {
                let keys: Vec<(usize, [u8; 32])> =
                    (0..k).filter(|&j| j != i).map(|j| (j, key(i, j))).collect();
                let refs: Vec<(usize, &[u8; 32])> = keys.iter().map(|(j, kk)| (*j, kk)).collect();
                mask(&params, i, &refs, b"ctx")
            })
            .collect();
        let mut total = Plaintext::zero(&params);
        for m in &masks {
            total.add_assign(m, &params);
        }
        assert_eq!(total, Plaintext::zero(&params));
        let mut partial = Plaintext::zero(&params);
        for m in &masks[..k - 1] {
            partial.add_assign(m, &params);
        }
        assert_ne!(partial, Plaintext::zero(&params));
        assert_ne!(masks[0], Plaintext::zero(&params));
    }
}
