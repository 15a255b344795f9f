//! The one error type of the crate.

use thiserror::Error;

/// Everything that can go wrong in `mhe`, from a malformed blob to a refused request.
///
/// Messages are written for the person who will read them in an R session: they say
/// what is wrong, never any secret. A failed signature says only that it failed.
#[non_exhaustive]
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Error {
    /// A parameter-set name or id that this version does not know.
    #[error("unknown parameter set '{0}'")]
    UnknownParams(String),
    /// Two objects built for different parameter sets met.
    #[error("parameter set mismatch: expected id {expected}, found id {found}")]
    ParameterMismatch {
        /// The id this operation works with.
        expected: u16,
        /// The id the input carries.
        found: u16,
    },
    /// A blob belongs to another session.
    #[error("blob belongs to another session")]
    SessionMismatch,
    /// A blob ended before a field was complete.
    #[error("truncated blob: {field} needs {needed} bytes, {got} left")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        got: usize,
    },
    /// A blob whose bytes do not form a valid object.
    #[error("malformed blob: {0}")]
    Malformed(String),
    /// A blob of a wire-format version this build cannot read.
    #[error("unsupported wire-format version {0}")]
    Version(u8),
    /// A blob of one kind given where another was expected.
    #[error("wrong blob kind: expected {expected}, found {found}")]
    WrongKind {
        /// Kind expected.
        expected: &'static str,
        /// Kind found.
        found: &'static str,
    },
    /// A value that cannot be encoded without wrapping around. The error names the
    /// rule and the value's position, never the value: the message may travel to the
    /// analyst.
    #[error("value {index} is out of range: {rule}")]
    OutOfRange {
        /// The rule the value breaks.
        rule: &'static str,
        /// The value's position in its vector, from 1.
        index: usize,
    },
    /// A signature that does not verify.
    #[error("signature verification failed")]
    BadSignature,
    /// A sealed message that does not open (wrong key or tampered).
    #[error("sealed message could not be opened")]
    BadSeal,
    /// A request that the security policy refuses.
    #[error("refused: {0}")]
    Refused(String),
    /// An argument that does not make sense.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A site key file that cannot be created or used.
    #[error("site key file: {0}")]
    KeyFile(String),
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed")]
    Randomness,
    /// A key share reached the number of decryption shares its flooding is sized for
    /// in one session.
    #[error(
        "refused: this site's key share has given the {limit} decryption shares one session allows; start a new session (ds.mheSetup())"
    )]
    ShareLimit {
        /// Decryption shares per key share and session.
        limit: usize,
    },
}

/// Shorthand for results of this crate.
pub type Result<T> = core::result::Result<T, Error>;
