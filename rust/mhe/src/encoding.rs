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
//!
//! # Widths
//!
//! A value may declare a narrower layout, a [`Width`]: the bits of its *pooled*
//! integer (two's complement) and its fractional bits (0 for integers such as counts,
//! [`FRAC_BITS`] for reals). It then occupies only the coefficients its range needs
//! (see "Digits" below): a count of at most 2^31 rows per site over 3 sites takes 2
//! coefficients under `default` instead of 16, one under `large` instead of two. The
//! widths of a vector, with the number of sites `K` it is pooled over, form its
//! [`Layout`], which is public, identical at every site of a query, and signed with
//! each contribution.
//!
//! Values are laid out one after the other in the coefficients of the plaintexts
//! taken as one stream, least significant digit first; a value may straddle two
//! plaintexts. At `K` parties, a site's value must fit in `bits - ceil(log2 K)` bits,
//! signed ([`WIDTH_RULE`]), so the pooled value fits in `bits` bits; the decoder
//! recombines the pooled digits and reduces the result modulo `2^bits`, sign-extended.
//! The full width (128 bits, 40 fractional bits) keeps the rule above, `|v| <= 2^116`,
//! whatever `K`.
//! Coefficients past the last value hold no value: they need not travel
//! ([`Layout::used_coeffs`]).
//!
//! # Digits
//!
//! The plaintext modulus is `t = 2^p` (`p` = 19 under `default`, 80 under `large`).
//! A value whose pooled width fits `p` bits takes one coefficient: `v mod t`, and the
//! pooled coefficient, centred, is the pooled value. A wider value is cut into lower
//! digits of `d = p - ceil(log2 K)` bits (unsigned, so the sum of `K` of them stays
//! below `t`) and one top digit, the rest of the value shifted arithmetically (signed,
//! so the sum of `K` of them, centred modulo `t`, is exact since the pooled value fits
//! its width): `1 + ceil((bits - p) / d)` coefficients. At `K = 3` under `default` a
//! count of 34 bits takes 2 coefficients, a full-width real 7 (16 at the fixed digit
//! width of the legacy [`encode`]).

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

/// The rule a value breaks when it does not fit its declared width.
pub const WIDTH_RULE: &str =
    "a value must fit its declared width less ceil(log2 K) bits, signed, at K sites";
/// The rule a value declared an integer breaks when it has a fractional part.
pub const WHOLE_RULE: &str = "a value declared an integer must be a whole number";

/// The public layout of one value: the bits of its pooled integer and its
/// fractional bits (see the module documentation, "Widths").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Width {
    bits: u8,
    frac: u8,
}

impl Width {
    /// The full width: 128 bits, [`FRAC_BITS`] fractional bits (a real with no declared
    /// range; every value before widths existed).
    pub const FULL: Width = Width {
        bits: 128,
        frac: 40,
    };

    /// A width of `bits` (2 to 128) with `frac` fractional bits (0 or [`FRAC_BITS`]).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for another number of bits or fractional bits.
    pub fn new(bits: u32, frac: u32) -> Result<Width> {
        let ok_bits = (2..=128).contains(&bits);
        let ok_frac = frac == 0 || frac == FRAC_BITS;
        match (u8::try_from(bits), u8::try_from(frac)) {
            (Ok(b), Ok(f)) if ok_bits && ok_frac => Ok(Width { bits: b, frac: f }),
            _ => Err(Error::InvalidArgument(format!(
                "a width has 2 to 128 bits and 0 or {FRAC_BITS} fractional bits, not {bits} and {frac}"
            ))),
        }
    }

    /// An integer (no fractional bits) whose pooled value fits in `bits` bits, signed.
    ///
    /// # Errors
    /// As [`Width::new`].
    pub fn integer(bits: u32) -> Result<Width> {
        Width::new(bits, 0)
    }

