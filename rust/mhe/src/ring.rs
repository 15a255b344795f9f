//! RNS polynomials of Z_Q[X]/(X^N + 1) and their arithmetic.
//!
//! A polynomial keeps one row of N residues per RNS limb, limb-major. It is either in
//! coefficient form or in the evaluation (NTT) form that makes products pointwise;
//! the form is tracked so that a product is never taken in the wrong one. Work runs
//! across limbs with rayon when there is enough of it (see [`Cost`]).

use rayon::prelude::*;
use zeroize::Zeroize;

use crate::arith::{add_mod, ct_mul_shoup, ct_reduce_once, neg_mod, shoup_constant, sub_mod};
use crate::params::{Limb, Params};

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
        // One volatile pass over the residues. A `Vec`'s own `zeroize` makes a second
        // pass over its whole capacity; a polynomial's vector never has spare capacity
        // (it is built at its final length), so one pass clears everything.
        self.coeffs.as_mut_slice().zeroize();
    }
}

/// A polynomial that holds secret data: a key share, encryption randomness, a product
/// such as `c1*s_i` or `a*s_i` before its noise is added, a Gaussian error, a flooding
/// term, a scaled plaintext `Δm`. Its residues are zeroized when it is dropped; it
/// dereferences to [`Poly`] for the arithmetic. No `Clone`.
pub struct SecretPoly(Poly);

impl SecretPoly {
    /// Takes ownership of `p`, which will be zeroized on drop.
    pub fn new(p: Poly) -> SecretPoly {
        SecretPoly(p)
    }

    /// The zero polynomial in `form`, as a secret to accumulate into.
    pub fn zero(params: &Params, form: Form) -> SecretPoly {
        SecretPoly(Poly::zero(params, form))
    }

    /// Gives up the protection: returns the polynomial (to be published, e.g. a share
    /// once its noise is added) and leaves an empty one to be dropped.
    pub fn into_public(mut self) -> Poly {
        let empty = Poly {
            coeffs: Vec::new(),
            n: self.0.n,
            form: self.0.form,
        };
        std::mem::replace(&mut self.0, empty)
    }
}

impl std::ops::Deref for SecretPoly {
    type Target = Poly;
    fn deref(&self) -> &Poly {
        &self.0
    }
}

impl std::ops::DerefMut for SecretPoly {
    fn deref_mut(&mut self) -> &mut Poly {
        &mut self.0
    }
}

