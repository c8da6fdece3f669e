//! Reading `model.safetensors` (or its shards, through
//! `model.safetensors.index.json`) one tensor at a time, converted to f32.
//!
//! The files are memory-mapped, so only the tensor being converted is
//! resident beside the model: peak memory stays near the model's f32 size
//! (plus page cache the kernel can drop), not the file size on top.

use crate::error::{Error, Result};
use memmap2::Mmap;
use safetensors::tensor::{Dtype, Metadata, SafeTensors};
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

struct Shard {
    path: PathBuf,
    map: Mmap,
    /// Where the data section starts in the file.
    data_start: usize,
    meta: Metadata,
}

pub struct Weights {
    shards: Vec<Shard>,
    /// Tensor name → shard index.
    index: BTreeMap<String, usize>,
}

/// A host tensor: shape and row-major f32 values.
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

pub const SINGLE: &str = "model.safetensors";
pub const INDEX: &str = "model.safetensors.index.json";

impl Weights {
    pub fn open(dir: &Path) -> Result<Self> {
        let single = dir.join(SINGLE);
        let index = dir.join(INDEX);
        let files: Vec<String> = if single.exists() {
            vec![SINGLE.into()]
        } else if index.exists() {
            let v: serde_json::Value = crate::io::read_json(&index)?;
            let map = v
                .get("weight_map")
                .and_then(|m| m.as_object())
                .ok_or_else(|| Error::file(&index, "no weight_map object"))?;
            let mut files: Vec<String> = map
                .values()
                .filter_map(|f| f.as_str().map(String::from))
                .collect();
            files.sort();
            files.dedup();
            files
        } else {
            return Err(Error::file(
                dir,
                format!("neither {SINGLE} nor {INDEX} (only safetensors weights are read)"),
            ));
        };
        let mut shards = Vec::new();
        let mut names = BTreeMap::new();
        for (i, f) in files.iter().enumerate() {
            let path = dir.join(f);
            let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
            // SAFETY: the mapping is read-only and lives as long as `Weights`;
            // a checkpoint rewritten by another process while we read it is
            // outside what we promise.
            let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(&path, e))?;
            let (header, meta) = SafeTensors::read_metadata(&map)
                .map_err(|e| Error::file(&path, format!("not a safetensors file: {e}")))?;
            for name in meta.tensors().keys() {
                names.insert(name.clone(), i);
            }
            shards.push(Shard {
                path,
                map,
                data_start: 8 + header,
                meta,
            });
        }
        Ok(Self {
            shards,
            index: names,
        })
    }
}

impl super::Checkpoint for Weights {
    fn names(&self) -> Vec<String> {
        self.index.keys().cloned().collect()
    }

    fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The tensor `name` as f32 (from f32, bf16 or f16).
    fn read(&self, name: &str) -> Result<HostTensor> {
        let shard = &self.shards[*self
            .index
            .get(name)
            .ok_or_else(|| Error::Config(format!("checkpoint has no tensor {name}")))?];
        let info = shard.meta.info(name).expect("indexed name");
        let (a, b) = info.data_offsets;
        let bytes = &shard.map[shard.data_start + a..shard.data_start + b];
        let data: Vec<f32> = match info.dtype {
            Dtype::F32 => bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Dtype::BF16 => bytes
                .chunks_exact(2)
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Dtype::F16 => bytes
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            other => {
                return Err(Error::file(
                    &shard.path,
                    format!("tensor {name} has dtype {other:?}; expected F32, BF16 or F16"),
                ));
            }
        };
        Ok(HostTensor {
            shape: info.shape.clone(),
            data,
        })
    }
}

impl HostTensor {
    /// [r, c] → [c, r], in 32 × 32 tiles: the tile's rows stay in cache
    /// while its columns are written (row by row, every read of a column
    /// missed the cache, and a model's linear layers are most of its load).
    pub fn transposed(&self) -> HostTensor {
        const TILE: usize = 32;
        let (r, c) = (self.shape[0], self.shape[1]);
        let mut data = vec![0.0; r * c];
        for i0 in (0..r).step_by(TILE) {
            let rows = i0..(i0 + TILE).min(r);
            for j0 in (0..c).step_by(TILE) {
                for j in j0..(j0 + TILE).min(c) {
                    for i in rows.clone() {
                        data[j * r + i] = self.data[i * c + j];
                    }
                }
            }
        }
        HostTensor {
            shape: vec![c, r],
            data,
        }
    }

    /// Slice `part` of `parts` equal slices along the last axis.
    pub fn part(&self, part: usize, parts: usize) -> HostTensor {
        let last = *self.shape.last().expect("a tensor with axes");
        let w = last / parts;
        let rows = self.data.len() / last;
        let mut data = Vec::with_capacity(rows * w);
        for r in 0..rows {
            data.extend_from_slice(&self.data[r * last + part * w..r * last + (part + 1) * w]);
        }
        let mut shape = self.shape.clone();
        *shape.last_mut().expect("a tensor with axes") = w;
        HostTensor { shape, data }
    }

    /// Concatenates tensors of equal leading shape along the last axis.
    pub fn concat_last(parts: &[HostTensor]) -> HostTensor {
        let widths: Vec<usize> = parts.iter().map(|p| *p.shape.last().unwrap()).collect();
        let rows = parts[0].data.len() / widths[0];
        let mut data = Vec::with_capacity(parts.iter().map(|p| p.data.len()).sum());
        for r in 0..rows {
            for (p, w) in parts.iter().zip(&widths) {
                data.extend_from_slice(&p.data[r * w..(r + 1) * w]);
            }
        }
        let mut shape = parts[0].shape.clone();
        *shape.last_mut().unwrap() = widths.iter().sum();
        HostTensor { shape, data }
    }
}

/// Writes f32 tensors as one safetensors file, with the `format: pt`
/// metadata `transformers` checks for. Streamed to the file; callers write
/// into a directory that is renamed into place when complete.
pub fn write(path: &Path, tensors: &[(String, HostTensor)]) -> Result<()> {
    let bytes: Vec<(&str, Vec<u8>, &HostTensor)> = tensors
        .iter()
        .map(|(n, t)| (n.as_str(), bytemuck_le(&t.data), t))
        .collect();
    let views = bytes
        .iter()
        .map(|(n, b, t)| {
            safetensors::tensor::TensorView::new(Dtype::F32, t.shape.clone(), b)
                .map(|v| (*n, v))
                .map_err(|e| Error::file(path, format!("tensor {n}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let meta = std::collections::HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::tensor::serialize_to_file(views, Some(meta), path)
        .map_err(|e| Error::file(path, format!("writing: {e}")))
}

fn bytemuck_le(xs: &[f32]) -> Vec<u8> {
    xs.iter().flat_map(|x| x.to_le_bytes()).collect()
}
