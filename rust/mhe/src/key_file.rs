//! A site's long-term signing key on disk, so that peers can pin its fingerprint once
//! (`mhe.peers`) instead of for every session.
//!
//! The file holds one line, `dsmhe-signing-key-v1 <64 hex digits>`: the Ed25519 seed.
//! It is created with mode 0600 and never overwritten; a file that others can read or
//! write is refused (as ssh refuses an open private key). Only the signing key is
//! long-term: key-agreement keys and secret-key shares stay fresh for every session.

use std::io::{Read, Write};
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::identity::seed_fingerprint;
use crate::sampling::os_seed;

const PREFIX: &str = "dsmhe-signing-key-v1 ";
/// Longest file accepted: the line plus some white space.
const MAX_FILE_BYTES: u64 = 256;

fn fail(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::KeyFile(format!("{}: {what}", path.display()))
}

/// Creates a key file at `path` with a fresh key; returns its fingerprint.
///
/// # Errors
/// [`Error::KeyFile`] if the file exists or cannot be written; [`Error::Randomness`].
pub fn create(path: &Path) -> Result<String> {
    let seed = os_seed()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| fail(path, e))?;
    let mut line = Zeroizing::new(String::with_capacity(PREFIX.len() + 65));
    line.push_str(PREFIX);
    // Hex digits straight into the zeroizing line: no `format!` temporary holds a
    // piece of the seed.
    for b in seed.iter() {
        line.push(hex_digit(b >> 4));
        line.push(hex_digit(b & 0x0f));
    }
    line.push('\n');
    file.write_all(line.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| fail(path, e))?;
    Ok(seed_fingerprint(&seed))
}

/// Reads the signing key of the file at `path`.
///
/// # Errors
/// [`Error::KeyFile`] for a missing, unreadable, oversized, malformed or (on Unix)
/// group- or world-accessible file.
pub fn load(path: &Path) -> Result<Zeroizing<[u8; 32]>> {
    let file = std::fs::File::open(path).map_err(|e| fail(path, e))?;
    let meta = file.metadata().map_err(|e| fail(path, e))?;
    if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
        return Err(fail(path, "not a dsMHE key file"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(fail(
                path,
                format!("permissions {mode:o} let others access the key; use chmod 600"),
            ));
        }
    }
    let mut text = Zeroizing::new(String::new());
    file.take(MAX_FILE_BYTES)
        .read_to_string(&mut text)
        .map_err(|_| fail(path, "not a dsMHE key file"))?;
    parse(text.trim()).ok_or_else(|| fail(path, "not a dsMHE key file"))
}

/// The fingerprint of the key in the file at `path`.
///
/// # Errors
/// As [`load`].
pub fn fingerprint(path: &Path) -> Result<String> {
    Ok(seed_fingerprint(&*load(path)?))
}

/// The lowercase hex digit of a nibble (`x < 16`), without a table lookup indexed by
/// the secret.
fn hex_digit(x: u8) -> char {
    let x = x & 0x0f;
    // '0' + x, plus 39 more ('a' - '9' - 1) when x > 9, computed without a branch.
    let gap = 39u8 & 0u8.wrapping_sub(u8::from(x > 9));
    char::from(b'0' + x + gap)
}

fn parse(line: &str) -> Option<Zeroizing<[u8; 32]>> {
    let hex = line.strip_prefix(PREFIX)?.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    for (out, pair) in seed.iter_mut().zip(hex.chunks_exact(2)) {
        let digits = std::str::from_utf8(pair).ok()?;
        *out = u8::from_str_radix(digits, 16).ok()?;
    }
    Some(seed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn temp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mhe-key-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        dir
    }

    #[test]
    fn a_created_key_loads_with_the_same_fingerprint() {
        let path = temp("ok");
        let fp = create(&path).unwrap();
        assert_eq!(fingerprint(&path).unwrap(), fp);
        assert!(matches!(create(&path), Err(Error::KeyFile(_))));
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn hex_digits_match_the_formatter() {
        for x in 0u8..16 {
            assert_eq!(hex_digit(x).to_string(), format!("{x:x}"));
        }
    }

    #[test]
    fn bad_files_are_refused() {
        assert!(matches!(
            load(Path::new("/nonexistent/key")),
            Err(Error::KeyFile(_))
        ));
        let path = temp("bad");
        std::fs::write(&path, "dsmhe-signing-key-v1 zz\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert!(matches!(load(&path), Err(Error::KeyFile(_))));
        std::fs::remove_file(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let path = temp("open");
            create(&path).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = load(&path).unwrap_err().to_string();
            assert!(e.contains("chmod 600"), "{e}");
            std::fs::remove_file(&path).unwrap();
        }
    }
}
