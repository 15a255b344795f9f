//! Base64url without padding (RFC 4648 section 5), strict: the only text encoding of
//! binary arguments that Opal's parser accepts unchanged.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Encodes bytes.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let idx = (v >> (18 - 6 * i)) & 63;
            out.push(char::from(
                ALPHABET.get(idx as usize).copied().unwrap_or(b'A'),
            ));
        }
    }
    out
}

fn value(c: u8) -> Option<u32> {
    match c {
        b'A'..=b'Z' => Some(u32::from(c - b'A')),
        b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

/// Decodes text; refuses any character outside the alphabet, padding, and a length
/// that no byte string encodes to.
pub fn decode(text: &str) -> Result<Vec<u8>, String> {
    let t = text.as_bytes();
    if t.len() % 4 == 1 {
        return Err("invalid base64url length".into());
    }
    let mut out = Vec::with_capacity(t.len() / 4 * 3 + 2);
    for chunk in t.chunks(4) {
        let mut v = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            let x = value(c).ok_or_else(|| {
                format!(
                    "character '{}' is not base64url (A-Z a-z 0-9 - _, no padding)",
                    char::from(c).escape_default()
                )
            })?;
            v |= x << (18 - 6 * i);
        }
        let bytes = v.to_be_bytes();
        let n = chunk.len() - 1;
        out.extend_from_slice(bytes.get(1..1 + n).unwrap_or(&[]));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_length() {
        for len in 0..50 {
            let bytes: Vec<u8> = (0..len)
                .map(|i: u8| i.wrapping_mul(37).wrapping_add(11))
                .collect();
            assert_eq!(decode(&encode(&bytes)).unwrap(), bytes);
        }
        assert_eq!(encode(b"\xfb\xff"), "-_8");
    }

    #[test]
    fn refuses_other_alphabets() {
        assert!(decode("ab+c").is_err());
        assert!(decode("ab/c").is_err());
        assert!(decode("abc=").is_err());
        assert!(decode("a").is_err());
        assert!(decode("a b").is_err());
    }
}
