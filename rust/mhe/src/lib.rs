//! Multiparty homomorphic encryption over RLWE for pooled statistics.
//!
//! Parties (the sites of a federation) generate a collective public key from shares,
//! encrypt their aggregates under it, an untrusted aggregator adds the ciphertexts, and
//! the parties decrypt only the pooled sum together, by a key switch to the zero key
//! with noise flooding, all N of them or any t of N. The scheme is BFV-style with
//! coefficient encoding over `Z_Q[X]/(X^N+1)`, `Q` a product of NTT-friendly primes.
//!
//! # The role API
//!
//! What a deployment uses, and all that this crate exports by default:
//!
//! - [`Site`]: a site of a federation, with the security policy it enforces
//!   ([`SitePolicy`] holds its admin's settings, [`QuerySpec`] describes a query), and
//!   [`AuditRecord`], a line of its audit file (read back with [`read_audit_file`]),
//!   which is also its durable ledger of releases;
//! - [`Refusal`] and [`RefusalKind`]: why a site refused, as data;
//! - [`analyst`]: the analyst's side (rosters, pooling, combining shares);
//! - [`key_file`]: a site's long-term signing key on disk;
//! - [`Params`] (with [`MAX_PARTIES`] and [`FRAC_BITS`]), [`Error`], [`Result`], and
//!   [`os_seed`] for random ids.
//!
//! # Features
//!
//! - `hazmat`: makes the low-level modules public (`params`, `ring`, `sampling`,
//!   `encoding`, `keys`, `ciphertext`, `protocols`, `noise`, `identity`, `messages`,
//!   `wire`, `site`, `policy`, `audit`, and `dp`: differential privacy's exact discrete
//!   Gaussian shares, zCDP accounting and budgets, not yet wired into the protocol),
//!   for benchmarks and experiments. **Warning:** these let a caller
//!   decrypt the same ciphertext twice under different ledgers, choose a `c1` to
//!   decrypt, reuse a mask, or flood too little; none of the policy of [`Site`]
//!   applies. Never enable it in a deployment.
//! - `test-utils`: test constructors that are insecure by design
//!   (`Params::toy`, `SecretRng::from_seed_insecure`, `SecretKey::ideal_sum`) and the
//!   state accessors the tests read (`SecretRng::current_key`).
//!
//! # Range and precision
//! Integers up to 2^116 in magnitude per party, reals up to 2^76 with 40 fractional
//! bits; pooled sums are exact.
// Without `hazmat`, part of the low-level API serves only the tests and benches.
#![cfg_attr(not(feature = "hazmat"), allow(dead_code, unused_imports))]

pub mod analyst;
mod arith;
pub mod key_file;

/// Declares low-level modules: public with the `hazmat` feature, private otherwise.
macro_rules! hazmat_modules {
    ($($name:ident),* $(,)?) => {
        $(
            #[cfg(feature = "hazmat")]
            pub mod $name;
            #[cfg(not(feature = "hazmat"))]
            mod $name;
        )*
    };
}

hazmat_modules!(
    audit, ciphertext, dp, encoding, error, identity, keys, messages, noise, params, policy,
    protocols, ring, sampling, site, wire,
);

pub use audit::{AuditRecord, read as read_audit_file};
pub use encoding::FRAC_BITS;
pub use error::{Error, Refusal, RefusalKind, Result};
pub use messages::DpFacts;
pub use params::{MAX_PARTIES, Params};
pub use policy::SitePolicy;
pub use sampling::os_seed;
pub use site::{
    DpQuery, QuerySpec, Site, UNPINNED_ANALYST, analyst_challenge, sign_analyst_challenge,
};
