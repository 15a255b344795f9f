//! Sensitivities of the released integer vectors, in fixed-point integer units.
//!
//! Neighbouring datasets differ by **adding or removing one row** (at one site). A
//! statistic released by dsMHE is a vector of integers (counts, or reals encoded as
//! `round(x * 2^g)` on a grid of `g` fractional bits, `g <= 40`), summed over rows
//! and sites; the sensitivity is the largest change one row can make to it, in the
//! L2 norm (which sets the Gaussian noise) and in the L1 norm (which the bound for a
//! sum of several sites' discrete Gaussians also uses), with the dimension `d`.
//!
//! The wiring must make each row's encoded contribution obey the bound: clip the
//! value to the bounds, then round it to the grid; since `|round(x 2^g)| <=
//! ceil(B 2^g)` when `|x| <= B`, the bounds below hold for the rounded values.

use super::{DpError, DpResult};
use crate::dp::sampler::whole_f64_to_u128;
use crate::encoding::FRAC_BITS;

/// Largest per-coordinate bound in integer units (2^62): its square fits 124 bits,
/// so vectors of up to 16 coordinates at that bound still fit 128 bits; a larger
/// total is a [`DpError::Overflow`].
pub const MAX_BOUND: u128 = 1 << 62;

/// Sensitivity of a released integer vector under adding or removing one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sensitivity {
    /// Squared L2 sensitivity (integer units squared).
    l2_sq: u128,
    /// L1 sensitivity (integer units).
    l1: u128,
    /// Dimension of the released vector.
    dim: u64,
}

/// `ceil(sqrt(v))`.
fn ceil_sqrt(v: u128) -> u128 {
    let r = v.isqrt();
    if r * r == v { r } else { r + 1 }
}

/// `ceil(|b| * 2^frac_bits)` as an integer bound.
fn grid_bound(b: f64, frac_bits: u32, what: &str) -> DpResult<u128> {
    if frac_bits > FRAC_BITS {
        return Err(DpError::InvalidParameter(format!(
            "{what}: the grid has {frac_bits} fractional bits, at most {FRAC_BITS} allowed"
        )));
    }
    if !b.is_finite() {
        return Err(DpError::InvalidParameter(format!(
            "{what}: clipping bound {b} must be finite"
        )));
    }
    let scaled = (b.abs() * 2f64.powi(i32::try_from(frac_bits).unwrap_or(0))).ceil();
    match whole_f64_to_u128(scaled) {
        Some(v) if v <= MAX_BOUND => Ok(v),
        _ => Err(DpError::InvalidParameter(format!(
            "{what}: clipping bound {b} at {frac_bits} fractional bits exceeds 2^62 integer units"
        ))),
    }
}

impl Sensitivity {
    /// A sensitivity from its parts.
    ///
    /// # Errors
    /// [`DpError::InvalidParameter`] if `dim` is zero, `l2_sq` is zero, or the norms are
    /// inconsistent (`l1^2 < l2^2`, or `l1 > ceil(sqrt(dim * l2^2))`).
    pub fn new(l2_sq: u128, l1: u128, dim: u64) -> DpResult<Sensitivity> {
        if dim == 0 || l2_sq == 0 {
            return Err(DpError::InvalidParameter(
                "a sensitivity needs a positive dimension and a positive L2 norm".to_string(),
            ));
        }
        let l1_sq = l1
            .checked_mul(l1)
            .ok_or(DpError::Overflow("sensitivity L1 norm"))?;
        let dim_l2 = u128::from(dim).checked_mul(l2_sq);
        if l1_sq < l2_sq || dim_l2.is_some_and(|m| l1 > ceil_sqrt(m)) {
            return Err(DpError::InvalidParameter(format!(
                "inconsistent sensitivity: L1 = {l1}, L2^2 = {l2_sq}, dimension {dim} \
                 (need L2 <= L1 <= sqrt(dimension) * L2)"
            )));
        }
        Ok(Sensitivity { l2_sq, l1, dim })
    }

