//! Differential privacy inside the encryption: the foundation.
//!
//! Each site adds an independent share of integer noise to its fixed-point values
//! before it encrypts them; the decrypted pooled value then carries the sum of the
//! shares, which no single party knows. This module holds the pieces that do not
//! depend on the protocol:
//!
//! - [`sampler`](crate::dp::sampler): an exact sampler of the discrete Gaussian
//!   `N_Z(0, sigma^2)` for a rational `sigma^2` up to 2^96 (sigma up to 2^48 integer
//!   units), drawing from a caller-supplied CSPRNG, with integer arithmetic only;
//! - [`sensitivity`](crate::dp::sensitivity): L1/L2 sensitivities of counts,
//!   histograms, clipped sums and clipped vectors, in the integer units of the
//!   fixed-point encoding;
//! - [`accounting`](crate::dp::accounting): zero-concentrated DP (zCDP) of one site's
//!   share and of the sum of the honest sites' shares, composition, conversion to
//!   `(epsilon, delta)` and back, and the calibration of each site's share;
//! - [`budget`](crate::dp::budget): a per-analyst zCDP budget that refuses a spend
//!   beyond its total and serialises to one line of text.
//!
//! The design, the derivations and the wiring plan are in `rust/mhe/DP.md`.
//!
//! # Not constant-time
//! The sampler is a rejection sampler: the number of random words it consumes and
//! its running time depend on the value drawn (roughly on `|x| / sigma`). See
//! [`sampler`](crate::dp::sampler) for what that timing reveals and how the wiring hides it.

pub mod accounting;
pub mod budget;
pub mod sampler;
pub mod sensitivity;

pub use accounting::{Analysis, Calibration, Rho};
pub use budget::ZcdpBudget;
pub use sampler::DiscreteGaussian;
pub use sensitivity::Sensitivity;

use thiserror::Error;

/// Everything that can go wrong in the differential-privacy layer.
#[non_exhaustive]
#[derive(Debug, Error, Clone, PartialEq)]
pub enum DpError {
    /// A parameter outside its documented domain (the message names the rule).
    #[error("invalid differential-privacy parameter: {0}")]
    InvalidParameter(String),
    /// An intermediate value that does not fit the integer arithmetic.
    #[error("arithmetic overflow in {0}")]
    Overflow(&'static str),
    /// A spend that would take an analyst beyond the total budget.
    #[error(
        "privacy budget exceeded for analyst '{analyst}': the query needs rho = {requested}, \
         {remaining} of {total} is left"
    )]
    BudgetExceeded {
        /// The analyst's identity.
        analyst: String,
        /// The zCDP cost of the refused query.
        requested: f64,
        /// What is left of the budget.
        remaining: f64,
        /// The total budget.
        total: f64,
    },
    /// A budget line that does not parse.
    #[error("malformed budget line: {0}")]
    Parse(String),
}

/// Shorthand for results of this module.
pub type DpResult<T> = std::result::Result<T, DpError>;