    /// The width an integer needs when every site's value lies in `[-bound, bound]` and
    /// up to `parties` sites pool it: `ceil(log2(bound + 1)) + 1 + ceil(log2 parties)`.
    ///
    /// # Errors
    /// As [`Width::new`], when that exceeds 128 bits.
    pub fn for_bound(bound: u128, parties: usize) -> Result<Width> {
        let value_bits = 128 - bound.leading_zeros();
        Width::integer(value_bits + 1 + ceil_log2(parties))
    }

    /// Bits of the pooled value.
    pub fn bits(self) -> u32 {
        u32::from(self.bits)
    }

    /// Fractional bits.
    pub fn frac(self) -> u32 {
        u32::from(self.frac)
    }

    /// Whether this is [`Width::FULL`].
    pub fn is_full(self) -> bool {
        self == Width::FULL
    }

    /// The pooled bits this width stands for at `parties` sites: its bits, or for
    /// the full width `118 + ceil(log2 K)` (site values up to `2^116`, strictly below
    /// `2^(bits - ceil(log2 K) - 1)` as for a narrow width).
    fn pooled_bits(self, parties: usize) -> u32 {
        if self.is_full() {
            118 + ceil_log2(parties)
        } else {
            self.bits()
        }
    }

    /// Coefficients a value of this width occupies under `params` at `parties`
    /// sites: one if its pooled value fits the plaintext modulus (`bits <= log2 t`),
    /// else `1 + ceil((bits - log2 t) / d)` with digits of `d = log2 t - ceil(log2
    /// K)` bits (see the module documentation, "Digits").
    pub fn digits(self, params: &Params, parties: usize) -> usize {
        let p = params.plain_bits();
        let d = digit_width(params, parties);
        let over = self.pooled_bits(parties).saturating_sub(p);
        1 + over.div_ceil(d) as usize
    }

    /// Checks that one site's fixed-point value fits this width at `parties` sites
    /// (index from 1 for the error).
    fn check(self, v: i128, parties: usize, index: usize) -> Result<()> {
        let ok = if self.is_full() {
            v.unsigned_abs() <= MAX_ABS_INTEGER.unsigned_abs()
        } else {
            // [-2^room, 2^room) with room = bits - 1 - ceil(log2 K); none if the
            // width is narrower than the set needs. (126 caps a 128-bit integer width
            // at one site, whose 2^127 is not an i128.)
            self.bits()
                .checked_sub(1 + ceil_log2(parties))
                .is_some_and(|room| {
                    let lim = 1i128 << room.min(126);
                    (-lim..lim).contains(&v)
                })
        };
        if ok {
            Ok(())
        } else {
            Err(Error::OutOfRange {
                rule: if self.is_full() {
                    INTEGER_RULE
                } else {
                    WIDTH_RULE
                },
                index,
            })
        }
    }
}

/// Bits of the lower digits at `parties` sites: `log2 t - ceil(log2 K)`, so that the
/// sum of `K` digits stays below `t` (at least 1).
fn digit_width(params: &Params, parties: usize) -> u32 {
    params
        .plain_bits()
        .saturating_sub(ceil_log2(parties))
        .max(1)
}

/// `ceil(log2 k)` for `k >= 1` (0 for 0 and 1).
fn ceil_log2(k: usize) -> u32 {
    k.max(1).next_power_of_two().trailing_zeros()
}

/// The widths of a vector of values, stored as runs of equal widths (so that its
/// size follows the number of distinct runs, not the number of values, and a wire
/// decoder never allocates per value).
///
/// A layout also names the number of sites `K` it is pooled over, which sets the
/// digits' width; a [`Site`](crate::Site) sets it to its query's set
/// ([`Layout::with_parties`]), and it is [`MAX_PARTIES`](crate::params::MAX_PARTIES)
/// until then.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Layout {
    runs: Vec<(u32, Width)>,
    len: usize,
    parties: usize,
}

impl Layout {
    /// `len` values at the full width.
    pub fn full(len: usize) -> Layout {
        Layout::from_runs_unchecked(vec![(len, Width::FULL)])
    }

