//! The site's audit file: append-only, one line per contribution and per decryption
//! share, written and flushed before the blob leaves the site. It is also the site's
//! durable ledger of releases ([`crate::policy::check_ledger`]).
//!
//! Format: UTF-8 text, one record per line, fields separated by tabs, the first field
//! the format version: `v1` (13 fields), or `v2` for a contribution charged to an
//! analyst's differential-privacy budget, whose 14th field is the analyst's budget
//! at this site after the charge, in [`crate::dp::budget`]'s one-line format (the
//! last such line of a site for an analyst is that analyst's budget state). Free-text fields escape `%`, tab, newline, carriage return,
//! comma and every other control character as `%XX`; list fields join their escaped
//! items with commas. Several sites may share one file (one R process in tests): each
//! record names the site's ledger identity, and a site reads only its own records.
//!
//! Reading is bounded: a file over [`MAX_FILE_BYTES`] or a line that does not parse is
//! an error naming the file (and the line), never a crash.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{Error, RefusalKind, Result};
use crate::policy::Release;

/// The largest audit file a site reads (64 MiB).
pub const MAX_FILE_BYTES: u64 = 64 << 20;

const VERSION: &str = "v1";
const VERSION_DP: &str = "v2";
const FIELDS: usize = 12;

/// What a record logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// An encrypted contribution (a release: see [`crate::policy`]).
    Contribution,
    /// A decryption share.
    Decryption,
}

impl Event {
    /// The event's name in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Contribution => "contribution",
            Event::Decryption => "decryption",
        }
    }
}

/// One line of the audit file.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// Seconds since the Unix epoch.
    pub time: f64,
    /// What was logged.
    pub event: Event,
    /// The site's ledger identity: its signing-key fingerprint with a long-term key,
    /// its name otherwise.
    pub site: String,
    /// The site's name in the session.
    pub name: String,
    /// Session id (hex).
    pub session: String,
    /// Query id (hex).
    pub query: String,
    /// Query kind.
    pub kind: String,
    /// Variables the statistic read, sorted.
    pub variables: Vec<String>,
    /// Contributing sites' ledger identities, sorted.
    pub sites: Vec<String>,
    /// Decrypting sites' names (decryption records only).
    pub decryptors: Vec<String>,
    /// SHA-256 (hex) of the ciphertexts contributed or of the `c1`s decrypted.
    pub digest: String,
    /// The server call, as text (at most 1000 characters).
    pub call: String,
    /// For a contribution charged to a differential-privacy budget: the analyst's
    /// budget line after the charge ([`crate::dp::ZcdpBudget::to_line`]).
    pub dp: Option<String>,
}

impl AuditRecord {
    /// The record as a line, newline included.
    pub fn to_line(&self) -> String {
        let list = |v: &[String]| v.iter().map(|x| escape(x)).collect::<Vec<_>>().join(",");
        let version = if self.dp.is_some() { VERSION_DP } else { VERSION };
        let fields = [
            version.to_owned(),
            format!("{:.3}", self.time),
            self.event.as_str().to_owned(),
            escape(&self.site),
            escape(&self.name),
            escape(&self.session),
            escape(&self.query),
            escape(&self.kind),
            list(&self.variables),
            list(&self.sites),
            list(&self.decryptors),
            escape(&self.digest),
        ];
        let mut line = fields.join("\t");
        line.push('\t');
        line.push_str(&escape(&self.call));
        if let Some(dp) = &self.dp {
            line.push('\t');
            line.push_str(&escape(dp));
        }
        line.push('\n');
        line
    }

