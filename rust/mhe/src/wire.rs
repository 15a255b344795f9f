//! The wire format: every blob starts with a header that names the format version,
//! the kind of blob, the parameter set and the session, so that a blob can never be
//! read as another kind, under other parameters, or in another session.
//!
//! ```text
//! magic "MHE" | version u8 | kind u8 | params id u16 LE | session [16]
//! ```
//!
//! Decoding never panics and never allocates from a length it has not checked against
//! the bytes actually present: every count is bounded by the remaining input before a
//! vector is reserved. Polynomials are packed at the bit width of each RNS modulus and
//! every residue is checked to be below its modulus.

use crate::ciphertext::{Switched, switch_bits};
use crate::encoding::{Layout, Width};
use crate::error::{Error, Result};
use crate::params::Params;
use crate::ring::{Form, Poly};

/// Magic bytes of every blob.
pub const MAGIC: [u8; 3] = *b"MHE";
/// Current wire-format version (2: contributions carry `c0` only, requests no
/// polynomial, confirmations commit to the group secret; 3: values laid out at their
/// declared widths, polynomials carry only the coefficients that hold values,
/// contributions carry a signed differential-privacy block, see `messages::DpFacts`,
/// a key-generation bundle carries the aggregated key instead of every share,
/// checked by signed evaluations).
pub const VERSION: u8 = 3;
/// Bytes of a header.
pub const HEADER_LEN: usize = 3 + 1 + 1 + 2 + 16;

/// The kinds of blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A site's signed identity.
    Identity = 1,
    /// The roster: every site's identity.
    Roster = 2,
    /// A site's signed key-generation share.
    KeygenShare = 3,
    /// What one site needs to finish key generation.
    KeygenBundle = 4,
    /// A site's signed confirmation of the collective key.
    Confirmation = 5,
    /// A site's signed encrypted contribution to a query.
    Contribution = 6,
    /// The pooled ciphertexts the analyst keeps.
    Pooled = 7,
    /// A decryption request sent to each decrypting site.
    DecryptRequest = 8,
    /// A site's decryption share.
    DecryptShare = 9,
    /// A site's signed evaluations of its key share (the aggregate key check).
    KeyEvaluation = 10,
    /// Every site's key evaluations, relayed to each site.
    KeyEvaluations = 11,
}

impl Kind {
    /// The kind's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Identity => "identity",
            Kind::Roster => "roster",
            Kind::KeygenShare => "key-generation share",
            Kind::KeygenBundle => "key-generation bundle",
            Kind::Confirmation => "confirmation",
            Kind::Contribution => "contribution",
            Kind::Pooled => "pooled ciphertext",
            Kind::DecryptRequest => "decryption request",
            Kind::DecryptShare => "decryption share",
            Kind::KeyEvaluation => "key evaluation",
            Kind::KeyEvaluations => "key evaluations",
        }
    }

    fn from_u8(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::Identity,
            2 => Kind::Roster,
            3 => Kind::KeygenShare,
            4 => Kind::KeygenBundle,
            5 => Kind::Confirmation,
            6 => Kind::Contribution,
            7 => Kind::Pooled,
            8 => Kind::DecryptRequest,
            9 => Kind::DecryptShare,
            10 => Kind::KeyEvaluation,
            11 => Kind::KeyEvaluations,
            _ => return None,
        })
    }
}

/// A parsed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Kind of blob.
    pub kind: Kind,
    /// Parameter-set id.
    pub params_id: u16,
    /// Session id.
    pub session: [u8; 16],
}

