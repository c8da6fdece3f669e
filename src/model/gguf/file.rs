//! The GGUF container (llama.cpp's format, versions 2 and 3): a header of
//! typed key/value metadata and tensor descriptions, then aligned tensor
//! data. [`GgufFile::open`] memory-maps a file and checks every length and
//! offset against its size, so a truncated or corrupt file is an error
//! naming the byte where it went wrong; [`write`] produces version 3.
//!
//! Layout (all little-endian): `"GGUF"`, u32 version, u64 tensor count,
//! u64 metadata count; each metadata entry is a string key, a u32 value
//! type and the value; each tensor is a string name, u32 dimension count,
//! u64 dimensions (fastest-varying first), u32 ggml type and u64 offset
//! into the data section, which starts at the next multiple of
//! `general.alignment` (32 by default).

use super::quant::GgmlType;
use crate::error::{Error, Result};
use memmap2::Mmap;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const MAGIC: &[u8; 4] = b"GGUF";
const DEFAULT_ALIGNMENT: u64 = 32;
/// Guards against absurd counts in a corrupt header (they would otherwise
/// be allocated before the file runs out).
const MAX_COUNT: u64 = 1 << 24;

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    Str(String),
    Array(Vec<Value>),
    U64(u64),
    I64(i64),
    F64(f64),
}

impl Value {
    fn type_id(&self) -> u32 {
        match self {
            Value::U8(_) => 0,
            Value::I8(_) => 1,
            Value::U16(_) => 2,
            Value::I16(_) => 3,
            Value::U32(_) => 4,
            Value::I32(_) => 5,
            Value::F32(_) => 6,
            Value::Bool(_) => 7,
            Value::Str(_) => 8,
            Value::Array(_) => 9,
            Value::U64(_) => 10,
            Value::I64(_) => 11,
            Value::F64(_) => 12,
        }
    }

    /// Any integer that fits in a u64.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(x) => Some(x.into()),
            Value::U16(x) => Some(x.into()),
            Value::U32(x) => Some(x.into()),
            Value::U64(x) => Some(x),
            Value::I8(x) => u64::try_from(x).ok(),
            Value::I16(x) => u64::try_from(x).ok(),
            Value::I32(x) => u64::try_from(x).ok(),
            Value::I64(x) => u64::try_from(x).ok(),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::I8(x) => Some(x.into()),
            Value::I16(x) => Some(x.into()),
            Value::I32(x) => Some(x.into()),
            Value::I64(x) => Some(x),
            _ => self.as_u64().and_then(|x| i64::try_from(x).ok()),
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(x) => Some(x.into()),
            Value::F64(x) => Some(x),
            _ => self.as_i64().map(|x| x as f64),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// One tensor's description; `offset` is relative to the data section.
#[derive(Debug, Clone)]
pub struct TensorInfo {
    /// Dimensions as GGUF lists them, fastest-varying first (the reverse of
    /// a row-major shape).
    pub dims: Vec<u64>,
    pub ty: GgmlType,
    pub offset: u64,
}

impl TensorInfo {
    pub fn elements(&self) -> u64 {
        self.dims.iter().product()
    }

    /// Row-major shape (slowest-varying first), as torch and burn write it.
    pub fn shape(&self) -> Vec<usize> {
        self.dims.iter().rev().map(|&d| d as usize).collect()
    }
}

pub struct GgufFile {
    pub path: PathBuf,
    pub version: u32,
    pub meta: BTreeMap<String, Value>,
    pub tensors: BTreeMap<String, TensorInfo>,
    bytes: Bytes,
    data_start: usize,
}

/// A GGUF file's bytes: mapped from disk, or handed over whole (the browser
/// page reads a picked file into memory; there is no file to map).
enum Bytes {
    Mapped(Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

/// A bounds-checked little-endian cursor over the mapped header.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Cursor<'a> {
    fn fail(&self, what: &str) -> Error {
        Error::file(
            self.path,
            format!("GGUF: truncated or corrupt at byte {} ({what})", self.pos),
        )
    }

    fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8]> {
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| self.pos.checked_add(n))
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| self.fail(what))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        Ok(self.take(N as u64, what)?.try_into().expect("N bytes"))
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn count(&mut self, what: &str) -> Result<u64> {
        let n = self.u64(what)?;
        if n > MAX_COUNT {
            return Err(self.fail(&format!("{what} = {n} is implausible")));
        }
        Ok(n)
    }

    fn string(&mut self, what: &str) -> Result<String> {
        let n = self.u64(what)?;
        let bytes = self.take(n, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| self.fail(&format!("{what}: not UTF-8")))
    }

