//! Multiparty homomorphic encryption over RLWE for pooled statistics.
//!
//! Parties (the sites of a federation) generate a collective public key from shares,
//! encrypt their aggregates under it, an untrusted aggregator adds the ciphertexts, and
//! the parties decrypt only the pooled sum together, by a key switch to the zero key
//! with noise flooding, all N of them or any t of N. The scheme is BFV-style with
//! coefficient encoding over `Z_Q[X]/(X^N+1)`, `Q` a product of NTT-friendly primes.
//!
//! - [`params`]: parameter sets (128-bit security per the HE standard);
//! - [`ring`], [`sampling`], [`encoding`], [`keys`], [`ciphertext`]: the scheme;
//! - [`protocols`]: collective key generation, key switch (decryption), public-key
//!   switch, threshold sharing, zero-sum masks;
//! - [`noise`]: noise bounds, flooding width and correctness margin;
//! - [`identity`]: signing and pairwise keys of a party; [`key_file`]: a site's
//!   long-term signing key on disk; [`wire`]: the wire format;
//! - [`site`] and [`analyst`]: the two roles of a federation, with the security policy
//!   a site enforces.
//!
//! # Range and precision
//! See [`encoding`]: integers up to 2^116 in magnitude per party, reals up to 2^76 with
//! 40 fractional bits; pooled sums are exact.

#![forbid(unsafe_code)]

pub mod analyst;
mod arith;
pub mod ciphertext;
/// Differential privacy inside the encryption: exact discrete Gaussian shares, zCDP
/// accounting and per-analyst budgets (foundation; not yet wired into the protocol).
pub mod dp;
pub mod encoding;
pub mod error;
pub mod identity;
pub mod key_file;
pub mod keys;
pub mod messages;
pub mod noise;
pub mod params;
pub mod protocols;
pub mod ring;
pub mod sampling;
pub mod site;
pub mod wire;

pub use error::{Error, Result};
pub use params::Params;
