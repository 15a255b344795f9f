//! Parameter sets: ring degree, RNS moduli, plaintext modulus and digit layout.
//!
//! Every set meets 128-bit classical security for a ternary secret per the
//! HomomorphicEncryption.org standard (Albrecht et al., 2018, table for "uniform ternary"
//! secrets): log2 Q <= 109 for N = 4096, <= 218 for N = 8192, <= 438 for N = 16384.
//! Nothing is relinearised, so there is no special modulus P and QP = Q.
//!
//! Plaintexts live modulo `t = 2^plain_bits`. A 128-bit value is split into
//! `128 / digit_bits` unsigned digits, one per coefficient; `plain_bits - digit_bits`
//! bits of head room keep the sum of the digits of up to [`MAX_PARTIES`] parties from
//! wrapping modulo `t`, so the pooled digits, and hence the pooled value, are exact.

use std::sync::{Arc, OnceLock};

use crate::arith::{inv_mod, mul_mod};
use crate::error::{Error, Result};
use crate::noise;

/// Largest number of parties whose contributions one pooled ciphertext may sum.
pub const MAX_PARTIES: usize = 1000;

/// A parameter set as it is published: everything else is derived from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamSpec {
    /// Stable numeric id, carried by every wire blob.
    pub id: u16,
    /// Stable name, used by the R package (`params = "default"`).
    pub name: &'static str,
    /// log2 of the ring degree N.
    pub log_n: u32,
    /// The RNS primes q_i, each below 2^54 and 1 mod 2N.
    pub moduli: &'static [u64],
    /// log2 of the plaintext modulus t.
    pub plain_bits: u32,
    /// Width of one digit of a 128-bit value; divides 128.
    pub digit_bits: u32,
}

/// The published parameter sets.
pub const PARAM_SPECS: [ParamSpec; 3] = [
    // N = 4096, log2 Q = 108 <= 109. Short ciphertexts: the default for pooled statistics.
    ParamSpec {
        id: 1,
        name: "default",
        log_n: 12,
        moduli: &[0x003f_ffff_fffd_6001, 0x003f_ffff_fffd_2001],
        plain_bits: 19,
        digit_bits: 8,
    },
    // N = 8192, log2 Q = 216 <= 218. Four times the values per ciphertext.
    ParamSpec {
        id: 2,
        name: "large",
        log_n: 13,
        moduli: &[
            0x003f_ffff_ffef_8001,
            0x003f_ffff_ffeb_8001,
            0x003f_ffff_ffe7_c001,
            0x003f_ffff_ffe6_4001,
        ],
        plain_bits: 80,
        digit_bits: 64,
    },
    // N = 16384, log2 Q = 432 <= 438. For very long vectors.
    ParamSpec {
        id: 3,
        name: "xlarge",
        log_n: 14,
        moduli: &[
            0x003f_ffff_ffef_8001,
            0x003f_ffff_ffeb_8001,
            0x003f_ffff_ffe3_8001,
            0x003f_ffff_ffdd_8001,
            0x003f_ffff_ffd7_8001,
            0x003f_ffff_ffd6_0001,
            0x003f_ffff_ffca_0001,
            0x003f_ffff_ffaf_8001,
        ],
        plain_bits: 80,
        digit_bits: 64,
    },
];

/// Insecure toy parameters for fast unit tests only (N = 64). Never on the wire of a
/// real session: its id is outside the published range.
#[cfg(any(test, feature = "test-utils"))]
pub const TOY_SPEC: ParamSpec = ParamSpec {
    id: 0xFFFF,
    name: "toy-insecure",
    log_n: 6,
    moduli: &[0x003f_ffff_fffd_6001, 0x003f_ffff_fffd_2001],
    plain_bits: 19,
    digit_bits: 8,
};

/// Constants for one RNS limb.
pub(crate) struct Limb {
    /// The prime.
    pub(crate) q: u64,
    /// Constants of the constant-time reductions modulo `q`.
    pub(crate) reducer: crate::arith::Reducer,
    /// Shoup constant of `delta`.
    pub(crate) delta_shoup: u64,
    /// Negacyclic NTT plan.
    pub(crate) ntt: tfhe_ntt::prime64::Plan,
    /// floor(Q / t) mod q: the BFV scaling factor.
    pub(crate) delta: u64,
    /// (Q / q)^-1 mod q, for CRT reconstruction.
    pub(crate) qhat_inv: u64,
    /// Shoup constant of `qhat_inv`: the reconstruction's products by it need no
    /// division.
    pub(crate) qhat_inv_shoup: u64,
    /// floor(t / q).
    pub(crate) t_over_q_int: u128,
    /// Fractional part of t / q, high 64 bits.
    pub(crate) t_over_q_frac_hi: u64,
    /// Fractional part of t / q, next 64 bits.
    pub(crate) t_over_q_frac_lo: u64,
}

