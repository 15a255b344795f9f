//! Ciphertexts, encryption under a public key, and the scaling that decodes them.

use rayon::prelude::*;

use crate::arith::{ct_mul_shoup, ct_reduce_once, from_i64};
use crate::encoding::Plaintext;
use crate::keys::{PublicKey, SecretKey};
use crate::params::Params;
#[cfg(test)]
use crate::ring::Form;
use crate::ring::{Cost, Poly, SecretPoly, worth_parallel};
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
/// `e0`) is secret and zeroized; `e0` and `Δm` are reduced and added residue by
/// residue, never held as polynomials of their own; only the finished `c0` is
/// returned.
fn c0_with(params: &Params, pk: &PublicKey, pt: &Plaintext, u: &Poly, rng: &mut SecretRng) -> Poly {
    let e0 = sampling::gaussian(rng, params.n());
    let mut c0 = SecretPoly::new(pk.p0.clone());
    c0.mul_ntt_to_coeff(u, params);
    c0.add_signed(params, &e0);
    add_scaled_plaintext(params, &mut c0, pt);
    c0.into_public()
}

/// `p1*u + e1` for `u` in NTT form; `p1*u` is zeroized once `e1` is added.
fn c1_with(params: &Params, pk: &PublicKey, u: &Poly, e1: &[i64]) -> Poly {
    let mut c1 = SecretPoly::new(pk.p1.clone());
    c1.mul_ntt_to_coeff(u, params);
    c1.add_signed(params, e1);
    c1.into_public()
}

/// `Δ*m` with `Δ = floor(Q/t)`, as an RNS polynomial (secret: zeroized on drop).
#[cfg(test)]
pub(crate) fn scaled_plaintext(params: &Params, pt: &Plaintext) -> SecretPoly {
    let mut p = SecretPoly::zero(params, Form::Coeff);
    add_scaled_plaintext(params, &mut p, pt);
    p
}

/// `x += Δ*m` (coefficient form), residue by residue.
fn add_scaled_plaintext(params: &Params, x: &mut Poly, pt: &Plaintext) {
    x.map_rows(params, Cost::Division, |row, limb| {
        // m is secret: constant-time reduction and product (see `crate::arith`).
        row.iter_mut().zip(pt.coeffs()).for_each(|(c, &m)| {
            let m_mod_q = limb.reducer.reduce_u128(m);
            let dm = ct_mul_shoup(m_mod_q, limb.delta, limb.delta_shoup, limb.q);
            *c = ct_reduce_once(*c + dm, limb.q);
        });
    });
}

/// Decrypts with a full secret: `round(t/Q * (c0 + c1*s)) mod t`.
pub fn decrypt(params: &Params, sk: &SecretKey, ct: &Ciphertext) -> Plaintext {
    let mut x = SecretPoly::new(ct.c1.clone());
    x.to_ntt(params);
    x.mul_ntt_to_coeff(&sk.s, params);
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
            let y = ct_mul_shoup(xj, limb.qhat_inv, limb.qhat_inv_shoup, limb.q);
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

/// Bits above `log2 t` that a modulus-switched polynomial keeps ([`Switched`]).
pub const SWITCH_EXTRA_BITS: u32 = 12;

/// The modulus `2^k` that polynomials are switched to before they travel:
/// `k = log2 t + ` [`SWITCH_EXTRA_BITS`] (31 bits under `default` instead of 108, 92
/// under `large` instead of 216).
pub fn switch_bits(params: &Params) -> u32 {
    params.plain_bits() + SWITCH_EXTRA_BITS
}

/// A polynomial modulus-switched from `Q` to `2^k` ([`switch_bits`]) and cut to the
/// coefficients that hold values: what travels of a contribution's `c0` and of a
/// decryption share.
///
/// # Error analysis
///
/// Each travelling polynomial `x` (a site's `c0`, a decrypting site's share) is
/// replaced by `y = round(2^k * x / Q) mod 2^k`, with `x` read in `[0, Q)`; `y` is a
/// function of `x`, so it reveals nothing more. The pooled sum of the `M` terms (`K`
/// contributions and `D <= K` shares) is `Σx = Δm + E mod Q`, and since `2^k/Q * Q =
/// 2^k` vanishes modulo `2^k`,
///
/// `Σy = 2^(k - log2 t) * m + 2^k * E / Q - 2^k * m * (Q mod t) / (Q t) + R  mod 2^k`,
///
/// with `|R| <= M/2` (one rounding per term, plus at most `2^-70` per term from the
/// 128 fractional bits of `2^k/q_i`), and the third term below `2^(k + log2 t) / Q`,
/// negligible. Decryption rounds `Σy / 2^(k - log2 t)`; it is exact while
/// `|E| t/Q + |R| 2^(log2 t - k) < 1/2`. A protocol accepts only sets whose
/// correctness margin is at least [`crate::noise::MIN_MARGIN_BITS`] = 1 bit, so
/// `|E| t/Q <= 1/4`; with `M <= 2 * MAX_PARTIES = 2000`, `|R| 2^-12 <= 1000.x / 4096
/// < 1/4`. So decryption of switched polynomials is exact whenever decryption of the
/// full ones is (tested at the worst `E` and 2000 terms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Switched {
    coeffs: Vec<u128>,
}