    /// The same layout pooled over `parties` sites.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] outside 1 to
    /// [`MAX_PARTIES`](crate::params::MAX_PARTIES).
    pub fn with_parties(mut self, parties: usize) -> Result<Layout> {
        if !(1..=crate::params::MAX_PARTIES).contains(&parties) {
            return Err(Error::InvalidArgument(format!(
                "a layout is pooled over 1 to {} sites, not {parties}",
                crate::params::MAX_PARTIES
            )));
        }
        self.parties = parties;
        Ok(self)
    }

    /// The number of sites the layout is pooled over.
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// The layout of the given widths, one per value.
    pub fn from_widths(widths: &[Width]) -> Layout {
        let mut runs: Vec<(usize, Width)> = Vec::new();
        for &w in widths {
            match runs.last_mut() {
                Some((n, last)) if *last == w => *n += 1,
                _ => runs.push((1, w)),
            }
        }
        Layout::from_runs_unchecked(runs)
    }

    /// A layout from runs `(count, width)`; empty runs are dropped and equal
    /// neighbours merged, so equal layouts compare equal.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the runs hold more than
    /// [`MAX_VALUES`](crate::messages::MAX_VALUES) values.
    pub fn from_runs(runs: &[(u32, Width)]) -> Result<Layout> {
        let total: u64 = runs.iter().map(|&(n, _)| u64::from(n)).sum();
        if total > crate::messages::MAX_VALUES as u64 {
            return Err(Error::InvalidArgument(format!(
                "a layout holds at most {} values",
                crate::messages::MAX_VALUES
            )));
        }
        Ok(Layout::from_runs_unchecked(
            runs.iter().map(|&(n, w)| (n as usize, w)).collect(),
        ))
    }

    fn from_runs_unchecked(runs: Vec<(usize, Width)>) -> Layout {
        let mut out: Vec<(u32, Width)> = Vec::with_capacity(runs.len());
        let mut len = 0usize;
        for (n, w) in runs {
            if n == 0 {
                continue;
            }
            len += n;
            let n32 = u32::try_from(n).unwrap_or(u32::MAX);
            match out.last_mut() {
                Some((m, last)) if *last == w => *m = m.saturating_add(n32),
                _ => out.push((n32, w)),
            }
        }
        Layout {
            runs: out,
            len,
            parties: crate::params::MAX_PARTIES,
        }
    }

    /// The runs `(count, width)`, none empty, no two neighbours equal.
    pub fn runs(&self) -> &[(u32, Width)] {
        &self.runs
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the layout holds no value.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether every value has the full width.
    pub fn is_full(&self) -> bool {
        self.runs.iter().all(|(_, w)| w.is_full())
    }

    /// The width of each value, in order.
    pub fn widths(&self) -> impl Iterator<Item = Width> + '_ {
        self.runs
            .iter()
            .flat_map(|&(n, w)| std::iter::repeat_n(w, n as usize))
    }

    /// Coefficients all values occupy under `params`.
    pub fn total_digits(&self, params: &Params) -> usize {
        self.runs
            .iter()
            .map(|&(n, w)| n as usize * w.digits(params, self.parties))
            .sum()
    }

    /// Plaintexts (and ciphertexts) the values need: at least one.
    pub fn num_plaintexts(&self, params: &Params) -> usize {
        self.total_digits(params).div_ceil(params.n()).max(1)
    }

    /// Coefficients of plaintext `c` that hold values: `N` for all but the last, the
    /// rest for the last, 0 past it. Only these travel in contributions and shares.
    pub fn used_coeffs(&self, params: &Params, c: usize) -> usize {
        let n = params.n();
        self.total_digits(params)
            .saturating_sub(c.saturating_mul(n))
            .min(n)
    }