/// A parameter set with everything derived from it (NTT plans, CRT and scaling
/// constants). Built once per process and shared.
pub struct Params {
    spec: ParamSpec,
    n: usize,
    pub(crate) limbs: Vec<Limb>,
}

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Params")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

impl Params {
    /// The parameter set with this name (`"default"`, `"large"`, `"xlarge"`).
    ///
    /// # Errors
    /// [`Error::UnknownParams`] for any other name.
    pub fn by_name(name: &str) -> Result<Arc<Params>> {
        let idx = PARAM_SPECS
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| Error::UnknownParams(name.to_owned()))?;
        Self::cached(idx)
    }

    /// The parameter set with this id.
    ///
    /// # Errors
    /// [`Error::UnknownParams`] for an id no set has.
    pub fn by_id(id: u16) -> Result<Arc<Params>> {
        let idx = PARAM_SPECS
            .iter()
            .position(|s| s.id == id)
            .ok_or_else(|| Error::UnknownParams(format!("id {id}")))?;
        Self::cached(idx)
    }

    /// Insecure N = 64 parameters for tests.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn toy() -> Arc<Params> {
        static TOY: OnceLock<Arc<Params>> = OnceLock::new();
        TOY.get_or_init(|| Arc::new(Self::derive(TOY_SPEC))).clone()
    }

    fn cached(idx: usize) -> Result<Arc<Params>> {
        static CACHE: [OnceLock<Arc<Params>>; PARAM_SPECS.len()] =
            [OnceLock::new(), OnceLock::new(), OnceLock::new()];
        let (cell, spec) = CACHE
            .get(idx)
            .zip(PARAM_SPECS.get(idx))
            .ok_or_else(|| Error::UnknownParams(format!("index {idx}")))?;
        Ok(cell.get_or_init(|| Arc::new(Self::derive(*spec))).clone())
    }

    #[expect(
        clippy::expect_used,
        reason = "the published moduli are NTT-friendly; tested"
    )]
    fn derive(spec: ParamSpec) -> Params {
        let n = 1usize << spec.log_n;
        let t_mask = plain_mask(spec.plain_bits);
        // Q mod t: the product of the moduli in wrapping arithmetic, masked to t.
        let q_mod_t = spec
            .moduli
            .iter()
            .fold(1u128, |acc, &q| acc.wrapping_mul(u128::from(q)))
            & t_mask;
        let limbs = spec
            .moduli
            .iter()
            .map(|&q| {
                let ntt = tfhe_ntt::prime64::Plan::try_new(n, q).expect("NTT-friendly prime");
                let qhat = spec
                    .moduli
                    .iter()
                    .filter(|&&p| p != q)
                    .fold(1u64, |acc, &p| mul_mod(acc, p % q, q));
                let qhat_inv = inv_mod(qhat, q);
                let t_mod_q = mod_pow2(spec.plain_bits, q);
                // floor(Q/t) = (Q - (Q mod t)) / t, reduced mod q: Q vanishes mod q.
                let minus_b = crate::arith::neg_mod(mod_u128(q_mod_t, q), q);
                let delta = mul_mod(minus_b, inv_mod(t_mod_q, q), q);
                let (int, hi, lo) = t_over_q(spec.plain_bits, q);
                Limb {
                    q,
                    reducer: crate::arith::Reducer::new(q),
                    delta_shoup: crate::arith::shoup_constant(delta, q),
                    ntt,
                    delta,
                    qhat_inv,
                    qhat_inv_shoup: crate::arith::shoup_constant(qhat_inv, q),
                    t_over_q_int: int,
                    t_over_q_frac_hi: hi,
                    t_over_q_frac_lo: lo,
                }
            })
            .collect();
        Params { spec, n, limbs }
    }

    /// The published description of this set.
    pub fn spec(&self) -> &ParamSpec {
        &self.spec
    }
    /// Stable numeric id.
    pub fn id(&self) -> u16 {
        self.spec.id
    }
    /// Stable name.
    pub fn name(&self) -> &'static str {
        self.spec.name
    }
    /// Ring degree N.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Number of RNS limbs.
    pub fn num_limbs(&self) -> usize {
        self.limbs.len()
    }
    /// The RNS moduli.
    pub fn moduli(&self) -> impl Iterator<Item = u64> + '_ {
        self.limbs.iter().map(|l| l.q)
    }
    /// log2 Q, rounded to two decimals' worth.
    pub fn log_q(&self) -> f64 {
        self.moduli().map(|q| (q as f64).log2()).sum()
    }
    /// log2 t.
    pub fn plain_bits(&self) -> u32 {
        self.spec.plain_bits
    }
    /// `t - 1` as a mask (t is a power of two).
    pub fn plain_mask(&self) -> u128 {
        plain_mask(self.spec.plain_bits)
    }
    /// Width of one digit.
    pub fn digit_bits(&self) -> u32 {
        self.spec.digit_bits
    }
    /// Coefficients one 128-bit value occupies.
    pub fn digits_per_value(&self) -> usize {
        (128 / self.spec.digit_bits) as usize
    }
    /// 128-bit values one ciphertext carries.
    pub fn values_per_ciphertext(&self) -> usize {
        self.n / self.digits_per_value()
    }
    /// Bits a coefficient of limb `i` takes on the wire.
    pub(crate) fn limb_bits(&self, i: usize) -> u32 {
        self.limbs.get(i).map_or(64, |l| 64 - l.q.leading_zeros())
    }
    /// The largest set of parties this parameter set supports: the largest number
    /// whose pooled decryption keeps the correctness margin (see the `noise` module).
    pub fn max_parties(&self) -> usize {
        noise::max_parties(self)
    }

    /// Flooding width (log2 of the half-width of the uniform smudging noise) that a
    /// decryption share carries for a set of [`Params::max_parties`] parties; smaller
    /// sets flood less (see the `noise` module).
    pub fn flooding_bits(&self) -> u32 {
        noise::flooding_bits(self, self.max_parties())
    }

    /// The correctness margin, in bits, for a set of [`Params::max_parties`] parties.
    pub fn correctness_margin_bits(&self) -> f64 {
        noise::correctness_margin_bits(self, self.max_parties())
    }

    /// Bytes of one ciphertext (two polynomials) on the wire, without the header.
    pub fn ciphertext_bytes(&self) -> usize {
        2 * crate::wire::poly_bytes(self)
    }
}