impl Switched {
    /// A switched polynomial from its coefficients (each reduced modulo `2^k`).
    pub fn from_coeffs(params: &Params, mut coeffs: Vec<u128>) -> Switched {
        let mask = switch_mask(params);
        coeffs.iter_mut().for_each(|c| *c &= mask);
        Switched { coeffs }
    }

    /// The coefficients that travel, each in `[0, 2^k)`.
    pub fn coeffs(&self) -> &[u128] {
        &self.coeffs
    }

    /// Number of coefficients that travel.
    pub fn len(&self) -> usize {
        self.coeffs.len()
    }

    /// Whether no coefficient travels.
    pub fn is_empty(&self) -> bool {
        self.coeffs.is_empty()
    }

    /// `self += other mod 2^k` (both the same length; extra coefficients are ignored).
    pub fn add_assign(&mut self, other: &Switched, params: &Params) {
        let mask = switch_mask(params);
        self.coeffs
            .iter_mut()
            .zip(&other.coeffs)
            .for_each(|(a, b)| *a = a.wrapping_add(*b) & mask);
    }

    /// `self -= other mod 2^k`.
    pub fn sub_assign(&mut self, other: &Switched, params: &Params) {
        let mask = switch_mask(params);
        self.coeffs
            .iter_mut()
            .zip(&other.coeffs)
            .for_each(|(a, b)| *a = a.wrapping_sub(*b) & mask);
    }

    /// `self *= k mod 2^k` (the rounding error grows by `|k|` too).
    pub fn mul_scalar_assign(&mut self, k: i64, params: &Params) {
        let mask = switch_mask(params);
        let factor = k as i128 as u128;
        self.coeffs
            .iter_mut()
            .for_each(|a| *a = a.wrapping_mul(factor) & mask);
    }
}

fn switch_mask(params: &Params) -> u128 {
    (1u128 << switch_bits(params)) - 1
}

/// `round(2^k/Q * x) mod 2^k` for the first `used` coefficients of `x` (coefficient
/// form), computed in RNS as [`scale_and_round`] does for `t`.
pub fn modulus_switch(params: &Params, x: &Poly, used: usize) -> Switched {
    let k = switch_bits(params);
    let mask = switch_mask(params);
    let consts: Vec<(u128, u64, u64)> = params
        .limbs
        .iter()
        .map(|l| crate::params::t_over_q(k, l.q))
        .collect();
    let rows: Vec<&[u64]> = x.rows().collect();
    let coeffs = (0..used.min(params.n()))
        .map(|j| {
            let mut int = 0u128;
            let mut frac = 0u128; // units of 2^-64
            for ((row, limb), &(ti, hi, lo)) in rows.iter().zip(&params.limbs).zip(&consts) {
                let xj = row.get(j).copied().unwrap_or(0);
                let y = u128::from(ct_mul_shoup(xj, limb.qhat_inv, limb.qhat_inv_shoup, limb.q));
                int = int.wrapping_add(y.wrapping_mul(ti));
                frac += y * u128::from(hi) + ((y * u128::from(lo)) >> 64);
            }
            let rounded = (frac + (1u128 << 63)) >> 64;
            int.wrapping_add(rounded) & mask
        })
        .collect();
    Switched { coeffs }
}

