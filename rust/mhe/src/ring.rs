//! RNS polynomials of Z_Q[X]/(X^N + 1) and their arithmetic.
//!
//! A polynomial keeps one row of N residues per RNS limb, limb-major. It is either in
//! coefficient form or in the evaluation (NTT) form that makes products pointwise;
//! the form is tracked so that a product is never taken in the wrong one. Work runs
//! across limbs with rayon.

use rayon::prelude::*;
use zeroize::Zeroize;

use crate::arith::{add_mod, from_i64, neg_mod, sub_mod};
use crate::params::Params;

/// Which representation a [`Poly`] is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Coefficients of X^0 .. X^(N-1), one row per limb.
    Coeff,
    /// Negacyclic NTT of each row (evaluations at the roots of X^N + 1).
    Ntt,
}

/// A polynomial of Z_Q[X]/(X^N + 1) in RNS form.
#[derive(Clone, PartialEq, Eq)]
pub struct Poly {
    coeffs: Vec<u64>,
    n: usize,
    form: Form,
}

impl std::fmt::Debug for Poly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poly")
            .field("n", &self.n)
            .field("limbs", &self.num_limbs())
            .field("form", &self.form)
            .finish_non_exhaustive()
    }
}

impl Zeroize for Poly {
    fn zeroize(&mut self) {
        self.coeffs.zeroize();
    }
}

impl Poly {
    /// The zero polynomial for `params`, in `form`.
    pub fn zero(params: &Params, form: Form) -> Poly {
        Poly {
            coeffs: vec![0; params.n() * params.num_limbs()],
            n: params.n(),
            form,
        }
    }

    /// A polynomial from residues, limb-major; `None` if the length or a residue is off.
    pub(crate) fn from_residues(params: &Params, coeffs: Vec<u64>, form: Form) -> Option<Poly> {
        if coeffs.len() != params.n() * params.num_limbs() {
            return None;
        }
        let ok = coeffs
            .chunks(params.n())
            .zip(params.moduli())
            .all(|(row, q)| row.iter().all(|&c| c < q));
        ok.then_some(Poly {
            coeffs,
            n: params.n(),
            form,
        })
    }

    /// A coefficient-form polynomial whose coefficients are the small signed `values`
    /// (missing ones are zero).
    pub fn from_signed(params: &Params, values: &[i64]) -> Poly {
        let mut p = Poly::zero(params, Form::Coeff);
        p.coeffs
            .par_chunks_mut(params.n())
            .zip(params.limbs.par_iter())
            .for_each(|(row, limb)| {
                row.iter_mut()
                    .zip(values)
                    .for_each(|(c, &v)| *c = from_i64(v, limb.q));
            });
        p
    }

    /// A coefficient-form polynomial from wide signed coefficients (flooding noise).
    pub fn from_signed_wide(params: &Params, values: &[i128]) -> Poly {
        let mut p = Poly::zero(params, Form::Coeff);
        p.coeffs
            .par_chunks_mut(params.n())
            .zip(params.limbs.par_iter())
            .for_each(|(row, limb)| {
                row.iter_mut()
                    .zip(values)
                    .for_each(|(c, &v)| *c = crate::arith::from_i128(v, limb.q));
            });
        p
    }

    /// The form this polynomial is in.
    pub fn form(&self) -> Form {
        self.form
    }

    /// Number of RNS limbs.
    pub fn num_limbs(&self) -> usize {
        self.coeffs.len() / self.n.max(1)
    }

    /// The residues, limb-major.
    pub fn residues(&self) -> &[u64] {
        &self.coeffs
    }