fn plain_mask(bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

#[expect(clippy::cast_possible_truncation, reason = "remainder below q")]
fn mod_u128(x: u128, q: u64) -> u64 {
    (x % u128::from(q)) as u64
}

fn mod_pow2(bits: u32, q: u64) -> u64 {
    crate::arith::pow_mod(2, u64::from(bits), q)
}

/// t / q as an integer part and 128 fractional bits, for t = 2^bits, bits <= 127.
#[expect(
    clippy::cast_possible_truncation,
    reason = "quotients below 2^64 by construction"
)]
pub(crate) fn t_over_q(bits: u32, q: u64) -> (u128, u64, u64) {
    let t = 1u128 << bits;
    let q128 = u128::from(q);
    let int = t / q128;
    let r = t % q128; // r < q < 2^54
    let hi_num = r << 64; // < 2^118
    let hi = (hi_num / q128) as u64;
    let r2 = hi_num % q128;
    let lo = ((r2 << 64) / q128) as u64;
    (int, hi, lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_sets_meet_the_he_standard_bound() {
        for spec in PARAM_SPECS {
            let p = Params::by_name(spec.name).expect("known");
            let bound = match spec.log_n {
                12 => 109.0,
                13 => 218.0,
                14 => 438.0,
                _ => 0.0,
            };
            assert!(p.log_q() <= bound, "{}: log2 Q = {}", spec.name, p.log_q());
            for q in spec.moduli {
                assert_eq!(q % (2u64 << spec.log_n), 1);
                assert!(*q < 1u64 << 54);
            }
            assert_eq!(128 % spec.digit_bits, 0);
            // Head room: MAX_PARTIES digits of full width never wrap modulo t.
            assert!((MAX_PARTIES as u128) << spec.digit_bits < 1u128 << spec.plain_bits);
        }
    }

    #[test]
    fn ids_and_names_are_unique_and_found() {
        for spec in PARAM_SPECS {
            assert_eq!(Params::by_id(spec.id).map(|p| p.name()), Ok(spec.name));
        }
        assert!(Params::by_name("nope").is_err());
        assert!(Params::by_id(77).is_err());
    }
}
