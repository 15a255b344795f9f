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
    /// A request that the security policy refuses: its [`RefusalKind`] and a message.
    #[error("refused: {}", .0.message)]
    Refused(Refusal),
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
        "this site's key share has given the {limit} decryption shares one session allows; start a new session (ds.mheSetup())"
    )]
    ShareLimit {
        /// Decryption shares per key share and session.
        limit: usize,
    },
}

/// Which rule of the security policy refused a request.
///
/// The bindings hand the kind to R as data ([`RefusalKind::as_str`]), where it becomes
/// the condition class `dsMHE_error_refused_<kind>`: no caller parses message text.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalKind {
    /// This site (with its own key) is not a member of the roster.
    NotInRoster,
    /// Fewer sites than the admin's `mhe.min.parties`.
    BelowMinParties,
    /// A roster without pinned peers, which the admin did not allow.
    Unpinned,
    /// A roster that is not exactly the pinned peers plus this site.
    PinMismatch,
    /// Two roster members with the same name or the same key.
    DuplicateMember,
    /// A threshold below the admin's minimum (or any threshold when none is allowed).
    ThresholdBelowMinimum,
    /// A query's set of sites that is not the whole roster where the policy requires it.
    SetNotWholeRoster,
    /// A malformed set of sites: unknown or repeated sites, or without this site.
    BadSet,
    /// A variable released earlier over another set of sites (the durable ledger).
    SetChanged,
    /// A query id, request or ciphertext used a second time.
    Replay,
    /// A request that does not match what this site contributed or was set up for.
    Mismatch,
    /// A missing or invalid signature or attestation of a member.
    BadAttestation,
    /// Decrypting sites the policy does not accept (too few, or not contributors).
    Decryptors,
    /// A setup step out of order (not joined, not ready, already done, wiped).
    State,
    /// The audit file cannot be read or written, so nothing may leave the site.
    Audit,
    /// The key share gave all the decryption shares its flooding allows in a session
    /// ([`Error::ShareLimit`]).
    ShareLimit,
    /// A query whose differential-privacy cost does not fit what is left of the
    /// analyst's budget at this site.
    Budget,
    /// A statistic that cannot be released under this site's differential privacy
    /// (no sensitivity, no clipping bounds, or parameters out of range).
    DpUnsupported,
    /// Any other rule.
    Other,
}

impl RefusalKind {
    /// The kind's name in snake case, as R's condition class suffix.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalKind::NotInRoster => "not_in_roster",
            RefusalKind::BelowMinParties => "below_min_parties",
            RefusalKind::Unpinned => "unpinned",
            RefusalKind::PinMismatch => "pin_mismatch",
            RefusalKind::DuplicateMember => "duplicate_member",
            RefusalKind::ThresholdBelowMinimum => "threshold_below_minimum",
            RefusalKind::SetNotWholeRoster => "set_not_whole_roster",
            RefusalKind::BadSet => "bad_set",
            RefusalKind::SetChanged => "set_changed",
            RefusalKind::Replay => "replay",
            RefusalKind::Mismatch => "mismatch",
            RefusalKind::BadAttestation => "bad_attestation",
            RefusalKind::Decryptors => "decryptors",
            RefusalKind::State => "state",
            RefusalKind::Audit => "audit",
            RefusalKind::ShareLimit => "share_limit",
            RefusalKind::Budget => "budget",
            RefusalKind::DpUnsupported => "dp_unsupported",
            RefusalKind::Other => "other",
        }
    }
}

/// A refusal: the rule's kind and a message for the person who reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The rule that refused.
    pub kind: RefusalKind,
    /// What was refused and why, without secret data.
    pub message: String,
}

impl Refusal {
    /// A refusal of `kind` with `message`.
    pub fn new(kind: RefusalKind, message: impl Into<String>) -> Refusal {
        Refusal {
            kind,
            message: message.into(),
        }
    }
}

impl core::fmt::Display for Refusal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Reads as its message, so that tests may search it (`m.contains("threshold")`).
impl core::ops::Deref for Refusal {
    type Target = str;
    fn deref(&self) -> &str {
        &self.message
    }
}

/// A refusal of kind [`RefusalKind::Other`]; the protocols use it for their own rules.
impl From<&str> for Refusal {
    fn from(message: &str) -> Refusal {
        Refusal::new(RefusalKind::Other, message)
    }
}

/// As `From<&str>`.
impl From<String> for Refusal {
    fn from(message: String) -> Refusal {
        Refusal::new(RefusalKind::Other, message)
    }
}

/// A budget overrun is a refusal of kind [`RefusalKind::Budget`]; any other
/// differential-privacy error refuses the query as [`RefusalKind::DpUnsupported`].
impl From<crate::dp::DpError> for Error {
    fn from(e: crate::dp::DpError) -> Error {
        let kind = match e {
            crate::dp::DpError::BudgetExceeded { .. } => RefusalKind::Budget,
            _ => RefusalKind::DpUnsupported,
        };
        Error::refused(kind, e.to_string())
    }
}

impl Error {
    /// A refusal of `kind` with `message`.
    pub fn refused(kind: RefusalKind, message: impl Into<String>) -> Error {
        Error::Refused(Refusal::new(kind, message))
    }

    /// The refusal's kind, or `None` for an error that is not a refusal.
    pub fn refusal_kind(&self) -> Option<RefusalKind> {
        match self {
            Error::Refused(r) => Some(r.kind),
            _ => None,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T> = core::result::Result<T, Error>;