impl Drop for SecretPoly {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl zeroize::ZeroizeOnDrop for SecretPoly {}

impl std::fmt::Debug for SecretPoly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretPoly").finish_non_exhaustive()
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
        Poly::from_integers(params, values, |v, limb| limb.reducer.reduce_i64(v))
    }

    /// A coefficient-form polynomial from wide signed coefficients (flooding noise).
    pub fn from_signed_wide(params: &Params, values: &[i128]) -> Poly {
        Poly::from_integers(params, values, |v, limb| limb.reducer.reduce_i128(v))
    }

    /// A coefficient-form polynomial whose row of limb `q` holds `reduce(v, limb)` for
    /// each of `values` (missing ones are zero). The reductions are constant time
    /// (the values are often secret: see [`crate::arith`]).
    fn from_integers<T, F>(params: &Params, values: &[T], reduce: F) -> Poly
    where
        T: Copy + Sync,
        F: Fn(T, &Limb) -> u64 + Sync + Send,
    {
        let mut p = Poly::zero(params, Form::Coeff);
        p.map_rows(params, Cost::Division, |row, limb| {
            row.iter_mut()
                .zip(values)
                .for_each(|(c, &v)| *c = reduce(v, limb));
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

    /// `self += other` (same form).
    pub fn add_assign(&mut self, other: &Poly, params: &Params) {
        debug_assert_eq!(self.form, other.form);
        self.zip_residues(other, params, add_mod);
    }

    /// `self -= other` (same form).
    pub fn sub_assign(&mut self, other: &Poly, params: &Params) {
        debug_assert_eq!(self.form, other.form);
        self.zip_residues(other, params, sub_mod);
    }

    /// `self = -self`.
    pub fn neg_assign(&mut self, params: &Params) {
        self.map_rows(params, Cost::Addition, |row, limb| {
            row.iter_mut().for_each(|c| *c = neg_mod(*c, limb.q));
        });
    }

    /// `self *= other` pointwise; both must be in NTT form.
    pub fn mul_assign_ntt(&mut self, other: &Poly, params: &Params) {
        debug_assert!(self.form == Form::Ntt && other.form == Form::Ntt);
        self.zip_rows(other, params, Cost::Division, |a, b, limb| {
            // The product of a secret operand is secret: the scratch row is zeroized
            // (one volatile pass; the vector has no spare capacity).
            let mut prod = vec![0u64; a.len()];
            limb.ntt.mul_accumulate(&mut prod, a, b);
            a.copy_from_slice(&prod);
            prod.as_mut_slice().zeroize();
        });
    }

    /// `self *= other` pointwise, then back to coefficient form; both must be in NTT
    /// form. The same result as [`Poly::mul_assign_ntt`] then [`Poly::to_coeff`], in
    /// two passes per row instead of five: the product is taken in place with the
    /// inverse transform's `1/N` folded in, so there is no scratch row (nothing secret
    /// left behind to zeroize) and no separate normalisation.
    pub fn mul_ntt_to_coeff(&mut self, other: &Poly, params: &Params) {
        debug_assert!(self.form == Form::Ntt && other.form == Form::Ntt);
        self.zip_rows(other, params, Cost::Transform, |a, b, limb| {
            limb.ntt.mul_assign_normalize(a, b);
            limb.ntt.inv(a);
        });
        self.form = Form::Coeff;
    }

    /// `self += values` for small signed integers (an error, coefficient form; missing
    /// ones are zero), reduced and added in one constant-time pass: no polynomial of
    /// the reduced values is built (and zeroized).
    pub(crate) fn add_signed(&mut self, params: &Params, values: &[i64]) {
        self.add_integers(params, values, |v, limb| limb.reducer.reduce_i64(v));
    }

    /// `self += values` for wide signed integers (flooding noise), as
    /// [`Poly::add_signed`].
    pub(crate) fn add_signed_wide(&mut self, params: &Params, values: &[i128]) {
        self.add_integers(params, values, |v, limb| limb.reducer.reduce_i128(v));
    }

    /// `row[j] = row[j] + reduce(values[j], limb) mod q` for every limb; constant time.
    fn add_integers<T, F>(&mut self, params: &Params, values: &[T], reduce: F)
    where
        T: Copy + Sync,
        F: Fn(T, &Limb) -> u64 + Sync + Send,
    {
        self.map_rows(params, Cost::Division, |row, limb| {
            row.iter_mut()
                .zip(values)
                .for_each(|(c, &v)| *c = ct_reduce_once(*c + reduce(v, limb), limb.q));
        });
    }

    /// `self *= scalar` for a small unsigned scalar (any form).
    pub fn mul_scalar_assign(&mut self, scalar: u64, params: &Params) {
        self.map_rows(params, Cost::Division, |row, limb| {
            scale_row(row, scalar % limb.q, limb.q);
        });
    }

    /// Multiplies limb `i` by `scalars[i]` (a per-limb constant such as a Lagrange
    /// coefficient given in RNS form).
    pub(crate) fn mul_rns_scalar_assign(&mut self, scalars: &[u64], params: &Params) {
        let n = params.n();
        for_each_limb(
            self.coeffs.chunks_mut(n).zip(&params.limbs).zip(scalars),
            n,
            Cost::Division,
            |((row, limb), &s)| scale_row(row, s, limb.q),
        );
    }

    /// To NTT form: the evaluations of each row at the roots of X^N + 1 (no-op when
    /// already there).
    #[cfg_attr(
        not(feature = "hazmat"),
        expect(
            clippy::wrong_self_convention,
            reason = "an in-place change of form; clippy checks the name only where the type is private"
        )
    )]
    pub fn to_ntt(&mut self, params: &Params) {
        if self.form == Form::Ntt {
            return;
        }
        self.map_rows(params, Cost::Transform, |row, limb| limb.ntt.fwd(row));
        self.form = Form::Ntt;
    }

    /// To coefficient form (no-op when already there): the inverse transform with its
    /// 1/N factor, so `to_ntt` then `to_coeff` is the identity.
    #[cfg_attr(
        not(feature = "hazmat"),
        expect(
            clippy::wrong_self_convention,
            reason = "an in-place change of form; clippy checks the name only where the type is private"
        )
    )]
    pub fn to_coeff(&mut self, params: &Params) {
        if self.form == Form::Coeff {
            return;
        }
        self.map_rows(params, Cost::Transform, |row, limb| {
            limb.ntt.inv(row);
            limb.ntt.normalize(row);
        });
        self.form = Form::Coeff;
    }

    /// Runs `f` on each row with its limb (see [`for_each_limb`] for when in parallel).
    pub(crate) fn map_rows<F>(&mut self, params: &Params, cost: Cost, f: F)
    where
        F: Fn(&mut [u64], &Limb) + Sync + Send,
    {
        let n = params.n();
        let rows = self.coeffs.chunks_mut(n).zip(&params.limbs);
        for_each_limb(rows, n, cost, |(row, limb)| f(row, limb));
    }

    /// Runs `f` on each row with the matching row of `other` and its limb.
    fn zip_rows<F>(&mut self, other: &Poly, params: &Params, cost: Cost, f: F)
    where
        F: Fn(&mut [u64], &[u64], &Limb) + Sync + Send,
    {
        let n = params.n();
        let rows = self.coeffs.chunks_mut(n).zip(other.coeffs.chunks(n));
        for_each_limb(rows.zip(&params.limbs), n, cost, |((a, b), limb)| {
            f(a, b, limb)
        });
    }

    /// `self[j] = op(self[j], other[j], q)` for every residue.
    fn zip_residues<F>(&mut self, other: &Poly, params: &Params, op: F)
    where
        F: Fn(u64, u64, u64) -> u64 + Sync + Send,
    {
        self.zip_rows(other, params, Cost::Addition, |a, b, limb| {
            a.iter_mut()
                .zip(b)
                .for_each(|(x, &y)| *x = op(*x, y, limb.q));
        });
    }
}