    /// Parses one line (without its newline).
    ///
    /// # Errors
    /// A message saying what is wrong with the line.
    pub fn parse_line(line: &str) -> core::result::Result<AuditRecord, String> {
        let f: Vec<&str> = line.split('\t').collect();
        let get = |i: usize| f.get(i).copied().unwrap_or("");
        let with_dp = match get(0) {
            VERSION => false,
            VERSION_DP => true,
            _ => return Err("unknown format version".into()),
        };
        let want = FIELDS + 1 + usize::from(with_dp);
        if f.len() != want {
            return Err(format!("{} fields, {want} expected", f.len()));
        }
        let time: f64 = get(1).parse().map_err(|_| "bad time".to_owned())?;
        let event = match get(2) {
            "contribution" => Event::Contribution,
            "decryption" => Event::Decryption,
            _ => return Err("unknown event".into()),
        };
        let list = |s: &str| -> core::result::Result<Vec<String>, String> {
            if s.is_empty() {
                return Ok(Vec::new());
            }
            s.split(',').map(unescape).collect()
        };
        Ok(AuditRecord {
            time,
            event,
            site: unescape(get(3))?,
            name: unescape(get(4))?,
            session: unescape(get(5))?,
            query: unescape(get(6))?,
            kind: unescape(get(7))?,
            variables: list(get(8))?,
            sites: list(get(9))?,
            decryptors: list(get(10))?,
            digest: unescape(get(11))?,
            call: unescape(get(12))?,
            dp: if with_dp {
                let line = unescape(get(13))?;
                crate::dp::ZcdpBudget::from_line(&line).map_err(|e| e.to_string())?;
                Some(line)
            } else {
                None
            },
        })
    }

    /// The release this record stands for, if it is a contribution.
    pub fn release(&self) -> Option<Release> {
        (self.event == Event::Contribution).then(|| Release {
            variables: self.variables.clone(),
            set: self.sites.clone(),
        })
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '%' || c == ',' || c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn unescape(s: &str) -> core::result::Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| "bad escape".to_owned())?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "bad UTF-8 in an escape".to_owned())
}

fn audit_error(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::refused(
        RefusalKind::Audit,
        format!(
            "audit file {}: {what}; nothing leaves this site without a record",
            path.display()
        ),
    )
}

/// Appends `record` to the audit file at `path` in one write and flushes it to the
/// operating system, creating the file (mode 0600) and its directory (mode 0700) when
/// missing.
///
/// The line is in the kernel's file cache when this returns, so it survives a crash
/// of the R process or of Rock; it is not forced to the disk (`fdatasync`), which
/// measured 0.3 ms per line on an idle machine and 2 to 3 ms under load, 10 to 20% of
/// a 3-site pooled mean in DSLite: a power loss in the seconds after a release could
/// lose its line.
///
/// # Errors
/// [`Error::Refused`] of kind `Audit` when the file cannot be written.
pub fn append(path: &Path, record: &AuditRecord) -> Result<()> {
    let mut f = open_for_append(path)?;
    f.write_all(record.to_line().as_bytes())
        .and_then(|()| f.flush())
        .map_err(|e| audit_error(path, e))
}

/// Opens the audit file at `path` for appending, creating it (mode 0600) and its
/// directory (mode 0700) when missing.
fn open_for_append(path: &Path) -> Result<File> {
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir).map_err(|e| audit_error(path, e))?;
    }
    let mut o = OpenOptions::new();
    o.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path).map_err(|e| audit_error(path, e))
}

/// How long [`lock`] waits for another session's lock before it refuses.
pub const LOCK_WAIT: Duration = Duration::from_secs(60);

/// An exclusive lock on a site's audit file, held from the moment a contribution
/// reads its ledger (earlier releases, the analyst's budget) until its line is
/// appended; released when dropped.
///
/// Why: every R session of a site is its own process (Rock), and an analyst can log
/// in twice. Without the lock, two sessions could both read a budget that fits one
/// more query, both charge it and both release: the ledger would record a spending
/// above the total. The lock is advisory (`flock`): every dsMHE session takes it;
/// readers that only read ([`read`]) need not.
#[derive(Debug)]
pub struct LedgerLock {
    _file: File,
}

