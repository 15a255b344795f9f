//! Secret-key shares and public keys.

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::Result;
use crate::params::Params;
use crate::ring::{Poly, SecretPoly};
use crate::sampling::{self, SecretRng};

/// A party's secret-key share `s_i` (ternary), or a share derived from it (a
/// Shamir share, a Lagrange-weighted share), kept in NTT form.
///
/// No `Clone`, no serializer: a secret never leaves the process. Zeroized on drop.
pub struct SecretKey {
    pub(crate) s: Poly,
}

impl Zeroize for SecretKey {
    fn zeroize(&mut self) {
        self.s.zeroize();
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for SecretKey {}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey").finish_non_exhaustive()
    }
}

impl SecretKey {
    /// A fresh ternary secret-key share from the OS-seeded generator.
    pub fn generate(params: &Params, rng: &mut SecretRng) -> SecretKey {
        let coeffs = sampling::ternary(rng, params.n());
        SecretKey {
            s: sampling::small_poly_ntt(params, &coeffs).into_public(),
        }
    }

    /// A secret from a polynomial (NTT form is enforced).
    pub(crate) fn from_poly(mut s: Poly, params: &Params) -> SecretKey {
        s.to_ntt(params);
        SecretKey { s }
    }

    /// The sum of several shares: the collective secret. Only an ideal functionality
    /// computes it; tests use it to check the protocols against plain decryption.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn ideal_sum(params: &Params, shares: &[&SecretKey]) -> SecretKey {
        let mut s = Poly::zero(params, crate::ring::Form::Ntt);
        for sh in shares {
            s.add_assign(&sh.s, params);
        }
        SecretKey { s }
    }
}

/// A public encryption key `(p0, p1) = (-a*s + e, a)`, in NTT form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub(crate) p0: Poly,
    pub(crate) p1: Poly,
}

impl PublicKey {
    /// A key pair for a single recipient (for the public-key switch): secret and
    /// public key `(-a*s + e, a)` with a fresh uniform `a`.
    ///
    /// # Errors
    /// [`crate::Error::Refused`] if `rng` was wiped.
    pub fn generate_pair(params: &Params, rng: &mut SecretRng) -> Result<(SecretKey, PublicKey)> {
        rng.check()?;
        let sk = SecretKey::generate(params, rng);
        // `a` is public once the key is; drawn from the secret generator all the same.
        let mut a = sampling::secret_uniform_poly(params, rng).into_public();
        a.to_ntt(params);
        let e = sampling::small_poly_ntt(params, &sampling::gaussian(rng, params.n()));
        let mut p0 = SecretPoly::new(a.clone());
        p0.mul_assign_ntt(&sk.s, params);
        p0.neg_assign(params);
        p0.add_assign(&e, params);
        Ok((
            sk,
            PublicKey {
                p0: p0.into_public(),
                p1: a,
            },
        ))
    }

    /// The two polynomials, NTT form.
    pub fn polys(&self) -> (&Poly, &Poly) {
        (&self.p0, &self.p1)
    }
}