    /// A count of rows: one row changes it by 1.
    pub fn count() -> Sensitivity {
        Sensitivity {
            l2_sq: 1,
            l1: 1,
            dim: 1,
        }
    }

    /// A table or histogram of `cells` cells where every row falls in exactly one
    /// cell: one row changes one cell by 1 (L2 = L1 = 1).
    ///
    /// # Errors
    /// [`DpError::InvalidParameter`] if `cells` is zero.
    pub fn histogram(cells: u64) -> DpResult<Sensitivity> {
        Sensitivity::new(1, 1, cells)
    }

    /// A sum of values clipped to `[lower, upper]`, encoded on a grid of
    /// `frac_bits` fractional bits: one row changes it by at most
    /// `ceil(max(|lower|, |upper|) * 2^frac_bits)` integer units.
    ///
    /// # Errors
    /// [`DpError::InvalidParameter`] if a bound is not finite, `lower > upper`, both
    /// bounds are zero, `frac_bits > 40`, or the bound exceeds 2^62 units.
    pub fn clipped_sum(lower: f64, upper: f64, frac_bits: u32) -> DpResult<Sensitivity> {
        Sensitivity::clipped_vector(&[(lower, upper)], frac_bits)
    }

    /// A vector of sums, coordinate `j` of values clipped to `bounds[j] = (lower,
    /// upper)`, on a grid of `frac_bits` fractional bits: L2^2 = sum of `B_j^2`, L1 =
    /// sum of `B_j`, with `B_j = ceil(max(|lower_j|, |upper_j|) 2^frac_bits)`.
    ///
    /// # Errors
    /// As [`Sensitivity::clipped_sum`], for any coordinate; also if `bounds` is empty
    /// or a total overflows 128 bits.
    pub fn clipped_vector(bounds: &[(f64, f64)], frac_bits: u32) -> DpResult<Sensitivity> {
        let mut l2_sq: u128 = 0;
        let mut l1: u128 = 0;
        for (j, &(lower, upper)) in bounds.iter().enumerate() {
            let what = format!("coordinate {}", j + 1);
            if lower.is_nan() || upper.is_nan() || lower > upper {
                return Err(DpError::InvalidParameter(format!(
                    "{what}: lower clipping bound {lower} must not exceed upper bound {upper}"
                )));
            }
            let b = grid_bound(lower, frac_bits, &what)?.max(grid_bound(upper, frac_bits, &what)?);
            l2_sq = b
                .checked_mul(b)
                .and_then(|b2| l2_sq.checked_add(b2))
                .ok_or(DpError::Overflow("sensitivity L2 norm"))?;
            l1 = l1
                .checked_add(b)
                .ok_or(DpError::Overflow("sensitivity L1 norm"))?;
        }
        let dim = u64::try_from(bounds.len()).map_err(|_| DpError::Overflow("dimension"))?;
        if l2_sq == 0 {
            return Err(DpError::InvalidParameter(
                "clipping bounds must not all be zero (and at least one coordinate is needed)"
                    .to_string(),
            ));
        }
        Sensitivity::new(l2_sq, l1, dim)
    }

    /// A vector of `dim` sums whose per-row contribution (after rounding to the grid)
    /// has L2 norm at most `l2_bound` integer units: L1 <= `ceil(sqrt(dim) l2_bound)`.
    ///
    /// # Errors
    /// [`DpError::InvalidParameter`] if `dim` or `l2_bound` is zero or `l2_bound >
    /// 2^62`; [`DpError::Overflow`] if `dim * l2_bound^2` exceeds 128 bits.
    pub fn l2_clipped_vector(l2_bound: u128, dim: u64) -> DpResult<Sensitivity> {
        if l2_bound == 0 || l2_bound > MAX_BOUND {
            return Err(DpError::InvalidParameter(format!(
                "L2 clipping bound {l2_bound} must be in 1..=2^62 integer units"
            )));
        }
        let l2_sq = l2_bound * l2_bound;
        let l1 = ceil_sqrt(
            u128::from(dim)
                .checked_mul(l2_sq)
                .ok_or(DpError::Overflow("sensitivity L1 norm"))?,
        );
        Sensitivity::new(l2_sq, l1.max(l2_bound), dim)
    }