    /// Site values (reals) as fixed-point integers at each value's fractional bits.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a length other than the layout's;
    /// [`Error::OutOfRange`] as [`reals_to_fixed`], or [`WHOLE_RULE`] for a value
    /// declared an integer with a fractional part.
    pub fn to_fixed(&self, values: &[f64]) -> Result<Vec<i128>> {
        self.check_len(values.len())?;
        values
            .iter()
            .zip(self.widths())
            .enumerate()
            .map(|(i, (&x, w))| {
                if w.frac() == FRAC_BITS {
                    real_to_fixed_at(x, i + 1)
                } else if !x.is_finite() || x.fract() != 0.0 {
                    Err(Error::OutOfRange {
                        rule: WHOLE_RULE,
                        index: i + 1,
                    })
                } else if x.abs() > MAX_ABS_REAL {
                    Err(Error::OutOfRange {
                        rule: REAL_RULE,
                        index: i + 1,
                    })
                } else {
                    #[expect(clippy::cast_possible_truncation, reason = "whole, below 2^76")]
                    Ok(x as i128)
                }
            })
            .collect()
    }

    /// Pooled fixed-point integers back to reals, each at its fractional bits.
    pub fn to_reals(&self, fixed: &[i128]) -> Vec<f64> {
        fixed
            .iter()
            .zip(self.widths())
            .map(|(&v, w)| {
                if w.frac() == FRAC_BITS {
                    fixed_to_real(v)
                } else {
                    v as f64
                }
            })
            .collect()
    }

    fn check_len(&self, len: usize) -> Result<()> {
        if len == self.len {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!(
                "{len} values for a layout of {}",
                self.len
            )))
        }
    }
}

/// Encodes one site's fixed-point values at their declared widths, for a query of
/// `layout.parties()` sites (see the module documentation, "Widths" and "Digits").
///
/// # Errors
/// [`Error::InvalidArgument`] for a length other than the layout's;
/// [`Error::OutOfRange`] naming the first value (from 1) that does not fit its width.
pub fn encode_layout(params: &Params, layout: &Layout, values: &[i128]) -> Result<Vec<Plaintext>> {
    layout.check_len(values.len())?;
    let k = layout.parties();
    for (i, (&v, w)) in values.iter().zip(layout.widths()).enumerate() {
        w.check(v, k, i + 1)?;
    }
    let n = params.n();
    let d = digit_width(params, k);
    let low_mask = mask_bits(d) as i128;
    let t_mask = params.plain_mask();
    let mut stream = vec![0u128; layout.num_plaintexts(params) * n];
    let mut slots = stream.iter_mut();
    for (&v, w) in values.iter().zip(layout.widths()) {
        let m = w.digits(params, k);
        for (j, c) in slots.by_ref().take(m).enumerate() {
            let shift = d.saturating_mul(u32::try_from(j).unwrap_or(u32::MAX)).min(127);
            // Lower digits unsigned, the top one signed (arithmetic shift), mod t.
            let digit = if j + 1 < m {
                (v >> shift) & low_mask
            } else {
                v >> shift
            };
            *c = (digit as u128) & t_mask;
        }
    }
    Ok(stream
        .chunks(n)
        .map(|c| Plaintext { coeffs: c.to_vec() })
        .collect())
}

/// Decodes the pooled values of `layout` from pooled plaintexts: the lower digit
/// sums as they are, the top one centred modulo `t`, recombined, then reduced to the
/// value's width (modulo `2^bits`, sign-extended).
///
/// # Errors
/// [`Error::InvalidArgument`] when the plaintexts hold fewer coefficients than the
/// layout needs.
pub fn decode_layout(
    params: &Params,
    plaintexts: &[Plaintext],
    layout: &Layout,
) -> Result<Vec<i128>> {
    let have = plaintexts.len().saturating_mul(params.n());
    if have < layout.total_digits(params) {
        return Err(Error::InvalidArgument(format!(
            "{} plaintexts cannot hold {} values of this layout",
            plaintexts.len(),
            layout.len()
        )));
    }
    let k = layout.parties();
    let d = digit_width(params, k);
    let t = params.plain_mask().wrapping_add(1);
    let half = t >> 1;
    let mut sums = plaintexts.iter().flat_map(|pt| pt.coeffs.iter().copied());
    Ok(layout
        .widths()
        .map(|w| {
            let m = w.digits(params, k);
            let mut acc = 0u128;
            for (j, s) in sums.by_ref().take(m).enumerate() {
                let shift = d.saturating_mul(u32::try_from(j).unwrap_or(u32::MAX)).min(127);
                let s = if j + 1 == m && s >= half {
                    s.wrapping_sub(t) // the top digit sum is signed
                } else {
                    s
                };
                acc = acc.wrapping_add(s.wrapping_shl(shift));
            }
            sign_extend(acc, w.bits())
        })
        .collect())
}

