//! Exact encoding of integer and fixed-point vectors into plaintexts.
//!
//! # Range and precision
//!
//! A value is a signed integer `v` with `|v| <= 2^116` ([`MAX_ABS_INTEGER`]), so that
//! the sum over up to [`MAX_PARTIES`](crate::params::MAX_PARTIES) = 1000 < 2^10 parties
//! stays inside the signed 128-bit range (2^126 < 2^127). Reals are fixed point with
//! [`FRAC_BITS`] = 40 fractional bits: `x` is encoded as `round(x * 2^40)`, so
//! `|x| <= 2^76` (about 7.6e22, [`MAX_ABS_REAL`]) and the resolution is
//! 2^-40 (about 9.1e-13). A value outside the range, NaN or an infinity is an
//! [`Error::OutOfRange`] before anything is encrypted.
//!
//! Decoding the pooled sum gives exactly the sum of the encoded party values (as an
//! integer); for reals that sum is then divided by 2^40 and rounded once to `f64`.
//!
//! # Layout
//!
//! The two's-complement bits of a value are cut into `128 / digit_bits` unsigned
//! digits, one per coefficient, least significant first; value `i` of a plaintext
//! occupies coefficients `i * d .. (i + 1) * d` with `d` digits per value. The
//! plaintext modulus leaves head room above a digit, so the sum of the digits of all
//! parties is exact, and the pooled value is `sum_j D_j * 2^(j * digit_bits) mod 2^128`.
//! Long vectors are cut into as many plaintexts as needed.

use crate::error::{Error, Result};
use crate::params::Params;

/// Fractional bits of the fixed-point encoding of reals.
pub const FRAC_BITS: u32 = 40;
/// Largest magnitude of an encoded integer value of one party.
pub const MAX_ABS_INTEGER: i128 = 1 << 116;
/// Largest magnitude of a real value of one party (2^76).
pub const MAX_ABS_REAL: f64 = 75_557_863_725_914_323_419_136.0;

/// A plaintext: N coefficients modulo t. A site's plaintexts hold its values and its
/// masks, so they are zeroized on drop (a pooled result is too; it costs one pass).
#[derive(Clone, PartialEq, Eq)]
pub struct Plaintext {
    coeffs: Vec<u128>,
}

impl std::fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plaintext")
            .field("n", &self.coeffs.len())
            .finish_non_exhaustive()
    }
}

impl Drop for Plaintext {
    fn drop(&mut self) {
        // One pass: the vector is built at its final length, with no spare capacity.
        zeroize::Zeroize::zeroize(self.coeffs.as_mut_slice());
    }
}

impl zeroize::ZeroizeOnDrop for Plaintext {}

impl Plaintext {
    /// The zero plaintext.
    pub fn zero(params: &Params) -> Plaintext {
        Plaintext {
            coeffs: vec![0; params.n()],
        }
    }

    /// A plaintext from coefficients, each reduced modulo t.
    pub fn from_coeffs(params: &Params, mut coeffs: Vec<u128>) -> Plaintext {
        coeffs.resize(params.n(), 0);
        let mask = params.plain_mask();
        coeffs.iter_mut().for_each(|c| *c &= mask);
        Plaintext { coeffs }
    }

    /// The coefficients, each in `[0, t)`.
    pub fn coeffs(&self) -> &[u128] {
        &self.coeffs
    }

    /// `self += other mod t`.
    pub fn add_assign(&mut self, other: &Plaintext, params: &Params) {
        let mask = params.plain_mask();
        self.coeffs
            .iter_mut()
            .zip(&other.coeffs)
            .for_each(|(a, b)| *a = a.wrapping_add(*b) & mask);
    }

    /// `self -= other mod t`.
    pub fn sub_assign(&mut self, other: &Plaintext, params: &Params) {
        let mask = params.plain_mask();
        self.coeffs
            .iter_mut()
            .zip(&other.coeffs)
            .for_each(|(a, b)| *a = a.wrapping_sub(*b) & mask);
    }
}

/// The rule a real breaks when it cannot be encoded.
pub const REAL_RULE: &str = "a real must be finite and at most 2^76 in magnitude";
/// The rule an integer breaks when it cannot be encoded.
pub const INTEGER_RULE: &str = "an integer must be at most 2^116 in magnitude";

/// A real as a fixed-point integer with [`FRAC_BITS`] fractional bits.
///
/// # Errors
/// [`Error::OutOfRange`] (at index 1) for NaN, an infinity or `|x| > 2^76`.
pub fn real_to_fixed(x: f64) -> Result<i128> {
    real_to_fixed_at(x, 1)
}

/// Reals as fixed-point integers, each as [`real_to_fixed`].
///
/// # Errors
/// [`Error::OutOfRange`] naming the position of the first value out of range (from 1),
/// never the value.
pub fn reals_to_fixed(values: &[f64]) -> Result<Vec<i128>> {
    values
        .iter()
        .enumerate()
        .map(|(i, &x)| real_to_fixed_at(x, i + 1))
        .collect()
}

fn real_to_fixed_at(x: f64, index: usize) -> Result<i128> {
    if !x.is_finite() || x.abs() > MAX_ABS_REAL {
        return Err(Error::OutOfRange {
            rule: REAL_RULE,
            index,
        });
    }
    // Multiplying by a power of two is exact; rounding to an integer is the only loss.
    let scaled = (x * f64::from(1u32 << 20) * f64::from(1u32 << 20)).round();
    #[expect(
        clippy::cast_possible_truncation,
        reason = "|scaled| <= 2^116 fits in i128"
    )]
    Ok(scaled as i128)
}