/// Takes the exclusive lock on the audit file at `path` (creating the file as
/// [`append`] does), waiting up to [`LOCK_WAIT`] for another session to release it.
///
/// # Errors
/// [`Error::Refused`] of kind `Audit` when the file cannot be opened or locked, or the
/// lock is still held by another session after [`LOCK_WAIT`].
pub fn lock(path: &Path) -> Result<LedgerLock> {
    let file = open_for_append(path)?;
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(LedgerLock { _file: file }),
            Err(TryLockError::WouldBlock) if start.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(audit_error(
                    path,
                    format!(
                        "locked by another session for more than {} s",
                        LOCK_WAIT.as_secs()
                    ),
                ));
            }
            Err(TryLockError::Error(e)) => return Err(audit_error(path, e)),
        }
    }
}

/// Reads every record of the audit file at `path` (none when it does not exist).
///
/// # Errors
/// [`Error::Refused`] of kind `Audit` for a file that cannot be read, is larger than
/// [`MAX_FILE_BYTES`], or has a line that does not parse (named by its number).
pub fn read(path: &Path) -> Result<Vec<AuditRecord>> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(audit_error(path, e)),
    };
    let mut bytes = Vec::new();
    f.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| audit_error(path, e))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(audit_error(
            path,
            format!("larger than {MAX_FILE_BYTES} bytes (archive it and start a new one)"),
        ));
    }
    parse(&bytes).map_err(|(line, what)| audit_error(path, format!("line {line}: {what}")))
}

/// Reads the complete lines appended to the audit file at `path` since byte `offset`
/// (the first of them is line `lines + 1`), and returns their records and the offset
/// after the last complete line. A last line still being written is left for the next
/// read. Sites read their ledger this way, so each contribution parses only what is
/// new.
///
/// # Errors
/// [`Error::Refused`] of kind `Audit` for a file that cannot be read, is larger than
/// [`MAX_FILE_BYTES`], is shorter than `offset` (an append-only file that shrank), or
/// has a line that does not parse.
pub fn read_new(path: &Path, offset: u64, lines: usize) -> Result<(Vec<AuditRecord>, u64)> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && offset == 0 => {
            return Ok((Vec::new(), 0));
        }
        Err(e) => return Err(audit_error(path, e)),
    };
    let len = f.metadata().map_err(|e| audit_error(path, e))?.len();
    if len > MAX_FILE_BYTES {
        return Err(audit_error(
            path,
            format!("larger than {MAX_FILE_BYTES} bytes (archive it and start a new one)"),
        ));
    }
    if len < offset {
        return Err(audit_error(
            path,
            "it is shorter than when this site last read it",
        ));
    }
    std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(offset))
        .map_err(|e| audit_error(path, e))?;
    let mut bytes = Vec::new();
    f.take(len - offset)
        .read_to_end(&mut bytes)
        .map_err(|e| audit_error(path, e))?;
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let records = parse_from(bytes.get(..complete).unwrap_or(&[]), lines)
        .map_err(|(line, what)| audit_error(path, format!("line {line}: {what}")))?;
    Ok((records, offset + complete as u64))
}

/// Parses the bytes of an audit file; an error gives the line number and the problem.
///
/// # Errors
/// `(line, problem)` for the first line that does not parse.
pub fn parse(bytes: &[u8]) -> core::result::Result<Vec<AuditRecord>, (usize, String)> {
    parse_from(bytes, 0)
}