/// `row[j] = row[j] * s mod q` for a public `s < q`, in constant time in the row (a
/// Shamir evaluation or a key share times a Lagrange coefficient is secret).
fn scale_row(row: &mut [u64], s: u64, q: u64) {
    let s_shoup = shoup_constant(s, q);
    row.iter_mut()
        .for_each(|c| *c = ct_mul_shoup(*c, s, s_shoup, q));
}

/// What one residue of a loop costs, roughly, in modular negations (about half a
/// nanosecond each): [`worth_parallel`] weighs a loop by it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cost {
    /// A modular addition, subtraction or negation: memory bound, 0.5 to 0.9 ns.
    Addition,
    /// A modular product or reduction per residue (a Shoup or Barrett product, the
    /// reduction of a signed integer, a pointwise NTT product, CRT rounding).
    Division,
    /// A negacyclic NTT of the row (log2(N) butterflies per residue): about 8 ns.
    Transform,
}

impl Cost {
    fn weight(self) -> usize {
        match self {
            Cost::Addition => 1,
            Cost::Division => 8,
            Cost::Transform => 16,
        }
    }
}

/// Work (residues times [`Cost`] weight, some 130 µs of sequential time) from which a
/// loop is handed to rayon's pool.
///
/// Waking the pool's threads costs tens of microseconds, more when the cores are
/// shared, so only long loops gain. Measured on two shared cores (BENCHMARKS.md):
/// additions and negations never gained, even for the 131,072 residues of `xlarge`;
/// products and reductions gained under `large` (0.8 to 0.9 x the sequential time)
/// and `xlarge` (0.65 to 0.8 x), not under `default`; transforms gained under `large`
/// and `xlarge` (0.6 to 0.7 x), and under `default` only back to back (0.75 x):
/// between sequential steps, as in encryption, they made it 1.3 x slower. With the
/// weights above, this threshold puts exactly the loops that gained on the pool.
const PARALLEL_MIN_WORK: usize = 1 << 18;