fn mask_bits(bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

/// The low `bits` bits of `u` as a signed integer.
fn sign_extend(u: u128, bits: u32) -> i128 {
    let shift = 128u32.saturating_sub(bits);
    ((u << shift) as i128) >> shift
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

    fn pool(params: &Params, layout: &Layout, parties: &[Vec<i128>]) -> Vec<i128> {
        let mut pooled: Option<Vec<Plaintext>> = None;
        for v in parties {
            let pts = encode_layout(params, layout, v).unwrap();
            match pooled.as_mut() {
                None => pooled = Some(pts),
                Some(acc) => acc
                    .iter_mut()
                    .zip(&pts)
                    .for_each(|(a, b)| a.add_assign(b, params)),
            }
        }
        decode_layout(params, &pooled.unwrap(), layout).unwrap()
    }

    #[test]
    fn narrow_widths_round_trip_at_their_extremes_for_several_set_sizes() {
        for params in [Params::toy(), Params::by_name("large").unwrap()] {
            for k in [1usize, 2, 3, 7, 64, 1000] {
                for bits in [2u32, 9, 20, 33, 64, 100, 127] {
                    let l = ceil_log2(k);
                    let Some(room) = bits.checked_sub(1 + l).filter(|&r| r > 0) else {
                        continue;
                    };
                    let hi = (1i128 << room) - 1;
                    let lo = -(1i128 << room);
                    let w = Width::integer(bits).unwrap();
                    let layout = Layout::from_widths(&[w, w, w, Width::FULL, w])
                        .with_parties(k)
                        .unwrap();
                    let parties: Vec<Vec<i128>> = (0..k)
                        .map(|p| {
                            let mid = (p as i128 % 3) - 1;
                            vec![hi, lo, mid, MAX_ABS_INTEGER - p as i128, -1]
                        })
                        .collect();
                    let expected: Vec<i128> =
                        (0..5).map(|i| parties.iter().map(|p| p[i]).sum()).collect();
                    assert_eq!(pool(&params, &layout, &parties), expected, "{bits} bits, {k}");
                    // One past the bound, either side, is refused with its position.
                    for bad in [hi + 1, lo - 1] {
                        let e = encode_layout(&params, &layout, &[0, bad, 0, 0, 0]);
                        assert_eq!(
                            e.unwrap_err(),
                            Error::OutOfRange {
                                rule: WIDTH_RULE,
                                index: 2
                            }
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_narrow_value_takes_only_the_digits_its_width_needs() {
        let params = Params::by_name("default").unwrap(); // t = 2^19
        let w = Width::for_bound(1 << 31, 3).unwrap();
        assert_eq!(w.bits(), 32 + 1 + 2);
        // Digits of 19 - 2 = 17 bits: one lower digit and the top one.
        assert_eq!(w.digits(&params, 3), 2);
        assert_eq!(Width::integer(19).unwrap().digits(&params, 3), 1);
        assert_eq!(Width::integer(20).unwrap().digits(&params, 3), 2);
        assert_eq!(Width::FULL.digits(&params, 3), 7);
        assert_eq!(Width::FULL.digits(&params, 1000), 14);
        let layout = Layout::from_widths(&vec![w; 3000]).with_parties(3).unwrap();
        assert_eq!(layout.total_digits(&params), 6000);
        assert_eq!(layout.num_plaintexts(&params), 2);
        assert_eq!(layout.used_coeffs(&params, 0), 4096);
        assert_eq!(layout.used_coeffs(&params, 1), 6000 - 4096);
        assert_eq!(layout.used_coeffs(&params, 2), 0);
        // 20-bit values (fhe.rs's t = 2^20) under large: one coefficient each.
        let large = Params::by_name("large").unwrap();
        let w20 = Width::integer(20).unwrap();
        let ten = |l: Layout| l.with_parties(10).unwrap();
        assert_eq!(ten(Layout::from_widths(&vec![w20; 8192])).num_plaintexts(&large), 1);
        assert_eq!(ten(Layout::full(8192)).num_plaintexts(&large), 2);
        assert!(Layout::full(1).with_parties(0).is_err());
        assert!(Layout::full(1).with_parties(1001).is_err());
    }

    #[test]
    fn full_width_values_pool_exactly_at_the_extremes_with_fewer_digits() {
        for params in [Params::toy(), Params::by_name("default").unwrap()] {
            for k in [1usize, 2, 3, 10, 110] {
                let layout = Layout::full(4).with_parties(k).unwrap();
                let parties: Vec<Vec<i128>> = (0..k)
                    .map(|p| {
                        let p = p as i128;
                        vec![MAX_ABS_INTEGER, -MAX_ABS_INTEGER, p * 7 - 3, -(1 << 40) + p]
                    })
                    .collect();
                let expected: Vec<i128> =
                    (0..4).map(|i| parties.iter().map(|p| p[i]).sum()).collect();
                assert_eq!(pool(&params, &layout, &parties), expected, "k = {k}");
            }
        }
    }

    #[test]
    fn the_narrowest_widths_keep_their_one_value_range_and_refuse_too_small_sets() {
        let params = Params::toy();
        // 2 bits at 2 sites: each site's value in [-1, 1), the pooled in [-2, 2).
        let layout = Layout::from_widths(&[Width::integer(2).unwrap(); 2])
            .with_parties(2)
            .unwrap();
        assert_eq!(pool(&params, &layout, &[vec![-1, 0], vec![-1, 0]]), vec![-2, 0]);
        assert!(encode_layout(&params, &layout, &[1, 0]).is_err());
        // 2 bits at 3 sites leave no room at all.
        let three = layout.clone().with_parties(3).unwrap();
        assert!(encode_layout(&params, &three, &[0, 0]).is_err());
        // A 128-bit integer width at one site takes values up to 2^126.
        let wide = Layout::from_widths(&[Width::integer(128).unwrap()])
            .with_parties(1)
            .unwrap();
        let v = (1i128 << 126) - 1;
        assert_eq!(pool(&params, &wide, &[vec![v]]), vec![v]);
        assert_eq!(pool(&params, &wide, &[vec![-v - 1]]), vec![-v - 1]);
    }

    #[test]
    fn a_layout_is_stored_as_merged_runs() {
        let w = Width::integer(30).unwrap();
        let a = Layout::from_widths(&[w, w, Width::FULL, Width::FULL, w]);
        assert_eq!(a.runs(), &[(2, w), (2, Width::FULL), (1, w)]);
        let b = Layout::from_runs(&[(1, w), (1, w), (0, w), (2, Width::FULL), (1, w)]).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 5);
        assert!(Layout::full(3).is_full() && !a.is_full());
        assert!(Layout::from_runs(&[(u32::MAX, w)]).is_err());
        assert!(Width::new(1, 0).is_err() && Width::new(129, 0).is_err());
        assert!(Width::new(64, 7).is_err());
    }

    #[test]
    fn integers_must_be_whole_and_reals_keep_their_fraction() {
        let w = Width::integer(40).unwrap();
        let layout = Layout::from_widths(&[w, Width::FULL]);
        assert_eq!(layout.to_fixed(&[12.0, 0.5]).unwrap(), vec![12, 1 << 39]);
        assert_eq!(
            layout.to_fixed(&[12.5, 0.5]).unwrap_err(),
            Error::OutOfRange {
                rule: WHOLE_RULE,
                index: 1
            }
        );
        assert!(layout.to_fixed(&[f64::NAN, 0.5]).is_err());
        assert!(layout.to_fixed(&[1.0]).is_err());
        assert_eq!(layout.to_reals(&[36, 1 << 41]), vec![36.0, 2.0]);
    }
}