/// A fixed-point integer back to a real (one rounding to `f64`).
pub fn fixed_to_real(v: i128) -> f64 {
    (v as f64) / (f64::from(1u32 << 20) * f64::from(1u32 << 20))
}

/// Number of plaintexts (and ciphertexts) that `len` values need.
pub fn num_plaintexts(params: &Params, len: usize) -> usize {
    len.div_ceil(params.values_per_ciphertext())
}

/// Encodes integer values, `|v| <= 2^116`, into as many plaintexts as needed.
///
/// # Errors
/// [`Error::OutOfRange`] for a value beyond 2^116 in magnitude, naming its position
/// (from 1), never the value.
pub fn encode(params: &Params, values: &[i128]) -> Result<Vec<Plaintext>> {
    if let Some(i) = values
        .iter()
        .position(|v| v.unsigned_abs() > MAX_ABS_INTEGER.unsigned_abs())
    {
        return Err(Error::OutOfRange {
            rule: INTEGER_RULE,
            index: i + 1,
        });
    }
    let d = params.digits_per_value();
    let bits = params.digit_bits();
    let digit_mask = if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    Ok(values
        .chunks(params.values_per_ciphertext())
        .map(|chunk| {
            let mut coeffs = vec![0u128; params.n()];
            for (slot, &v) in coeffs.chunks_mut(d).zip(chunk) {
                let u = v as u128;
                let mut shift = 0u32;
                for c in slot.iter_mut() {
                    *c = (u >> shift) & digit_mask;
                    shift += bits;
                }
            }
            Plaintext { coeffs }
        })
        .collect())
}

/// Decodes the first `len` values from pooled plaintexts.
///
/// # Errors
/// [`Error::InvalidArgument`] when the plaintexts hold fewer than `len` values.
pub fn decode(params: &Params, plaintexts: &[Plaintext], len: usize) -> Result<Vec<i128>> {
    let per = params.values_per_ciphertext();
    if plaintexts.len() * per < len {
        return Err(Error::InvalidArgument(format!(
            "{} plaintexts cannot hold {len} values",
            plaintexts.len()
        )));
    }
    let d = params.digits_per_value();
    let bits = params.digit_bits();
    let out = plaintexts
        .iter()
        .flat_map(|pt| pt.coeffs.chunks(d))
        .take(len)
        .map(|slot| {
            let (u, _) = slot.iter().fold((0u128, 0u32), |(acc, shift), &digit| {
                (acc.wrapping_add(digit.wrapping_shl(shift)), shift + bits)
            });
            u as i128
        })
        .collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_round_trip_at_the_extremes() {
        let params = Params::toy();
        let values = vec![0, 1, -1, MAX_ABS_INTEGER, -MAX_ABS_INTEGER, 12345, -98765];
        let pts = encode(&params, &values).unwrap();
        assert_eq!(pts.len(), 2); // toy: 64 coefficients / 16 digits = 4 values each
        assert_eq!(decode(&params, &pts, values.len()).unwrap(), values);
    }

    #[test]
    fn digit_sums_of_many_parties_decode_to_the_sum() {
        let params = Params::toy();
        let parties: Vec<Vec<i128>> = (0..1000)
            .map(|k| vec![MAX_ABS_INTEGER - k, -MAX_ABS_INTEGER + 3 * k, k * k - 500])
            .collect();
        let mut pooled = Plaintext::zero(&params);
        for p in &parties {
            pooled.add_assign(&encode(&params, p).unwrap()[0], &params);
        }
        let expected: Vec<i128> = (0..3).map(|i| parties.iter().map(|p| p[i]).sum()).collect();
        assert_eq!(decode(&params, &[pooled], 3).unwrap(), expected);
    }

    #[test]
    fn out_of_range_is_an_error_not_a_wrap() {
        let params = Params::toy();
        assert!(encode(&params, &[MAX_ABS_INTEGER + 1]).is_err());
        assert!(real_to_fixed(f64::NAN).is_err());
        assert!(real_to_fixed(f64::INFINITY).is_err());
        assert!(real_to_fixed(MAX_ABS_REAL * 2.0).is_err());
        assert!(real_to_fixed(MAX_ABS_REAL).is_ok());
    }

    #[test]
    fn an_out_of_range_error_names_the_rule_and_position_but_not_the_value() {
        let params = Params::toy();
        let bad = MAX_ABS_INTEGER + 123_456_789;
        let e = encode(&params, &[1, 2, bad]).unwrap_err();
        assert_eq!(
            e,
            Error::OutOfRange {
                rule: INTEGER_RULE,
                index: 3
            }
        );
        let text = e.to_string();
        assert!(text.contains("value 3") && text.contains("2^116"), "{text}");
        assert!(!text.contains(&bad.to_string()), "{text}");
        let secret = 1.234_567_891e30;
        let e = reals_to_fixed(&[0.5, secret, f64::NAN]).unwrap_err();
        assert_eq!(
            e,
            Error::OutOfRange {
                rule: REAL_RULE,
                index: 2
            }
        );
        let text = e.to_string();
        assert!(!text.contains("1.234") && !text.contains("e30"), "{text}");
        assert!(!text.contains(&format!("{secret}")), "{text}");
        let e = reals_to_fixed(&[0.5, f64::NAN]).unwrap_err().to_string();
        assert!(e.contains("value 2") && !e.contains("NaN"), "{e}");
    }

    #[test]
    fn fixed_point_has_40_fractional_bits() {
        assert_eq!(real_to_fixed(1.0).unwrap(), 1 << 40);
        assert_eq!(real_to_fixed(-0.5).unwrap(), -(1 << 39));
        assert_eq!(fixed_to_real(real_to_fixed(3.25).unwrap()), 3.25);
    }
}