/// Whether a loop over `residues` residues of this cost is worth rayon's pool.
pub(crate) fn worth_parallel(residues: usize, cost: Cost) -> bool {
    residues.saturating_mul(cost.weight()) >= PARALLEL_MIN_WORK
}

/// Runs `f` on every item of `rows`, one per RNS limb of `n` residues each: on rayon's
/// pool when there are several limbs and the work is [`worth_parallel`], on the
/// calling thread otherwise.
pub(crate) fn for_each_limb<I, F>(rows: I, n: usize, cost: Cost, f: F)
where
    I: ExactSizeIterator,
    I::Item: Send,
    F: Fn(I::Item) + Sync + Send,
{
    let limbs = rows.len();
    if limbs > 1 && worth_parallel(limbs.saturating_mul(n), cost) {
        rows.collect::<Vec<_>>().into_par_iter().for_each(f);
    } else {
        rows.for_each(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arith::centred;

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
                assert_eq!(centred(*c % q, q), *e);
            }
        }
    }

    #[test]
    fn fused_product_and_additions_match_the_step_by_step_ones() {
        for params in [
            Params::toy(),
            Params::by_name("default").unwrap(),
            Params::by_name("large").unwrap(),
        ] {
            let n = params.n() as i64;
            let a: Vec<i64> = (0..n).map(|i| (i * 7919 % 2003) - 1001).collect();
            let b: Vec<i64> = (0..n).map(|i| (i * 31 % 3) - 1).collect();
            let e: Vec<i64> = (0..n).map(|i| (i * 13 % 39) - 19).collect();
            let w: Vec<i128> = (0..i128::from(n))
                .map(|i| (i * 0x1234_5678_9abc_def1) % (1 << 80) - (1 << 79))
                .collect();
            let mut pa = Poly::from_signed(&params, &a);
            let mut pb = Poly::from_signed(&params, &b);
            pa.to_ntt(&params);
            pb.to_ntt(&params);
            let mut steps = pa.clone();
            steps.mul_assign_ntt(&pb, &params);
            steps.to_coeff(&params);
            steps.add_assign(&Poly::from_signed(&params, &e), &params);
            steps.add_assign(&Poly::from_signed_wide(&params, &w), &params);
            let mut fused = pa;
            fused.mul_ntt_to_coeff(&pb, &params);
            assert_eq!(fused.form(), Form::Coeff);
            fused.add_signed(&params, &e);
            fused.add_signed_wide(&params, &w);
            assert_eq!(fused, steps);
        }
    }

    #[test]
    fn zeroizing_clears_every_residue_and_a_published_secret_leaves_nothing_behind() {
        let params = Params::toy();
        let values: Vec<i64> = (0..params.n() as i64).map(|i| i - 7).collect();
        let mut p = Poly::from_signed(&params, &values);
        assert!(p.residues().iter().any(|&c| c != 0));
        let len = p.residues().len();
        p.zeroize();
        assert_eq!(p.residues().len(), len);
        assert!(p.residues().iter().all(|&c| c == 0));
        // `into_public` moves the residues out: the wrapper keeps an empty polynomial.
        let mut secret = SecretPoly::new(Poly::from_signed(&params, &values));
        secret.to_ntt(&params);
        let public = secret.into_public();
        assert_eq!(public.residues().len(), len);
        assert_eq!(public.form(), Form::Ntt);
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

    #[test]
    fn per_limb_loops_visit_every_row_on_this_thread_and_on_the_pool() {
        for n in [4, PARALLEL_MIN_WORK] {
            assert_eq!(worth_parallel(3 * n, Cost::Addition), n > 4);
            let mut rows = vec![0u64; 3 * n];
            let items = rows.chunks_mut(n).zip(1u32..4);
            for_each_limb(items, n, Cost::Addition, |(r, k)| r.fill(u64::from(k)));
            let mut filled = rows.chunks(n).zip(1u64..);
            assert!(filled.all(|(r, k)| r.iter().all(|&c| c == k)));
        }
    }
}