    /// Rows of residues, one per limb.
    pub fn rows(&self) -> std::slice::Chunks<'_, u64> {
        self.coeffs.chunks(self.n.max(1))
    }

    pub(crate) fn rows_mut(&mut self) -> std::slice::ChunksMut<'_, u64> {
        let n = self.n.max(1);
        self.coeffs.chunks_mut(n)
    }

    /// `self += other` (same form).
    pub fn add_assign(&mut self, other: &Poly, params: &Params) {
        debug_assert_eq!(self.form, other.form);
        self.zip_rows(other, params, add_mod);
    }

    /// `self -= other` (same form).
    pub fn sub_assign(&mut self, other: &Poly, params: &Params) {
        debug_assert_eq!(self.form, other.form);
        self.zip_rows(other, params, sub_mod);
    }

    /// `self = -self`.
    pub fn neg_assign(&mut self, params: &Params) {
        self.coeffs
            .par_chunks_mut(params.n())
            .zip(params.limbs.par_iter())
            .for_each(|(row, limb)| row.iter_mut().for_each(|c| *c = neg_mod(*c, limb.q)));
    }

    /// `self *= other` pointwise; both must be in NTT form.
    pub fn mul_assign_ntt(&mut self, other: &Poly, params: &Params) {
        debug_assert!(self.form == Form::Ntt && other.form == Form::Ntt);
        let n = params.n();
        self.coeffs
            .par_chunks_mut(n)
            .zip(other.coeffs.par_chunks(n))
            .zip(params.limbs.par_iter())
            .for_each(|((a, b), limb)| {
                let mut prod = vec![0u64; a.len()];
                limb.ntt.mul_accumulate(&mut prod, a, b);
                a.copy_from_slice(&prod);
            });
    }

    /// `self *= scalar` for a small unsigned scalar (any form).
    pub fn mul_scalar_assign(&mut self, scalar: u64, params: &Params) {
        self.coeffs
            .par_chunks_mut(params.n())
            .zip(params.limbs.par_iter())
            .for_each(|(row, limb)| {
                let s = scalar % limb.q;
                row.iter_mut()
                    .for_each(|c| *c = crate::arith::mul_mod(*c, s, limb.q));
            });
    }

    /// Multiplies limb `i` by `scalars[i]` (a per-limb constant such as a Lagrange
    /// coefficient given in RNS form).
    pub(crate) fn mul_rns_scalar_assign(&mut self, scalars: &[u64], params: &Params) {
        self.coeffs
            .par_chunks_mut(params.n())
            .zip(params.limbs.par_iter())
            .zip(scalars.par_iter())
            .for_each(|((row, limb), &s)| {
                row.iter_mut()
                    .for_each(|c| *c = crate::arith::mul_mod(*c, s, limb.q));
            });
    }

    /// To NTT form: the evaluations of each row at the roots of X^N + 1 (no-op when
    /// already there).
    pub fn to_ntt(&mut self, params: &Params) {
        if self.form == Form::Ntt {
            return;
        }
        self.coeffs
            .par_chunks_mut(params.n())
            .zip(params.limbs.par_iter())
            .for_each(|(row, limb)| limb.ntt.fwd(row));
        self.form = Form::Ntt;
    }

    /// To coefficient form (no-op when already there): the inverse transform with its
    /// 1/N factor, so `to_ntt` then `to_coeff` is the identity.
    pub fn to_coeff(&mut self, params: &Params) {
        if self.form == Form::Coeff {
            return;
        }
        self.coeffs
            .par_chunks_mut(params.n())
            .zip(params.limbs.par_iter())
            .for_each(|(row, limb)| {
                limb.ntt.inv(row);
                limb.ntt.normalize(row);
            });
        self.form = Form::Coeff;
    }

    fn zip_rows(&mut self, other: &Poly, params: &Params, op: fn(u64, u64, u64) -> u64) {
        let n = params.n();
        self.coeffs
            .par_chunks_mut(n)
            .zip(other.coeffs.par_chunks(n))
            .zip(params.limbs.par_iter())
            .for_each(|((a, b), limb)| {
                a.iter_mut()
                    .zip(b)
                    .for_each(|(x, &y)| *x = op(*x, y, limb.q));
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arith::{centred, mul_mod};

    fn schoolbook(a: &[i64], b: &[i64], n: usize) -> Vec<i64> {
        let mut out = vec![0i64; n];
        for i in 0..n {
            for j in 0..n {
                let p = a[i] * b[j];
                if i + j < n {
                    out[i + j] += p;
                } else {
                    out[i + j - n] -= p;
                }
            }
        }
        out
    }

    #[test]
    fn ntt_product_is_the_negacyclic_product() {
        let params = Params::toy();
        let n = params.n();
        let a: Vec<i64> = (0..n as i64).map(|i| (i * 7 % 11) - 5).collect();
        let b: Vec<i64> = (0..n as i64).map(|i| (i * 3 % 5) - 2).collect();
        let expected = schoolbook(&a, &b, n);
        let mut pa = Poly::from_signed(&params, &a);
        let mut pb = Poly::from_signed(&params, &b);
        pa.to_ntt(&params);
        pb.to_ntt(&params);
        pa.mul_assign_ntt(&pb, &params);
        pa.to_coeff(&params);
        for (row, q) in pa.rows().zip(params.moduli()) {
            for (c, e) in row.iter().zip(&expected) {
                assert_eq!(centred(mul_mod(*c, 1, q), q), *e);
            }
        }
    }

    #[test]
    fn ntt_round_trips() {
        let params = Params::toy();
        let a: Vec<i64> = (0..params.n() as i64).map(|i| i - 30).collect();
        let p = Poly::from_signed(&params, &a);
        let mut r = p.clone();
        r.to_ntt(&params);
        r.to_coeff(&params);
        assert_eq!(p, r);
    }
}