fn parse_from(
    bytes: &[u8],
    lines_before: usize,
) -> core::result::Result<Vec<AuditRecord>, (usize, String)> {
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut line_no = lines_before;
    while !rest.is_empty() {
        line_no += 1;
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            return Err((line_no, "incomplete last line".into()));
        };
        let (line, tail) = rest.split_at(end);
        rest = tail.get(1..).unwrap_or(&[]);
        let text = std::str::from_utf8(line).map_err(|_| (line_no, "not UTF-8".to_owned()))?;
        out.push(AuditRecord::parse_line(text).map_err(|e| (line_no, e))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> AuditRecord {
        AuditRecord {
            time: 1_700_000_000.5,
            event: Event::Contribution,
            site: "abc".into(),
            name: "site1".into(),
            session: "00ff".into(),
            query: "11ee".into(),
            kind: "mean".into(),
            variables: vec!["D$age".into(), "odd,name%\t".into()],
            sites: vec!["abc".into(), "def".into()],
            decryptors: vec![],
            digest: "aa".into(),
            call: "mheMeanDS(x = \"D$age\")\nsecond line".into(),
            dp: None,
        }
    }

    #[test]
    fn a_record_with_a_budget_line_survives_its_line_and_a_bad_budget_is_refused() {
        let mut r = record();
        r.dp = Some("dsmhe-dp-budget 1 analyst=unpinned total=100 spent=7 queries=1".into());
        let line = r.to_line();
        assert!(line.starts_with("v2\t"));
        assert_eq!(parse(line.as_bytes()).unwrap(), vec![r.clone()]);
        r.dp = Some("dsmhe-dp-budget 1 analyst=unpinned total=1 spent=7 queries=1".into());
        assert!(parse(r.to_line().as_bytes()).is_err());
    }

    #[test]
    fn a_record_survives_its_line() {
        let r = record();
        let line = r.to_line();
        assert_eq!(line.matches('\n').count(), 1);
        let back = parse(line.as_bytes()).unwrap();
        assert_eq!(back, vec![r]);
    }

    #[test]
    fn corrupt_lines_are_errors_with_their_number() {
        let good = record().to_line();
        let text = format!("{good}garbage\n");
        assert_eq!(parse(text.as_bytes()).unwrap_err().0, 2);
        let cut = &good.as_bytes()[..good.len() - 5];
        assert_eq!(parse(cut).unwrap_err().0, 1);
        let bad_escape = good.replace("D$age", "D%Zage");
        assert_eq!(parse(bad_escape.as_bytes()).unwrap_err().0, 1);
        assert_eq!(parse(&[0xff, b'\n']).unwrap_err().0, 1);
    }

    #[test]
    fn the_file_is_appended_private_and_read_back() {
        let dir = std::env::temp_dir().join(format!("mhe-audit-{}", std::process::id()));
        let path = dir.join("sub").join("audit.log");
        append(&path, &record()).unwrap();
        let mut second = record();
        second.event = Event::Decryption;
        append(&path, &second).unwrap();
        let back = read(&path).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back.get(1).map(|r| r.event), Some(Event::Decryption));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let dmode = std::fs::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(dmode, 0o700);
        }
        assert!(read(&dir.join("missing.log")).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn new_lines_are_read_incrementally_and_a_shrunk_file_is_refused() {
        let dir = std::env::temp_dir().join(format!("mhe-audit-tail-{}", std::process::id()));
        let path = dir.join("audit.log");
        let (none, off) = read_new(&path, 0, 0).unwrap();
        assert!(none.is_empty() && off == 0);
        append(&path, &record()).unwrap();
        let (one, off) = read_new(&path, 0, 0).unwrap();
        assert_eq!(one.len(), 1);
        // a line being written is left for later
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"v1\tpartial").unwrap();
        let (nothing, same) = read_new(&path, off, 1).unwrap();
        assert!(nothing.is_empty() && same == off);
        std::fs::write(&path, b"").unwrap();
        match read_new(&path, off, 1) {
            Err(Error::Refused(r)) => assert_eq!(r.kind, RefusalKind::Audit),
            other => panic!("{other:?}"),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unwritable_file_is_a_refusal_of_kind_audit() {
        let path = Path::new("/proc/mhe-no-such-dir/audit.log");
        match append(path, &record()) {
            Err(Error::Refused(r)) => assert_eq!(r.kind, RefusalKind::Audit),
            other => panic!("{other:?}"),
        }
    }
}
