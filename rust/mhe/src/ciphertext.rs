//! Ciphertexts, encryption under a public key, and the scaling that decodes them.

use rayon::prelude::*;

use crate::arith::{ct_mul_shoup, from_i64, mul_mod};
use crate::encoding::Plaintext;
use crate::keys::{PublicKey, SecretKey};
use crate::params::Params;
use crate::ring::{Cost, Form, Poly, SecretPoly, worth_parallel};
use crate::sampling::{self, SecretRng};

/// A BFV-style ciphertext `(c0, c1)` with `c0 + c1*s = Δm + e`, coefficient form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ciphertext {
    pub(crate) c0: Poly,
    pub(crate) c1: Poly,
}

impl Ciphertext {
    /// The two polynomials.
    pub fn polys(&self) -> (&Poly, &Poly) {
        (&self.c0, &self.c1)
    }

    /// A ciphertext from its polynomials (both coefficient form).
    pub fn from_polys(c0: Poly, c1: Poly) -> Ciphertext {
        Ciphertext { c0, c1 }
    }

    /// Homomorphic addition: `self += other`.
    pub fn add_assign(&mut self, other: &Ciphertext, params: &Params) {
        self.c0.add_assign(&other.c0, params);
        self.c1.add_assign(&other.c1, params);
    }

    /// Homomorphic subtraction: `self -= other`.
    pub fn sub_assign(&mut self, other: &Ciphertext, params: &Params) {
        self.c0.sub_assign(&other.c0, params);
        self.c1.sub_assign(&other.c1, params);
    }

    /// Multiplication by a plaintext integer constant `k` (noise grows by `|k|`).
    pub fn mul_scalar_assign(&mut self, k: i64, params: &Params) {
        for limb_poly in [&mut self.c0, &mut self.c1] {
            let residues: Vec<u64> = params.moduli().map(|q| from_i64(k, q)).collect();
            limb_poly.mul_rns_scalar_assign(&residues, params);
        }
    }
}

/// Encrypts `pt` under the public key `pk`: `(p0*u + e0 + Δm, p1*u + e1)` with ternary
/// `u` and Gaussian `e0, e1` (Mouchet et al., PETS 2021, Enc).
pub fn encrypt(params: &Params, pk: &PublicKey, pt: &Plaintext, rng: &mut SecretRng) -> Ciphertext {
    let n = params.n();
    let u = sampling::small_poly_ntt(params, &sampling::ternary(rng, n));
    let e1 = sampling::gaussian(rng, n);
    let c0 = c0_with(params, pk, pt, &u, rng);
    let c1 = c1_with(params, pk, &u, &e1);
    Ciphertext { c0, c1 }
}

/// The `c0 = p0*u + e0 + Δm` of an encryption whose `u` (ternary coefficients) the
/// caller supplies, with a fresh Gaussian `e0` from `rng`: the part a site sends when
/// every site can rederive `u` and `c1` (see [`crate::protocols::group_secret`]).
pub fn encrypt_with_shared(
    params: &Params,
    pk: &PublicKey,
    pt: &Plaintext,
    u: &[i64],
    rng: &mut SecretRng,
) -> Poly {
    c0_with(params, pk, pt, &sampling::small_poly_ntt(params, u), rng)
}

/// The `c1 = p1*u + e1` of an encryption with the given small coefficients of `u` and
/// `e1` (for a pool: the sums of every contribution's), coefficient form.
pub(crate) fn c1_with_shared(params: &Params, pk: &PublicKey, u: &[i64], e1: &[i64]) -> Poly {
    c1_with(params, pk, &sampling::small_poly_ntt(params, u), e1)
}

/// `p0*u + e0 + Δm` for `u` in NTT form, fresh `e0`. Every intermediate (`p0*u`,
/// `e0`, `Δm`) is secret and zeroized; only the finished `c0` is returned.
fn c0_with(params: &Params, pk: &PublicKey, pt: &Plaintext, u: &Poly, rng: &mut SecretRng) -> Poly {
    let e0 = sampling::small_poly(params, &sampling::gaussian(rng, params.n()));
    let mut c0 = SecretPoly::new(pk.p0.clone());
    c0.mul_assign_ntt(u, params);
    c0.to_coeff(params);
    c0.add_assign(&e0, params);
    c0.add_assign(&scaled_plaintext(params, pt), params);
    c0.into_public()
}

/// `p1*u + e1` for `u` in NTT form; `p1*u` is zeroized once `e1` is added.
fn c1_with(params: &Params, pk: &PublicKey, u: &Poly, e1: &[i64]) -> Poly {
    let mut c1 = SecretPoly::new(pk.p1.clone());
    c1.mul_assign_ntt(u, params);
    c1.to_coeff(params);
    c1.add_assign(&sampling::small_poly(params, e1), params);
    c1.into_public()
}