    fn value(&mut self, ty: u32, what: &str) -> Result<Value> {
        Ok(match ty {
            0 => Value::U8(self.array::<1>(what)?[0]),
            1 => Value::I8(self.array::<1>(what)?[0] as i8),
            2 => Value::U16(u16::from_le_bytes(self.array(what)?)),
            3 => Value::I16(i16::from_le_bytes(self.array(what)?)),
            4 => Value::U32(self.u32(what)?),
            5 => Value::I32(i32::from_le_bytes(self.array(what)?)),
            6 => Value::F32(f32::from_le_bytes(self.array(what)?)),
            7 => match self.array::<1>(what)?[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                b => return Err(self.fail(&format!("{what}: bool byte {b}"))),
            },
            8 => Value::Str(self.string(what)?),
            9 => {
                let elem = self.u32(what)?;
                let n = self.count(what)?;
                if elem == 9 {
                    return Err(self.fail(&format!("{what}: nested arrays are not read")));
                }
                let mut items = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    items.push(self.value(elem, what)?);
                }
                Value::Array(items)
            }
            10 => Value::U64(self.u64(what)?),
            11 => Value::I64(i64::from_le_bytes(self.array(what)?)),
            12 => Value::F64(f64::from_le_bytes(self.array(what)?)),
            t => return Err(self.fail(&format!("{what}: unknown value type {t}"))),
        })
    }
}

impl GgufFile {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        // SAFETY: read-only mapping that lives as long as `GgufFile`; a file
        // rewritten by another process while we read it is outside what we
        // promise (as for safetensors).
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        Self::parse(path, Bytes::Mapped(map))
    }

    /// A GGUF file's contents, given whole (taken, not copied); `name`
    /// stands for its path in errors.
    pub fn from_bytes(name: &Path, bytes: Vec<u8>) -> Result<Self> {
        Self::parse(name, Bytes::Owned(bytes))
    }

    fn parse(path: &Path, bytes: Bytes) -> Result<Self> {
        let mut c = Cursor {
            bytes: &bytes,
            pos: 0,
            path,
        };
        if c.take(4, "magic").ok() != Some(MAGIC.as_slice()) {
            return Err(Error::file(path, "not a GGUF file (no \"GGUF\" magic)"));
        }
        let version = c.u32("version")?;
        if !(2..=3).contains(&version) {
            return Err(Error::file(
                path,
                format!("GGUF version {version}; versions 2 and 3 are read"),
            ));
        }
        let n_tensors = c.count("tensor count")?;
        let n_meta = c.count("metadata count")?;
        let mut meta = BTreeMap::new();
        for _ in 0..n_meta {
            let key = c.string("metadata key")?;
            let ty = c.u32(&key)?;
            let v = c.value(ty, &key)?;
            meta.insert(key, v);
        }
        let mut tensors = BTreeMap::new();
        for _ in 0..n_tensors {
            let name = c.string("tensor name")?;
            let n_dims = c.u32(&name)?;
            if n_dims == 0 || n_dims > 4 {
                return Err(c.fail(&format!("tensor {name}: {n_dims} dimensions")));
            }
            let dims = (0..n_dims)
                .map(|_| c.u64(&name))
                .collect::<Result<Vec<u64>>>()?;
            let ty_id = c.u32(&name)?;
            let ty = GgmlType::from_id(ty_id)
                .map_err(|m| Error::file(path, format!("tensor {name}: {m}")))?;
            let offset = c.u64(&name)?;
            tensors.insert(name, TensorInfo { dims, ty, offset });
        }
        let alignment = match meta.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(v) => v
                .as_u64()
                .filter(|a| a.is_power_of_two())
                .ok_or_else(|| Error::file(path, "general.alignment is not a power of two"))?,
        };
        let data_start = (c.pos as u64).div_ceil(alignment) * alignment;
        let data_len = (bytes.len() as u64).saturating_sub(data_start);
        for (name, t) in &tensors {
            let bytes = t
                .dims
                .iter()
                .try_fold(1u64, |a, &d| a.checked_mul(d))
                .and_then(|n| t.ty.bytes_for(n))
                .ok_or_else(|| {
                    Error::file(
                        path,
                        format!(
                            "tensor {name}: {:?} elements do not fill whole {} blocks",
                            t.dims,
                            t.ty.name()
                        ),
                    )
                })?;
            if t.offset.checked_add(bytes).is_none_or(|end| end > data_len) {
                return Err(Error::file(
                    path,
                    format!(
                        "tensor {name}: data at {}..{} past the file's end ({} data bytes): truncated?",
                        t.offset,
                        t.offset.saturating_add(bytes),
                        data_len
                    ),
                ));
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            version,
            meta,
            tensors,
            bytes,
            data_start: data_start as usize,
        })
    }

    /// The raw (possibly quantized) bytes of a tensor.
    pub fn raw(&self, name: &str) -> Option<(&TensorInfo, &[u8])> {
        let t = self.tensors.get(name)?;
        let n = t.ty.bytes_for(t.elements()).expect("checked on open") as usize;
        let start = self.data_start + t.offset as usize;
        Some((t, &self.bytes[start..start + n]))
    }

    /// A tensor dequantized to f32, with its row-major shape.
    pub fn read_f32(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>)> {
        let (t, bytes) = self
            .raw(name)
            .ok_or_else(|| Error::file(&self.path, format!("no tensor {name}")))?;
        let data = t.ty.dequantize(bytes, t.elements() as usize);
        Ok((t.shape(), data))
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.meta.get(key)
    }

    /// A required metadata entry, read by `f`; the error names the key.
    pub fn req<T>(&self, key: &str, f: impl Fn(&Value) -> Option<T>) -> Result<T> {
        let v = self
            .meta
            .get(key)
            .ok_or_else(|| Error::file(&self.path, format!("GGUF metadata lacks {key}")))?;
        f(v).ok_or_else(|| {
            Error::file(&self.path, format!("GGUF metadata {key}: unexpected {v:?}"))
        })
    }

    /// An optional metadata entry; present but of the wrong type is an error.
    pub fn opt<T>(&self, key: &str, f: impl Fn(&Value) -> Option<T>) -> Result<Option<T>> {
        match self.meta.get(key) {
            None => Ok(None),
            Some(_) => self.req(key, f).map(Some),
        }
    }
}

