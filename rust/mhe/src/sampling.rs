//! Randomness: the OS-seeded generator for secrets, the distributions RLWE needs, and
//! the common reference string from which public random polynomials are expanded.

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Refusal, RefusalKind, Result};
use crate::params::Params;
use crate::ring::{Form, Poly, SecretPoly};

/// Standard deviation of the RLWE error distribution.
pub const SIGMA: f64 = 3.2;
/// Errors are cut at about 6 sigma.
pub const GAUSSIAN_BOUND: i64 = 19;
const CDT_LEN: usize = 20;

/// 32 fresh bytes from the operating system.
///
/// # Errors
/// [`Error::Randomness`] if the OS generator fails.
pub fn os_seed() -> Result<Zeroizing<[u8; 32]>> {
    let mut seed = Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut()).map_err(|_| Error::Randomness)?;
    Ok(seed)
}

/// A generator for secret material: ChaCha20 seeded from the OS CSPRNG, with fast key
/// erasure.
///
/// After every draw (a key, a secret, an error, a flooding polynomial) the generator
/// takes 32 more bytes of its own stream as its next key and overwrites the old state,
/// so the state it holds at any time gives no way back to anything it produced before
/// (Bernstein, "Fast-key-erasure random-number generators", 2017). [`SecretRng::wipe`]
/// zeroes the state for good, and so does dropping the generator.
///
/// A wiped generator refuses: [`SecretRng::check`] returns [`Error::Refused`], which
/// every fallible protocol step calls first. An infallible draw from a wiped generator
/// (a caller that ignored the refusal) takes its output from a fresh OS-seeded key,
/// never from anything the generator held before.
pub struct SecretRng {
    state: Option<ChaCha20Rng>,
}

impl std::fmt::Debug for SecretRng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretRng")
            .field("wiped", &self.state.is_none())
            .finish_non_exhaustive()
    }
}

/// Overwrites a ChaCha20 state in place with the state of the all-zero key.
fn zero_state(slot: &mut ChaCha20Rng) {
    *slot = ChaCha20Rng::from_seed([0u8; 32]);
}

impl Drop for SecretRng {
    fn drop(&mut self) {
        self.wipe();
    }
}

impl zeroize::ZeroizeOnDrop for SecretRng {}

impl SecretRng {
    /// A generator seeded from the operating system.
    ///
    /// # Errors
    /// [`Error::Randomness`] if the OS generator fails.
    pub fn from_os() -> Result<SecretRng> {
        Ok(SecretRng {
            state: Some(ChaCha20Rng::from_seed(*os_seed()?)),
        })
    }