    /// Two statistics released together (one row may change both): the squared L2
    /// norms, the L1 norms and the dimensions add.
    ///
    /// # Errors
    /// [`DpError::Overflow`] if a total exceeds its integer type.
    pub fn join(&self, other: &Sensitivity) -> DpResult<Sensitivity> {
        Ok(Sensitivity {
            l2_sq: self
                .l2_sq
                .checked_add(other.l2_sq)
                .ok_or(DpError::Overflow("sensitivity L2 norm"))?,
            l1: self
                .l1
                .checked_add(other.l1)
                .ok_or(DpError::Overflow("sensitivity L1 norm"))?,
            dim: self
                .dim
                .checked_add(other.dim)
                .ok_or(DpError::Overflow("dimension"))?,
        })
    }

    /// Squared L2 sensitivity, integer units squared.
    pub fn l2_sq(&self) -> u128 {
        self.l2_sq
    }

    /// L2 sensitivity as an `f64`.
    pub fn l2(&self) -> f64 {
        (self.l2_sq as f64).sqrt()
    }

    /// L1 sensitivity, integer units.
    pub fn l1(&self) -> u128 {
        self.l1
    }

    /// Dimension of the released vector.
    pub fn dim(&self) -> u64 {
        self.dim
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn counts_and_histograms_have_unit_sensitivity() {
        assert_eq!(Sensitivity::count().l2_sq(), 1);
        let h = Sensitivity::histogram(12).unwrap();
        assert_eq!((h.l2_sq(), h.l1(), h.dim()), (1, 1, 12));
        assert!(Sensitivity::histogram(0).is_err());
    }

    #[test]
    fn clipped_sums_use_the_larger_bound_on_the_grid() {
        let s = Sensitivity::clipped_sum(-2.5, 15.0, 4).unwrap();
        assert_eq!((s.l2_sq(), s.l1(), s.dim()), (240 * 240, 240, 1));
        // 0.1 * 2^3 = 0.8 rounds up to 1 unit.
        assert_eq!(Sensitivity::clipped_sum(0.0, 0.1, 3).unwrap().l1(), 1);
        let v = Sensitivity::clipped_vector(&[(0.0, 3.0), (-4.0, 1.0)], 0).unwrap();
        assert_eq!((v.l2_sq(), v.l1(), v.dim()), (25, 7, 2));
        assert!(Sensitivity::clipped_sum(1.0, 0.0, 0).is_err());
        assert!(Sensitivity::clipped_sum(f64::NAN, 1.0, 0).is_err());
        assert!(Sensitivity::clipped_sum(0.0, 1.0, 41).is_err());
        assert!(Sensitivity::clipped_sum(0.0, 0.0, 10).is_err());
        assert!(Sensitivity::clipped_sum(0.0, 1e30, 40).is_err());
        assert!(Sensitivity::clipped_vector(&[], 0).is_err());
    }

    #[test]
    fn l2_clipped_vectors_bound_their_l1_norm() {
        let s = Sensitivity::l2_clipped_vector(10, 4).unwrap();
        assert_eq!((s.l2_sq(), s.l1(), s.dim()), (100, 20, 4));
        let t = Sensitivity::l2_clipped_vector(10, 3).unwrap();
        assert_eq!(t.l1(), 18); // ceil(sqrt(300)) = 18
        assert!(Sensitivity::l2_clipped_vector(0, 3).is_err());
        assert!(Sensitivity::l2_clipped_vector(1, 0).is_err());
    }

    #[test]
    fn joined_releases_add_their_norms() {
        let mean = Sensitivity::clipped_sum(0.0, 15.0, 0)
            .unwrap()
            .join(&Sensitivity::count())
            .unwrap();
        assert_eq!((mean.l2_sq(), mean.l1(), mean.dim()), (226, 16, 2));
        assert!(Sensitivity::new(4, 1, 1).is_err());
        assert!(Sensitivity::new(1, 3, 2).is_err());
    }
}