/// A tensor to write: row-major shape, type, and its encoded bytes.
pub struct OutTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub ty: GgmlType,
    pub bytes: Vec<u8>,
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend((s.len() as u64).to_le_bytes());
    out.extend(s.as_bytes());
}

fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::U8(x) => out.push(*x),
        Value::I8(x) => out.push(*x as u8),
        Value::U16(x) => out.extend(x.to_le_bytes()),
        Value::I16(x) => out.extend(x.to_le_bytes()),
        Value::U32(x) => out.extend(x.to_le_bytes()),
        Value::I32(x) => out.extend(x.to_le_bytes()),
        Value::F32(x) => out.extend(x.to_le_bytes()),
        Value::Bool(x) => out.push(u8::from(*x)),
        Value::Str(s) => put_str(out, s),
        Value::Array(items) => {
            let elem = items.first().map_or(4, Value::type_id);
            out.extend(elem.to_le_bytes());
            out.extend((items.len() as u64).to_le_bytes());
            for it in items {
                put_value(out, it);
            }
        }
        Value::U64(x) => out.extend(x.to_le_bytes()),
        Value::I64(x) => out.extend(x.to_le_bytes()),
        Value::F64(x) => out.extend(x.to_le_bytes()),
    }
}

/// Writes a GGUF v3 file to `path` (through a temporary file renamed into
/// place, so a failed export leaves nothing half-written).
pub fn write(path: &Path, meta: &[(String, Value)], tensors: &[OutTensor]) -> Result<()> {
    let tmp = path.with_extension("gguf.tmp");
    let io = |e| Error::io(&tmp, e);
    let mut f = std::io::BufWriter::new(File::create(&tmp).map_err(io)?);
    write_to(&mut f, meta, tensors).map_err(io)?;
    let file = f.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// A GGUF v3 file's bytes, written to `out`.
pub fn write_to(
    out: &mut impl Write,
    meta: &[(String, Value)],
    tensors: &[OutTensor],
) -> std::io::Result<()> {
    let mut head = Vec::new();
    head.extend(MAGIC);
    head.extend(3u32.to_le_bytes());
    head.extend((tensors.len() as u64).to_le_bytes());
    head.extend((meta.len() as u64).to_le_bytes());
    for (k, v) in meta {
        put_str(&mut head, k);
        head.extend(v.type_id().to_le_bytes());
        put_value(&mut head, v);
    }
    let align = |x: u64| x.div_ceil(DEFAULT_ALIGNMENT) * DEFAULT_ALIGNMENT;
    let mut offset = 0u64;
    for t in tensors {
        put_str(&mut head, &t.name);
        head.extend((t.shape.len() as u32).to_le_bytes());
        for d in t.shape.iter().rev() {
            head.extend((*d as u64).to_le_bytes());
        }
        head.extend(t.ty.id().to_le_bytes());
        head.extend(offset.to_le_bytes());
        offset = align(offset + t.bytes.len() as u64);
    }
    let pad =
        |out: &mut dyn Write, len: u64| out.write_all(&vec![0u8; (align(len) - len) as usize]);
    out.write_all(&head)?;
    pad(out, head.len() as u64)?;
    for t in tensors {
        out.write_all(&t.bytes)?;
        pad(out, t.bytes.len() as u64)?;
    }
    Ok(())
}