    /// A deterministic generator, for tests and known-answer vectors only.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn from_seed_insecure(seed: [u8; 32]) -> SecretRng {
        SecretRng {
            state: Some(ChaCha20Rng::from_seed(seed)),
        }
    }

    /// A generator keyed by a secret `key` and a public `context`: every holder of the
    /// key draws the same values, which are pseudorandom to anyone else.
    pub(crate) fn from_prf(key: &[u8; 32], context: &[u8]) -> SecretRng {
        let seed = Zeroizing::new(derive_key(b"mhe/prf/v1", key, context));
        SecretRng {
            state: Some(ChaCha20Rng::from_seed(*seed)),
        }
    }

    /// Zeroes the state: the generator gives nothing more, and nothing it gave before
    /// can be regenerated from its memory.
    pub fn wipe(&mut self) {
        if let Some(s) = self.state.as_mut() {
            zero_state(s);
        }
        self.state = None;
    }

    /// Whether [`SecretRng::wipe`] was called.
    pub fn is_wiped(&self) -> bool {
        self.state.is_none()
    }

    /// Refuses a wiped generator.
    ///
    /// # Errors
    /// [`Error::Refused`] after [`SecretRng::wipe`].
    pub fn check(&self) -> Result<()> {
        if self.is_wiped() {
            return Err(Error::Refused(Refusal::new(
                RefusalKind::State,
                "the secret generator of this session was wiped",
            )));
        }
        Ok(())
    }

    /// Runs one draw on the current state, then re-keys (fast key erasure).
    pub(crate) fn draw<T>(&mut self, f: impl FnOnce(&mut ChaCha20Rng) -> T) -> T {
        let wiped = self.state.is_none();
        // Never from a wiped state: a fresh key from the OS or, if even that fails,
        // from the clock, hashed (see the type's doc), used once and wiped again.
        let state = self.state.get_or_insert_with(|| {
            ChaCha20Rng::from_seed(*os_seed().unwrap_or_else(|_| fallback_seed()))
        });
        let out = f(state);
        if wiped {
            self.wipe();
        } else {
            let mut next = Zeroizing::new([0u8; 32]);
            state.fill_bytes(next.as_mut());
            // Assigning in place overwrites the old key, counter and buffered output.
            *state = ChaCha20Rng::from_seed(*next);
        }
        out
    }

    /// 32 bytes for a key.
    pub fn bytes32(&mut self) -> Zeroizing<[u8; 32]> {
        let mut b = Zeroizing::new([0u8; 32]);
        self.draw(|r| r.fill_bytes(b.as_mut()));
        b
    }

    /// The ChaCha20 key the generator holds now (`None` once wiped): what an attacker
    /// reading its memory would find. For the tests of fast key erasure.
    #[cfg(any(test, feature = "test-utils"))]
    pub fn current_key(&self) -> Option<[u8; 32]> {
        self.state.as_ref().map(ChaCha20Rng::get_seed)
    }
}

/// A last-resort key for a draw from a wiped generator when the OS generator fails.
fn fallback_seed() -> Zeroizing<[u8; 32]> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    Zeroizing::new(derive_key(
        b"mhe/wiped-fallback/v1",
        &nanos.to_le_bytes(),
        &std::process::id().to_le_bytes(),
    ))
}

/// Cumulative distribution of |x| for the rounded Gaussian of [`SIGMA`], scaled to 2^63:
/// `cdt[k] = P(|x| <= k) * 2^63`.
fn gaussian_cdt() -> &'static [u64; CDT_LEN] {
    static CDT: std::sync::OnceLock<[u64; CDT_LEN]> = std::sync::OnceLock::new();
    CDT.get_or_init(|| {
        let rho = |k: f64| (-k * k / (2.0 * SIGMA * SIGMA)).exp();
        let total: f64 = rho(0.0) + 2.0 * (1..=GAUSSIAN_BOUND).map(|k| rho(k as f64)).sum::<f64>();
        let mut cdt = [0u64; CDT_LEN];
        let mut acc = 0.0;
        for (k, slot) in cdt.iter_mut().enumerate() {
            let w = if k == 0 { 1.0 } else { 2.0 };
            acc += w * rho(k as f64) / total;
            #[expect(clippy::cast_possible_truncation, reason = "acc <= 1, scaled to 2^63")]
            let v = (acc.min(1.0) * 9_223_372_036_854_775_808.0) as u64;
            *slot = v;
        }
        if let Some(last) = cdt.last_mut() {
            *last = u64::MAX;
        }
        cdt
    })
}

/// Gaussian samples drawn at a time: their words come from one call to the generator,
/// and the table's comparisons run across the block, which a target with 64-bit
/// vector comparisons (SSE4.2, AVX2) can vectorise. On the default x86-64 target it
/// measured the same as one sample at a time (BENCHMARKS.md, the 10-party round).
const GAUSS_BLOCK: usize = 32;

/// The table's entries as signed integers: vector units compare signed 64-bit words
/// only. Every entry but the last is below `2^63` (the cumulative probability of
/// `|x| <= 18` is below 1, tested); the last, `u64::MAX`, exceeds every 63-bit word,
/// so it never counts and is left out.
fn signed_cdt(cdt: &[u64; CDT_LEN]) -> [i64; CDT_LEN - 1] {
    std::array::from_fn(|i| {
        cdt.get(i)
            .map_or(i64::MAX, |&c| i64::try_from(c).unwrap_or(i64::MAX))
    })
}

