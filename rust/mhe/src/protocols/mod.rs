//! The multiparty protocols (Mouchet et al., "Multiparty Homomorphic Encryption from
//! Ring-Learning-with-Errors", PETS 2021; threshold after Mouchet et al., eprint
//! 2022/780). One protocol per module; each has a protocol type built from the
//! parameters, a share type, and the same steps: `gen_share`, `aggregate_shares`, and a
//! last step named for what it produces.

pub mod group_secret;
pub mod key_switch;
pub mod public_key_gen;
pub mod public_key_switch;
pub mod threshold;
pub mod zero_sum;

pub use group_secret::{GroupSecret, GroupSecretProtocol, GroupSecretShare};
pub use key_switch::{DecryptionLedger, KeySwitchProtocol, KeySwitchShare};
pub use public_key_gen::{PublicKeyGenCrp, PublicKeyGenProtocol, PublicKeyGenShare};
pub use public_key_switch::{PublicKeySwitchProtocol, PublicKeySwitchShare};
pub use threshold::{Combiner, ShamirPolynomial, ShamirShare, Thresholdizer};