/// The plaintext of a pooled sum of switched polynomials (`c0`s and shares):
/// `round(Σy / 2^(k - log2 t)) mod t` per coefficient; coefficients past the sum's
/// length are zero.
pub fn decrypt_switched(params: &Params, sum: &Switched) -> Plaintext {
    let shift = SWITCH_EXTRA_BITS;
    let half = 1u128 << (shift - 1);
    let coeffs = sum
        .coeffs
        .iter()
        .map(|&y| (y.wrapping_add(half) & switch_mask(params)) >> shift)
        .collect();
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

    #[test]
    fn switched_decryption_is_exact_at_the_worst_noise_and_2000_terms() {
        for params in [Params::toy(), Params::by_name("default").unwrap()] {
            let n = params.n();
            let q: u128 = params.moduli().map(u128::from).product();
            let t = 1u128 << params.plain_bits();
            // The largest noise a 1-bit margin allows: |E| <= Q / (4t).
            let bound = i128::try_from(q / (4 * t)).unwrap();
            let m: Vec<u128> = (0..n as u128).map(|i| (i * 104_729) % t).collect();
            let pt = Plaintext::from_coeffs(&params, m);
            for sign in [1i128, -1] {
                let e: Vec<i128> = (0..n).map(|j| sign * (bound - (j as i128 % 3))).collect();
                let mut target = scaled_plaintext(&params, &pt).into_public();
                target.add_assign(&Poly::from_signed_wide(&params, &e), &params);
                // 1999 terms whose switch each rounds down by almost 1/2, the worst
                // case of the analysis (|R| near 1000), and one that makes the sum
                // Δm + E with E of the same sign.
                let k = switch_bits(&params);
                let q_hi = q >> (k + 1);
                let q_lo = q & ((1u128 << (k + 1)) - 1);
                let mut state = 0x2545_f491_4f6c_dd1du64;
                let mut last = target.clone();
                let mut sum = Switched::from_coeffs(&params, vec![0; n]);
                for _ in 0..1999 {
                    let x: Vec<i128> = (0..n)
                        .map(|_| {
                            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                            let odd = 2 * u128::from(state >> 34) + 1; // 2a + 1 < 2^31
                            // floor((a + 1/2) Q / 2^k) - 1: rounds to a, error -1/2 + tiny.
                            let v = odd * q_hi + ((odd * q_lo) >> (k + 1)) - 1;
                            i128::try_from(v).unwrap()
                        })
                        .collect();
                    let p = Poly::from_signed_wide(&params, &x);
                    last.sub_assign(&p, &params);
                    sum.add_assign(&modulus_switch(&params, &p, n), &params);
                }
                sum.add_assign(&modulus_switch(&params, &last, n), &params);
                assert_eq!(decrypt_switched(&params, &sum), pt, "{}", params.name());
                // Unswitched, the same sum decrypts to the same plaintext.
                assert_eq!(scale_and_round(&params, &target), pt);
            }
        }
    }

    #[test]
    fn a_switched_polynomial_keeps_only_its_used_coefficients() {
        let params = Params::by_name("default").unwrap();
        let p = crate::sampling::Crs::from_seed([4; 32]).uniform_poly(&params, b"p");
        let s = modulus_switch(&params, &p, 37);
        assert_eq!(s.len(), 37);
        assert!(s.coeffs().iter().all(|&c| c < 1u128 << switch_bits(&params)));
        assert_eq!(switch_bits(&params), 31);
    }
}