/// Rounded Gaussian samples from the uniform words `r` (one per sample), in place, in
/// constant time: each word's top 63 bits are compared with every entry of the table
/// (the count is `|x|`), its low bit gives the sign.
fn gaussian_block(
    r: &mut [u64; GAUSS_BLOCK],
    table: &[i64; CDT_LEN - 1],
    out: &mut [i64; GAUSS_BLOCK],
) {
    out.fill(0);
    for &c in table {
        for (k, &w) in out.iter_mut().zip(r.iter()) {
            *k += i64::from((w >> 1).cast_signed() >= c);
        }
    }
    for (k, w) in out.iter_mut().zip(r.iter_mut()) {
        let magnitude = (*k).min(GAUSSIAN_BOUND);
        let negative = i64::from(((*w & 1) == 1) & (magnitude != 0));
        *k = (1 - 2 * negative) * magnitude;
        *w = 0;
    }
}

/// Coefficients of a ternary secret: uniform over {-1, 0, 1}.
pub fn ternary(rng: &mut SecretRng, n: usize) -> Zeroizing<Vec<i64>> {
    let mut out = Zeroizing::new(Vec::with_capacity(n));
    rng.draw(|r| {
        let mut buf = Zeroizing::new([0u8; 64]);
        while out.len() < n {
            r.fill_bytes(buf.as_mut());
            for &b in buf.iter() {
                // 255 would bias the residue mod 3.
                if b < 255 && out.len() < n {
                    out.push(i64::from(b % 3) - 1);
                }
            }
        }
    });
    out
}

/// Coefficients of an RLWE error: rounded Gaussian, sigma [`SIGMA`], cut at
/// [`GAUSSIAN_BOUND`].
pub fn gaussian(rng: &mut SecretRng, n: usize) -> Zeroizing<Vec<i64>> {
    let mut out = Zeroizing::new(Vec::with_capacity(n));
    let table = signed_cdt(gaussian_cdt());
    let mut words = Zeroizing::new([0u64; GAUSS_BLOCK]);
    let mut block = Zeroizing::new([0i64; GAUSS_BLOCK]);
    let mut bytes = Zeroizing::new([0u8; 8 * GAUSS_BLOCK]);
    rng.draw(|r| {
        let mut left = n;
        while left > 0 {
            let count = left.min(GAUSS_BLOCK);
            left -= count;
            // One word of the stream per sample, in order, as one sample at a time took
            // (little-endian, as `next_u64` reads it), drawn in one call.
            let bytes = bytes.get_mut(..8 * count).unwrap_or_default();
            r.fill_bytes(bytes);
            for (w, b) in words.iter_mut().zip(bytes.chunks_exact(8)) {
                *w = u64::from_le_bytes(<[u8; 8]>::try_from(b).unwrap_or([0; 8]));
            }
            gaussian_block(&mut words, &table, &mut block);
            out.extend(block.iter().take(count));
        }
    });
    out
}

/// Coefficients a flooding draw takes from the generator at a time (a stack block of
/// at most 4 KiB, zeroized).
const FLOOD_BLOCK: usize = 256;

/// Coefficients uniform over `[-2^bits, 2^bits)`: smudging (flooding) noise.
///
/// `bits` is at most 120. Each coefficient is `bits + 1` uniform bits, read from
/// `ceil((bits + 1) / 8)` bytes of the generator's stream (11 for the 80 bits of
/// `default` rather than the 16 of two `u64`), drawn in blocks, minus `2^bits`.
pub fn flooding(rng: &mut SecretRng, n: usize, bits: u32) -> Zeroizing<Vec<i128>> {
    let bits = bits.min(120);
    let width = (bits as usize + 1).div_ceil(8);
    let mask = (1u128 << (bits + 1)) - 1;
    let offset = 1i128 << bits;
    let mut out = Zeroizing::new(Vec::with_capacity(n));
    // 16 bytes of slack: every coefficient is read as a 16-byte window at its offset
    // and masked, one load instead of a loop over its bytes.
    let mut block = Zeroizing::new([0u8; FLOOD_BLOCK * 16 + 16]);
    rng.draw(|r| {
        let mut left = n;
        while left > 0 {
            let count = left.min(FLOOD_BLOCK);
            left -= count;
            r.fill_bytes(block.get_mut(..count * width).unwrap_or_default());
            out.extend((0..count).map(|i| {
                let window = block
                    .get(i * width..i * width + 16)
                    .and_then(|b| <[u8; 16]>::try_from(b).ok())
                    .unwrap_or([0; 16]);
                let u = (u128::from_le_bytes(window) & mask) as i128;
                u - offset
            }));
        }
    });
    out
}