/// Builds a blob.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// A blob of `kind` for `params` in `session`.
    pub fn new(kind: Kind, params: &Params, session: &[u8; 16]) -> Writer {
        let mut buf = Vec::with_capacity(1024);
        buf.extend_from_slice(&MAGIC);
        buf.push(VERSION);
        buf.push(kind as u8);
        buf.extend_from_slice(&params.id().to_le_bytes());
        buf.extend_from_slice(session);
        Writer { buf }
    }
    /// Appends one byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    /// Appends a u16 (LE).
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends a u32 (LE).
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends raw bytes of a fixed, known length.
    pub fn fixed(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }
    /// Appends a count or a length as a u32 (LE). Every count a message writes is
    /// bounded far below `u32::MAX` by the caps its decoder checks (`MAX_PARTIES`,
    /// `MAX_VALUES`, [`crate::site::MAX_BUFFER_BYTES`]); a larger one is written as
    /// `u32::MAX`, which every decoder refuses, so it can never be misread as another
    /// count. This is the one place where a length becomes a wire integer.
    pub fn count(&mut self, n: usize) -> &mut Self {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX))
    }
    /// Appends bytes with a u32 length prefix.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.count(b.len());
        self.buf.extend_from_slice(b);
        self
    }
    /// Continues a blob whose first bytes were built by another writer (a signed
    /// body, to which the signature and unsigned parts are appended).
    pub fn resume(buf: Vec<u8>) -> Writer {
        Writer { buf }
    }
    /// Appends a UTF-8 string with a u16 length prefix.
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.u16(u16::try_from(s.len()).unwrap_or(u16::MAX));
        self.buf.extend_from_slice(s.as_bytes());
        self
    }
    /// Appends a polynomial, each limb packed at its modulus's bit width.
    pub fn poly(&mut self, p: &Poly, params: &Params) -> &mut Self {
        write_poly(&mut self.buf, p, params);
        self
    }
    /// Appends a modulus-switched polynomial ([`Switched`]): its number of
    /// coefficients as a u32, then each at `k` bits ([`switch_bits`]). Only the
    /// coefficients that hold values travel (see
    /// [`crate::encoding::Layout::used_coeffs`]): decryption of coefficient `j` needs
    /// only coefficient `j` of each `c0` and of each share.
    pub fn switched(&mut self, p: &Switched, params: &Params) -> &mut Self {
        self.count(p.len());
        pack_bits(&mut self.buf, p.coeffs().iter().copied(), switch_bits(params));
        self
    }
    /// Appends a layout: the number of sites it is pooled over (u16), the number of
    /// runs, then each run's count (u32), bits and fractional bits (one byte each).
    pub fn layout(&mut self, layout: &Layout) -> &mut Self {
        self.u16(u16::try_from(layout.parties()).unwrap_or(u16::MAX));
        self.count(layout.runs().len());
        for &(n, w) in layout.runs() {
            self.u32(n);
            self.buf.extend_from_slice(&[
                u8::try_from(w.bits()).unwrap_or(0),
                u8::try_from(w.frac()).unwrap_or(0),
            ]);
        }
        self
    }
    /// The bytes so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }
    /// The finished blob.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Appends `p` to `out` as [`Writer::poly`] does, for buffers that are not a blob,
/// such as a pre-sized `Zeroizing` buffer of secret material ([`poly_bytes`] long).
pub fn write_poly(out: &mut Vec<u8>, p: &Poly, params: &Params) {
    for (i, row) in p.rows().enumerate() {
        pack_bits(out, row.iter().map(|&c| u128::from(c)), params.limb_bits(i));
    }
}

