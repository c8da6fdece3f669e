//! File helpers shared by every stage: atomic writes and append-only JSONL.

use crate::error::{Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

/// Writes `bytes` to `path` so that a reader sees either the old file or the
/// whole new one: temp file in the same directory, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = dir {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{}.tmp", name.unwrap_or_default()));
    let written = File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()))
        .map_err(|e| Error::io(&tmp, e));
    if let Err(e) = written {
        // A full disk: the old file stays, without a half-written copy beside it.
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
    if let Some(dir) = dir
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// `rows` as JSONL: one JSON object a line (errors name `path`).
fn jsonl_bytes<'a, T: Serialize + 'a>(
    path: &Path,
    rows: impl IntoIterator<Item = &'a T>,
) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    for row in rows {
        serde_json::to_writer(&mut buf, row).map_err(|e| Error::file(path, e))?;
        buf.push(b'\n');
    }
    Ok(buf)
}

/// Replaces `path` with `rows` as JSONL, atomically ([`write_atomic`]).
pub fn write_jsonl_atomic<'a, T: Serialize + 'a>(
    path: &Path,
    rows: impl IntoIterator<Item = &'a T>,
) -> Result<()> {
    write_atomic(path, &jsonl_bytes(path, rows)?)
}

pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::file(path, e))?;
    write_atomic(path, text.as_bytes())
}

pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::file(path, format!("invalid JSON: {e}")))
}

/// An append-only JSONL file: each `append` writes whole lines and flushes
/// them to disk, so a crash loses at most the batch being written.
pub struct JsonlAppender {
    file: File,
    path: std::path::PathBuf,
}

impl JsonlAppender {
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Appends `rows`; a write that fails part-way (a full disk) is cut
    /// off again, so the file keeps only whole lines.
    pub fn append<T: Serialize>(&mut self, rows: &[T]) -> Result<()> {
        let buf = jsonl_bytes(&self.path, rows)?;
        let before = self
            .file
            .metadata()
            .map_err(|e| Error::io(&self.path, e))?
            .len();
        let written = self
            .file
            .write_all(&buf)
            .and_then(|_| self.file.sync_data());
        if let Err(e) = written {
            let _ = self.file.set_len(before);
            return Err(Error::io(&self.path, e));
        }
        Ok(())
    }
}

/// Reads every line of a JSONL file as `T`. Blank lines are skipped; a line
/// that does not parse is an error naming the file and line. A last line
/// without its newline is a write the process did not finish (it was killed
/// mid-append): it is ignored when `tolerate_torn_tail` is set.
pub fn read_jsonl<T: DeserializeOwned>(path: &Path, tolerate_torn_tail: bool) -> Result<Vec<T>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = BufReader::new(file);
    let mut out = Vec::new();
    let mut bytes = Vec::new();
    let mut n = 0;
    loop {
        bytes.clear();
        let read = reader
            .read_until(b'\n', &mut bytes)
            .map_err(|e| Error::io(path, e))?;
        if read == 0 {
            break;
        }
        n += 1;
        let complete = bytes.ends_with(b"\n");
        let line = match std::str::from_utf8(&bytes) {
            Ok(line) => line,
            Err(_) if !complete && tolerate_torn_tail => break,
            Err(e) => {
                return Err(Error::Input {
                    path: path.to_path_buf(),
                    line: n,
                    msg: format!("not UTF-8 text: {e}"),
                });
            }
        };
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        match serde_json::from_str::<T>(text) {
            Ok(v) => out.push(v),
            Err(_) if !complete && tolerate_torn_tail => break,
            Err(e) => {
                return Err(Error::Input {
                    path: path.to_path_buf(),
                    line: n,
                    msg: format!("invalid JSON record: {e}"),
                });
            }
        }
    }
    Ok(out)
}

/// Cuts a JSONL file back to its last complete line (drops a torn tail left
/// by a killed writer) so that appends start on a fresh line.
pub fn truncate_torn_tail(path: &Path) -> Result<()> {
    let Ok(bytes) = fs::read(path) else {
        return Ok(());
    };
    let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if keep < bytes.len() {
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        f.set_len(keep as u64).map_err(|e| Error::io(path, e))?;
        f.sync_all().map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}

/// FNV-1a (64-bit): a stable content hash for manifests and checkpoint
/// references (not for security).
#[derive(Debug, Clone, Copy)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    pub fn update(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    pub fn finish(self) -> u64 {
        self.0
    }

    pub fn hex(self) -> String {
        format!("{:016x}", self.0)
    }

    /// The hash of one byte string.
    pub fn of(bytes: &[u8]) -> u64 {
        let mut h = Fnv::default();
        h.update(bytes);
        h.finish()
    }
}

/// FNV-1a over a file's bytes, in hex (memory-mapped).
pub fn file_hash(path: &Path) -> Result<String> {
    let mut h = Fnv::default();
    hash_file(&mut h, path)?;
    Ok(h.hex())
}

pub(crate) fn hash_file(h: &mut Fnv, path: &Path) -> Result<()> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    // SAFETY: read-only mapping, dropped before this function returns.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
    h.update(&map);
    Ok(())
}

/// Resets the process's peak resident set (Linux: `clear_refs` 5), so that
/// [`peak_rss_mb`] measures what follows.
pub fn reset_peak_rss() {
    let _ = fs::write("/proc/self/clear_refs", "5");
}

/// The process's peak resident set since the last reset, in MB (Linux;
/// None elsewhere).
pub fn peak_rss_mb() -> Option<f64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// A tar archive (POSIX ustar) of `files`, each a path inside the archive
/// (at most 100 bytes, `/`-separated) and its contents; read by `tar -xf`
/// everywhere. What the browser page downloads when one click gives
/// several files (a LoRA checkpoint directory).
pub fn tar(files: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    const BLOCK: usize = 512;
    let mut out = Vec::new();
    for (name, bytes) in files {
        if name.is_empty() || name.len() > 100 || name.starts_with('/') {
            return Err(Error::Config(format!(
                "tar: the path {name:?} must be relative and 1 to 100 bytes long"
            )));
        }
        let mut h = [0u8; BLOCK];
        let field = |h: &mut [u8; BLOCK], at: usize, text: &[u8]| {
            h[at..at + text.len()].copy_from_slice(text)
        };
        field(&mut h, 0, name.as_bytes());
        field(&mut h, 100, b"0000644\0"); // mode
        field(&mut h, 108, b"0000000\0"); // uid
        field(&mut h, 116, b"0000000\0"); // gid
        field(&mut h, 124, format!("{:011o}\0", bytes.len()).as_bytes());
        field(&mut h, 136, b"00000000000\0"); // mtime
        h[156] = b'0'; // a regular file
        field(&mut h, 257, b"ustar\0");
        field(&mut h, 263, b"00");
        // The checksum: the header's bytes summed with its own field as
        // eight spaces, written as six octal digits, NUL, space.
        field(&mut h, 148, b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        field(&mut h, 148, format!("{sum:06o}\0 ").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(bytes);
        out.resize(out.len().next_multiple_of(BLOCK), 0);
    }
    // Two zero blocks end the archive.
    out.resize(out.len() + 2 * BLOCK, 0);
    Ok(out)
}