/// A secret polynomial with the given small signed coefficients (a ternary secret or
/// randomness, a Gaussian error), in NTT form.
pub(crate) fn small_poly_ntt(params: &Params, coeffs: &[i64]) -> SecretPoly {
    let mut p = SecretPoly::new(Poly::from_signed(params, coeffs));
    p.to_ntt(params);
    p
}

/// Adds flooding noise of half-width `2^bits` to `p` (coefficient form), reduced
/// residue by residue: no polynomial of the noise is built.
pub(crate) fn add_flooding(params: &Params, p: &mut Poly, rng: &mut SecretRng, bits: u32) {
    p.add_signed_wide(params, &flooding(rng, params.n(), bits));
}

/// A secret polynomial uniform over R_Q (a Shamir coefficient, a recipient's key),
/// drawn from `rng`, in coefficient form.
pub(crate) fn secret_uniform_poly(params: &Params, rng: &mut SecretRng) -> SecretPoly {
    SecretPoly::new(rng.draw(|r| uniform_poly(params, r)))
}

/// A polynomial uniform over R_Q, drawn from `rng`, in coefficient form.
fn uniform_poly(params: &Params, rng: &mut ChaCha20Rng) -> Poly {
    let n = params.n();
    let mut residues = Vec::with_capacity(n * params.num_limbs());
    for q in params.moduli() {
        let mask = u64::MAX >> q.leading_zeros();
        let mut filled = 0;
        while filled < n {
            let v = rng.next_u64() & mask;
            if v < q {
                residues.push(v);
                filled += 1;
            }
        }
    }
    Poly::from_residues(params, residues, Form::Coeff)
        .unwrap_or_else(|| Poly::zero(params, Form::Coeff))
}

/// The common reference string: a public 32-byte seed from which every party expands
/// the same public random polynomials (CRPs). Each use draws under its own label, so
/// two protocols never share a polynomial.
#[derive(Clone, PartialEq, Eq)]
pub struct Crs {
    seed: [u8; 32],
}

impl std::fmt::Debug for Crs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crs").finish_non_exhaustive()
    }
}

impl Crs {
    /// The CRS of this seed.
    pub fn from_seed(seed: [u8; 32]) -> Crs {
        Crs { seed }
    }

    /// The seed.
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// A deterministic stream for `label`: ChaCha20 keyed by SHA-256 of the seed and
    /// the label.
    pub(crate) fn stream(&self, label: &[u8]) -> ChaCha20Rng {
        ChaCha20Rng::from_seed(derive_key(b"mhe/crs/v1", &self.seed, label))
    }

    /// The uniform polynomial of R_Q that this CRS assigns to `label`, in coefficient
    /// form.
    pub fn uniform_poly(&self, params: &Params, label: &[u8]) -> Poly {
        uniform_poly(params, &mut self.stream(label))
    }
}