/// Reads a blob, checking every length against the bytes present.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Parses the header and checks the kind.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::Malformed`] (magic), [`Error::Version`],
    /// [`Error::WrongKind`].
    pub fn new(buf: &'a [u8], expected: Kind) -> Result<(Reader<'a>, Header)> {
        let (mut r, h) = Self::any(buf)?;
        if h.kind != expected {
            return Err(Error::WrongKind {
                expected: expected.name(),
                found: h.kind.name(),
            });
        }
        r.pos = HEADER_LEN;
        Ok((r, h))
    }

    /// A reader over headerless bytes (the inside of a sealed payload).
    pub fn bare(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    /// Parses the header of a blob of any kind.
    ///
    /// # Errors
    /// As [`Reader::new`], without the kind check.
    pub fn any(buf: &'a [u8]) -> Result<(Reader<'a>, Header)> {
        let mut r = Reader { buf, pos: 0 };
        let magic = r.take(3, "magic")?;
        if magic != MAGIC {
            return Err(Error::Malformed("not a dsMHE blob (bad magic)".into()));
        }
        let version = r.u8()?;
        if version != VERSION {
            return Err(Error::Version(version));
        }
        let kind_byte = r.u8()?;
        let kind = Kind::from_u8(kind_byte)
            .ok_or_else(|| Error::Malformed(format!("unknown kind {kind_byte}")))?;
        let params_id = r.u16()?;
        let session = r.array::<16>("session")?;
        Ok((
            r,
            Header {
                kind,
                params_id,
                session,
            },
        ))
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8]> {
        let got = self.buf.len().saturating_sub(self.pos);
        if n > got {
            return Err(Error::Truncated {
                field,
                needed: n,
                got,
            });
        }
        let s = self
            .buf
            .get(self.pos..self.pos + n)
            .ok_or(Error::Truncated {
                field,
                needed: n,
                got,
            })?;
        self.pos += n;
        Ok(s)
    }
    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
    /// Position in the blob.
    pub fn position(&self) -> usize {
        self.pos
    }
    /// The blob's bytes up to the current position (what a trailing signature covers).
    pub fn consumed(&self) -> &'a [u8] {
        self.buf.get(..self.pos).unwrap_or(&[])
    }
    /// Reads one byte.
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>("u8")?[0])
    }
    /// Reads a u16 (LE).
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array("u16")?))
    }
    /// Reads a u32 (LE).
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array("u32")?))
    }
    /// Reads a fixed-size array.
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn array<const K: usize>(&mut self, field: &'static str) -> Result<[u8; K]> {
        let s = self.take(K, field)?;
        let mut a = [0u8; K];
        a.copy_from_slice(s);
        Ok(a)
    }
    /// Reads length-prefixed bytes (the length is checked against what is present).
    ///
    /// # Errors
    /// [`Error::Truncated`].
    pub fn bytes(&mut self, field: &'static str) -> Result<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n, field)
    }
    /// Reads a length-prefixed UTF-8 string of at most `max` bytes.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::Malformed`].
    pub fn str(&mut self, field: &'static str, max: usize) -> Result<&'a str> {
        let n = self.u16()? as usize;
        if n > max {
            return Err(Error::Malformed(format!("{field} longer than {max} bytes")));
        }
        let b = self.take(n, field)?;
        std::str::from_utf8(b).map_err(|_| Error::Malformed(format!("{field} is not UTF-8")))
    }
    /// Reads a count and checks that `count * min_item_bytes` bytes remain, so a forged
    /// count cannot make the caller reserve memory.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::Malformed`] above `max`.
    pub fn count(
        &mut self,
        field: &'static str,
        max: usize,
        min_item_bytes: usize,
    ) -> Result<usize> {
        let n = self.u32()? as usize;
        if n > max {
            return Err(Error::Malformed(format!(
                "{field}: {n} items, at most {max} allowed"
            )));
        }
        let needed = n.saturating_mul(min_item_bytes.max(1));
        if needed > self.remaining() {
            return Err(Error::Truncated {
                field,
                needed,
                got: self.remaining(),
            });
        }
        Ok(n)
    }
    /// Reads a polynomial in `form`, checking every residue against its modulus.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::Malformed`] for a residue out of range.
    pub fn poly(&mut self, params: &Params, form: Form) -> Result<Poly> {
        let n = params.n();
        let mut residues = Vec::with_capacity(poly_bytes(params).min(self.remaining()) / 6);
        for (i, q) in params.moduli().enumerate() {
            let bits = params.limb_bits(i);
            let len = (n * bits as usize).div_ceil(8);
            let bytes = self.take(len, "polynomial")?;
            let mask = (1u128 << bits) - 1;
            let mut acc: u128 = 0;
            let mut have = 0u32;
            let mut it = bytes.iter();
            for _ in 0..n {
                while have < bits {
                    let b = it.next().copied().unwrap_or(0);
                    acc |= u128::from(b) << have;
                    have += 8;
                }
                #[expect(clippy::cast_possible_truncation, reason = "masked to at most 64 bits")]
                let v = (acc & mask) as u64;
                acc >>= bits;
                have -= bits;
                if v >= q {
                    return Err(Error::Malformed("polynomial residue out of range".into()));
                }
                residues.push(v);
            }
        }
        Poly::from_residues(params, residues, form)
            .ok_or_else(|| Error::Malformed("polynomial".into()))
    }
    /// Reads a modulus-switched polynomial written by [`Writer::switched`]: at most
    /// N coefficients, checked against the bytes present before anything is
    /// allocated.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::Malformed`] for more than N coefficients.
    pub fn switched(&mut self, params: &Params) -> Result<Switched> {
        let n = params.n();
        let used = self.u32()? as usize;
        if used > n {
            return Err(Error::Malformed(format!(
                "a polynomial of {used} coefficients, at most {n}"
            )));
        }
        let bits = switch_bits(params);
        let bytes = self.take(switched_bytes(params, used), "polynomial")?;
        let mask = (1u128 << bits) - 1;
        let mut acc: u128 = 0;
        let mut have = 0u32;
        let mut it = bytes.iter();
        let mut coeffs = Vec::with_capacity(used);
        for _ in 0..used {
            // acc holds fewer than `bits` bits here; 8 more stay below 128.
            let mut v: u128 = acc;
            let mut got = have;
            while got < bits {
                let b = it.next().copied().unwrap_or(0);
                v |= u128::from(b) << got;
                got += 8;
            }
            coeffs.push(v & mask);
            acc = v >> bits;
            have = got - bits;
        }
        Ok(Switched::from_coeffs(params, coeffs))
    }
    /// Reads a layout of exactly `n_values` values (see [`Writer::layout`]): runs not
    /// empty, neighbours distinct (one encoding per layout), every width valid.
    ///
    /// # Errors
    /// [`Error::Truncated`], [`Error::Malformed`].
    pub fn layout(&mut self, n_values: usize) -> Result<Layout> {
        let parties = usize::from(self.u16()?);
        let n_runs = self.count("layout runs", n_values, 6)?;
        let mut runs: Vec<(u32, Width)> = Vec::with_capacity(n_runs);
        for _ in 0..n_runs {
            let n = self.u32()?;
            let [bits, frac] = self.array::<2>("width")?;
            let w = Width::new(u32::from(bits), u32::from(frac))
                .map_err(|e| Error::Malformed(format!("layout: {e}")))?;
            runs.push((n, w));
        }
        let layout = Layout::from_runs(&runs)
            .and_then(|l| l.with_parties(parties))
            .map_err(|e| Error::Malformed(format!("layout: {e}")))?;
        if layout.runs().len() != n_runs || layout.len() != n_values {
            return Err(Error::Malformed(format!(
                "layout: runs must be non-empty, distinct from their neighbours and hold {n_values} values"
            )));
        }
        Ok(layout)
    }
    /// Fails unless every byte was read.
    ///
    /// # Errors
    /// [`Error::Malformed`] for trailing bytes.
    pub fn finish(&self) -> Result<()> {
        if self.remaining() != 0 {
            return Err(Error::Malformed(format!(
                "{} trailing bytes",
                self.remaining()
            )));
        }
        Ok(())
    }
}