/// `Δ*m` with `Δ = floor(Q/t)`, as an RNS polynomial (secret: zeroized on drop).
pub(crate) fn scaled_plaintext(params: &Params, pt: &Plaintext) -> SecretPoly {
    let mut p = SecretPoly::zero(params, Form::Coeff);
    p.map_rows(params, Cost::Division, |row, limb| {
        // m is secret: constant-time reduction and product (see `crate::arith`).
        row.iter_mut().zip(pt.coeffs()).for_each(|(c, &m)| {
            let m_mod_q = limb.reducer.reduce_u128(m);
            *c = ct_mul_shoup(m_mod_q, limb.delta, limb.delta_shoup, limb.q);
        });
    });
    p
}

/// Decrypts with a full secret: `round(t/Q * (c0 + c1*s)) mod t`.
pub fn decrypt(params: &Params, sk: &SecretKey, ct: &Ciphertext) -> Plaintext {
    let mut x = SecretPoly::new(ct.c1.clone());
    x.to_ntt(params);
    x.mul_assign_ntt(&sk.s, params);
    x.to_coeff(params);
    x.add_assign(&ct.c0, params);
    scale_and_round(params, &x)
}

/// `round(t/Q * x) mod t` for `x` given in RNS form, without multi-precision
/// arithmetic: with `y_i = x_i * (Q/q_i)^-1 mod q_i`, `t*x/Q = Σ y_i * t/q_i mod t`,
/// and `t/q_i` is kept as an integer part plus 128 fractional bits.
pub fn scale_and_round(params: &Params, x: &Poly) -> Plaintext {
    let n = params.n();
    let mask = params.plain_mask();
    let rows: Vec<&[u64]> = x.rows().collect();
    let coeff = |j: usize| {
        let mut int = 0u128;
        let mut frac = 0u128; // units of 2^-64
        for (row, limb) in rows.iter().zip(&params.limbs) {
            let xj = row.get(j).copied().unwrap_or(0);
            let y = mul_mod(xj, limb.qhat_inv, limb.q);
            int = int.wrapping_add(u128::from(y).wrapping_mul(limb.t_over_q_int));
            frac += u128::from(y) * u128::from(limb.t_over_q_frac_hi)
                + ((u128::from(y) * u128::from(limb.t_over_q_frac_lo)) >> 64);
        }
        let rounded = (frac + (1u128 << 63)) >> 64;
        int.wrapping_add(rounded) & mask
    };
    // Rounding follows the sequential sums of the shares, when the pool's threads
    // sleep: under `large`, waking them cost more than the split saved (combining 10
    // shares took 531 µs in parallel, 472 µs on one thread), so the rounding counts
    // half its residues and goes to the pool under `xlarge` only.
    let coeffs: Vec<u128> = if worth_parallel(n * rows.len() / 2, Cost::Division) {
        (0..n).into_par_iter().map(coeff).collect()
    } else {
        (0..n).map(coeff).collect()
    };
    Plaintext::from_coeffs(params, coeffs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encryption_decrypts_with_the_secret() {
        for params in [Params::toy(), Params::by_name("default").unwrap()] {
            let mut rng = SecretRng::from_seed_insecure([5; 32]);
            let (sk, pk) = PublicKey::generate_pair(&params, &mut rng).unwrap();
            let coeffs: Vec<u128> = (0..params.n() as u128)
                .map(|i| (i * 7919) & params.plain_mask())
                .collect();
            let pt = Plaintext::from_coeffs(&params, coeffs);
            let ct = encrypt(&params, &pk, &pt, &mut rng);
            assert_eq!(decrypt(&params, &sk, &ct), pt);
        }
    }

    #[test]
    fn addition_and_scalar_multiplication_are_homomorphic() {
        let params = Params::by_name("large").unwrap();
        let mut rng = SecretRng::from_seed_insecure([6; 32]);
        let (sk, pk) = PublicKey::generate_pair(&params, &mut rng).unwrap();
        let a = Plaintext::from_coeffs(&params, (0..params.n() as u128).map(|i| i * i).collect());
        let b = Plaintext::from_coeffs(
            &params,
            (0..params.n() as u128).map(|i| (1u128 << 79) - i).collect(),
        );
        let mut ct = encrypt(&params, &pk, &a, &mut rng);
        ct.add_assign(&encrypt(&params, &pk, &b, &mut rng), &params);
        ct.mul_scalar_assign(3, &params);
        let mut expected = a.clone();
        expected.add_assign(&b, &params);
        let e2 = expected.clone();
        expected.add_assign(&e2, &params);
        expected.add_assign(&e2, &params);
        assert_eq!(decrypt(&params, &sk, &ct), expected);
    }
}