/// SHA-256(domain || len(key) || key || len(context) || context): a 32-byte key
/// separated by domain and context.
pub(crate) fn derive_key(domain: &[u8], key: &[u8], context: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(domain);
    h.update((key.len() as u64).to_le_bytes());
    h.update(key);
    h.update((context.len() as u64).to_le_bytes());
    h.update(context);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ternary_is_balanced() {
        let mut rng = SecretRng::from_seed_insecure([1; 32]);
        let t = ternary(&mut rng, 30_000);
        for v in [-1, 0, 1] {
            let c = t.iter().filter(|&&x| x == v).count();
            assert!((9_400..10_600).contains(&c), "{v}: {c}");
        }
    }

    #[test]
    fn gaussian_has_the_right_spread() {
        let mut rng = SecretRng::from_seed_insecure([2; 32]);
        let g = gaussian(&mut rng, 200_000);
        let mean = g.iter().sum::<i64>() as f64 / g.len() as f64;
        let var = g.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / g.len() as f64;
        assert!(mean.abs() < 0.05, "mean {mean}");
        // The rounded Gaussian has variance sigma^2 + 1/12.
        assert!((var.sqrt() - SIGMA).abs() < 0.05, "sd {}", var.sqrt());
        assert!(g.iter().all(|x| x.abs() <= GAUSSIAN_BOUND));
    }

    #[test]
    fn gaussian_blocks_give_the_samples_of_one_word_at_a_time() {
        let cdt = gaussian_cdt();
        assert!(cdt.iter().take(CDT_LEN - 1).all(|&c| c < 1 << 63));
        assert!(signed_cdt(cdt).iter().zip(cdt).all(|(&s, &c)| s.cast_unsigned() == c));
        for n in [1, 31, 32, 33, 1000] {
            let got = gaussian(&mut SecretRng::from_seed_insecure([6; 32]), n);
            let mut r = ChaCha20Rng::from_seed([6; 32]);
            let want: Vec<i64> = (0..n)
                .map(|_| {
                    let w = r.next_u64();
                    let k = cdt.iter().filter(|&&c| (w >> 1) >= c).count() as i64;
                    let k = k.min(GAUSSIAN_BOUND);
                    if w & 1 == 1 { -k } else { k }
                })
                .collect();
            assert_eq!(*got, want, "{n}");
        }
    }

    #[test]
    fn flooding_is_uniform_over_its_range() {
        let mut rng = SecretRng::from_seed_insecure([3; 32]);
        let bits = 70;
        let f = flooding(&mut rng, 100_000, bits);
        let w = (1i128 << bits) as f64;
        assert!(
            f.iter()
                .all(|&x| x >= -(1i128 << bits) && x < (1i128 << bits))
        );
        let mean = f.iter().map(|&x| x as f64 / w).sum::<f64>() / f.len() as f64;
        let var = f.iter().map(|&x| (x as f64 / w).powi(2)).sum::<f64>() / f.len() as f64;
        // Uniform on [-1, 1): mean 0, variance 1/3.
        assert!(mean.abs() < 0.01, "{mean}");
        assert!((var - 1.0 / 3.0).abs() < 0.01, "{var}");
    }

    #[test]
    fn flooding_reaches_both_ends_of_its_range_at_every_byte_width() {
        let mut rng = SecretRng::from_seed_insecure([4; 32]);
        // 80 bits: 81 bits from 11 bytes; 63: 64 bits from exactly 8; 120: 121 from 16.
        for bits in [80u32, 63, 120, 7] {
            let f = flooding(&mut rng, 20_000, bits);
            let w = 1i128 << bits;
            assert!(f.iter().all(|&x| (-w..w).contains(&x)), "{bits}");
            // The extremes of 20,000 draws lie within 2^-10 of the range's ends.
            let near = (w >> 10).max(1);
            let (lo, hi) = (f.iter().min().unwrap(), f.iter().max().unwrap());
            assert!(*lo < -w + near && *hi >= w - near, "{bits}: {lo} {hi}");
        }
    }

    #[test]
    fn crs_is_deterministic_and_label_separated() {
        let params = Params::toy();
        let crs = Crs::from_seed([9; 32]);
        assert_eq!(
            crs.uniform_poly(&params, b"a"),
            crs.uniform_poly(&params, b"a")
        );
        assert_ne!(
            crs.uniform_poly(&params, b"a"),
            crs.uniform_poly(&params, b"b")
        );
        assert_ne!(
            crs.uniform_poly(&params, b"a"),
            Crs::from_seed([8; 32]).uniform_poly(&params, b"a")
        );
    }
}