/// Bytes one packed polynomial takes.
pub fn poly_bytes(params: &Params) -> usize {
    (0..params.num_limbs())
        .map(|i| (params.n() * params.limb_bits(i) as usize).div_ceil(8))
        .sum()
}

/// Bytes of a modulus-switched polynomial of `used` coefficients, without its count.
pub fn switched_bytes(params: &Params, used: usize) -> usize {
    (used * switch_bits(params) as usize).div_ceil(8)
}

/// Packs `values` (each below `2^bits`, `bits <= 120`) least significant bit first:
/// residues of a polynomial's rows and modulus-switched coefficients alike.
fn pack_bits(out: &mut Vec<u8>, values: impl IntoIterator<Item = u128>, bits: u32) {
    let mut acc: u128 = 0;
    let mut have = 0u32;
    for c in values {
        acc |= c << have; // have < 8, c < 2^120
        have += bits;
        while have >= 8 {
            out.push((acc & 0xFF) as u8);
            acc >>= 8;
            have -= 8;
        }
    }
    if have > 0 {
        out.push((acc & 0xFF) as u8);
    }
}

/// Checks that a header belongs to `params` and `session`.
///
/// # Errors
/// [`Error::ParameterMismatch`], [`Error::SessionMismatch`].
pub fn check_context(h: &Header, params: &Params, session: &[u8; 16]) -> Result<()> {
    if h.params_id != params.id() {
        return Err(Error::ParameterMismatch {
            expected: params.id(),
            found: h.params_id,
        });
    }
    if &h.session != session {
        return Err(Error::SessionMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampling::Crs;

    #[test]
    fn polynomials_round_trip_at_the_minimum_size() {
        let params = Params::by_name("default").unwrap();
        let p = Crs::from_seed([3; 32]).uniform_poly(&params, b"x");
        let mut w = Writer::new(Kind::Pooled, &params, &[1; 16]);
        w.poly(&p, &params);
        let blob = w.finish();
        assert_eq!(blob.len(), HEADER_LEN + poly_bytes(&params));
        // 2 limbs of 54 bits: exactly N * 108 / 8 bytes.
        assert_eq!(poly_bytes(&params), params.n() * 108 / 8);
        let (mut r, h) = Reader::new(&blob, Kind::Pooled).unwrap();
        assert_eq!(h.session, [1; 16]);
        assert_eq!(r.poly(&params, Form::Coeff).unwrap(), p);
        r.finish().unwrap();
    }

    #[test]
    fn bad_headers_are_typed_errors() {
        let params = Params::toy();
        let blob = Writer::new(Kind::Identity, &params, &[0; 16]).finish();
        assert!(matches!(
            Reader::new(&blob, Kind::Roster),
            Err(Error::WrongKind { .. })
        ));
        assert!(matches!(
            Reader::new(&blob[..5], Kind::Identity),
            Err(Error::Truncated { .. })
        ));
        let mut v = blob.clone();
        v[3] = 9;
        assert_eq!(
            Reader::new(&v, Kind::Identity).err(),
            Some(Error::Version(9))
        );
        assert!(Reader::new(b"nope", Kind::Identity).is_err());
    }
}
