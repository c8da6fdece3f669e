//! Decoding on the CPU in plain loops over the model's own buffers: a
//! KV-cache step of a Llama-layout model is a few dozen passes (RMSNorm,
//! the projections' products, the rotary embedding, attention over the
//! cache, SiLU · up, residual adds) instead of ~900 burn ops, each with its
//! own allocation and dispatch (at one row that fixed cost was half of a
//! SmolLM2 step).
//!
//! It computes what [`Transformer::forward_last`] computes on the CPU
//! backend, op for op: the same products (a quantised base through
//! `QuantRef::forward_rounded`, which rounds x for a few rows as the burn
//! path's [`super::quant::Decoding`] does; an f32 base and head through
//! `gemm`, as burn's CPU backend), the same choice of output head, the
//! same rotary tables, RMSNorm and SiLU; only the order of some f32 sums
//! differs (tests/fused.rs bounds the logits' difference). It borrows the
//! weights' storage (no copy) and holds its own cache.
//!
//! Taken by `sample::generate` where [`HostDecoder::of`] accepts the model:
//! the plain CPU backend with its fused ops (not `--unfused`, not
//! `BurnOps::decoder`), a rotary RMSNorm SwiGLU model (Llama, Qwen2)
//! whose output head has neither bias nor adapter. GPT-2 and every other
//! device decode through burn's ops as before.

mod proj;

use super::fused::{rms_norm_row, rope_row, swiglu_cpu};
use super::{Norm, Transformer};
use crate::cpu::rows::{self, softmax_in_place, with_avx2};
use burn::backend::flex::FlexTensor;
use proj::{Base, HostProj, Strided, f32_flex, f32s, forward_all, gemm_into};

struct HostLayer {
    input_norm: FlexTensor,
    q: HostProj,
    k: HostProj,
    v: HostProj,
    o: HostProj,
    post_norm: FlexTensor,
    gate: HostProj,
    up: HostProj,
    down: HostProj,
}

/// The model's weights as the host decoder reads them.
pub struct HostDecoder {
    d: usize,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    eps: f32,
    embed: FlexTensor,
    layers: Vec<HostLayer>,
    norm: FlexTensor,
    /// The output projection's quantised copy (a quantised base's), which
    /// the burn path multiplies in integers at up to `ROUND_ROWS` rows.
    head_quant: Option<HostProj>,
    /// `lm_head`'s W [D, V]; None when the head is tied to the embedding
    /// (read transposed).
    lm_head: Option<FlexTensor>,
    cos: FlexTensor,
    sin: FlexTensor,
    max_len: usize,
}

/// Keys and values of every layer, [B, Hkv, capacity, Dh] each.
pub struct HostCache {
    layers: Vec<(Vec<f32>, Vec<f32>)>,
    rows: usize,
    capacity: usize,
}

fn rms_gamma(n: &Norm) -> Option<(FlexTensor, f32)> {
    match n {
        Norm::Rms(n) => Some((f32_flex(n.gamma.val())?, n.epsilon as f32)),
        Norm::Layer(_) => None,
    }
}

impl HostDecoder {
    /// The decoder for `model`, or None where it does not apply (see the
    /// module's note): the caller then decodes through burn's ops.
    pub fn of(model: &Transformer) -> Option<Self> {
        let device = model.embed_tokens.weight.device();
        let path = crate::ops::OpPath::of(&device);
        if !path.host_decoder() {
            return None;
        }
        if model.embed_positions.is_some() || model.layers.is_empty() {
            return None;
        }
        let first = &model.layers[0].self_attn;
        let (heads, kv_heads) = first.heads();
        let head_dim = first.q_proj.weight.dims()[1] / heads;
        let (norm, eps) = rms_gamma(&model.norm)?;
        let layers = model
            .layers
            .iter()
            .map(|l| {
                let a = &l.self_attn;
                Some(HostLayer {
                    input_norm: rms_gamma(&l.input_layernorm)?.0,
                    q: HostProj::of(&a.q_proj)?,
                    k: HostProj::of(&a.k_proj)?,
                    v: HostProj::of(&a.v_proj)?,
                    o: HostProj::of(&a.o_proj)?,
                    post_norm: rms_gamma(&l.post_attention_layernorm)?.0,
                    gate: HostProj::of(l.mlp.gate_proj.as_ref()?)?,
                    up: HostProj::of(&l.mlp.up_proj)?,
                    down: HostProj::of(&l.mlp.down_proj)?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let head_quant = match &model.head_quant {
            None => None,
            Some(head) => Some(HostProj {
                out: head.out,
                inp: head.inp,
                base: Base::quant(head)?,
                bias: None,
                lora: None,
            }),
        };
        // A head with a bias or an adapter is left to burn's ops.
        model.output_weight()?;
        let lm_head = match &model.lm_head {
            Some(head) => Some(f32_flex(head.weight.val())?),
            None => None,
        };
        let (cos, sin) = model.rope.tables();
        let (cos, sin) = (f32_flex(cos)?, f32_flex(sin)?);
        let max_len = cos.layout().shape()[0];
        let embed = f32_flex(model.embed_tokens.weight.val())?;
        let [vocab, d] = model.embed_tokens.weight.dims();
        let vocab_fits = head_quant.as_ref().is_none_or(|h| h.out == vocab);
        (head_dim.is_multiple_of(2) && vocab_fits).then_some(Self {
            d,
            heads,
            kv_heads,
            head_dim,
            eps,
            embed,
            layers,
            norm,
            head_quant,
            lm_head,
            cos,
            sin,
            max_len,
        })
    }

    /// A zeroed cache for `rows` sequences of up to `capacity` positions.
    pub fn cache(&self, rows: usize, capacity: usize) -> HostCache {
        let n = rows * self.kv_heads * capacity * self.head_dim;
        HostCache {
            layers: (0..self.layers.len())
                .map(|_| (vec![0f32; n], vec![0f32; n]))
                .collect(),
            rows,
            capacity,
        }
    }

    /// The logits [B, V] at the last of `t` new positions of each row:
    /// `tokens` [B, t] at positions start..start + t, positions below
    /// `pad[b]` of row b masked (left padding), the cache written there.
    /// What `Transformer::forward_last` returns for the same call.
    pub fn forward_last(
        &self,
        tokens: &[u32],
        start: usize,
        pad: &[usize],
        cache: &mut HostCache,
    ) -> Vec<f32> {
        rows::on_pool(|| self.forward_on_pool((tokens, start, pad), cache))
    }

    /// [`HostDecoder::forward_last`] (the new tokens, their first
    /// position, each row's padding), on a thread of the pool.
    fn forward_on_pool(
        &self,
        (tokens, start, pad): (&[u32], usize, &[usize]),
        cache: &mut HostCache,
    ) -> Vec<f32> {
        let (b, d) = (pad.len(), self.d);
        let t = tokens.len() / b.max(1);
        assert!(b == cache.rows && start + t <= cache.capacity && start + t <= self.max_len);
        let embed = f32s(&self.embed);
        let mut x = vec![0f32; b * t * d];
        for (row, &id) in x.chunks_exact_mut(d).zip(tokens) {
            row.copy_from_slice(&embed[id as usize * d..][..d]);
        }
        let mut h = vec![0f32; b * t * d];
        rms_rows(&x, f32s(&self.layers[0].input_norm), self.eps, &mut h);
        for (i, layer) in self.layers.iter().enumerate() {
            let a = self.attention(layer, &h, b, t, start, pad, &mut cache.layers[i]);
            let out = layer.o.forward(&a, b * t);
            add_rms_rows(&mut x, &out, f32s(&layer.post_norm), self.eps, &mut h);
            let [g, u] = forward_all([&layer.gate, &layer.up], &h, b * t);
            let mut s = vec![0f32; g.len()];
            rows::for_chunks(&mut s, rows::CHUNK, |c, o| {
                let at = c * rows::CHUNK;
                with_avx2!(swiglu_cpu(&g[at..at + o.len()], &u[at..at + o.len()], o))
            });
            let down = layer.down.forward(&s, b * t);
            let next = self.layers.get(i + 1).map_or(&self.norm, |l| &l.input_norm);
            add_rms_rows(&mut x, &down, f32s(next), self.eps, &mut h);
        }
        let last: Vec<f32> = h
            .chunks_exact(t * d)
            .flat_map(|r| &r[(t - 1) * d..])
            .copied()
            .collect();
        self.logits(&last, b)
    }

    /// The output projection of the final hidden states `h` [B, D]: the
    /// quantised copy where `Transformer::forward_last` takes it, else f32.
    fn logits(&self, h: &[f32], b: usize) -> Vec<f32> {
        if let Some(q) = &self.head_quant
            && b <= crate::cpu::qdot::ROUND_ROWS
            && crate::cpu::qdot::available()
        {
            return q.forward(h, b);
        }
        let (d, embed) = (self.d, f32s(&self.embed));
        let v = embed.len() / d;
        let w = match &self.lm_head {
            Some(w) => Strided::rows(f32s(w), v),
            // Eᵀ [D, V]: element (i, j) is E[j, i].
            None => Strided {
                values: embed,
                rs: 1,
                cs: d,
            },
        };
        let mut y = vec![0f32; b * v];
        gemm_into((&mut y, v), (h, d), w, (b, v, d), 0.0, 1.0);
        y
    }

    /// The attention of one layer: q, k, v of `h` [B·t, D], rotated, k and
    /// v written to the cache at start..start + t, each query attending to
    /// its row's cached positions from `pad[b]` through its own; the heads'
    /// outputs [B·t, H·Dh].
    #[allow(clippy::too_many_arguments)]
    fn attention(
        &self,
        layer: &HostLayer,
        h: &[f32],
        b: usize,
        t: usize,
        start: usize,
        pad: &[usize],
        (kc, vc): &mut (Vec<f32>, Vec<f32>),
    ) -> Vec<f32> {
        let (nh, nkv, dh) = (self.heads, self.kv_heads, self.head_dim);
        let m = b * t;
        let [mut q, mut k, v] = forward_all([&layer.q, &layer.k, &layer.v], h, m);
        let (cos, sin) = (f32s(&self.cos), f32s(&self.sin));
        let scale = 1.0 / (dh as f32).sqrt();
        // Rotate q and k head by head (the CPU ops' rotary row; 1/√Dh is
        // taken in the scores, as the fused attention core takes it).
        let mut rotated = vec![0f32; dh];
        for (r, (qr, kr)) in q
            .chunks_exact_mut(nh * dh)
            .zip(k.chunks_exact_mut(nkv * dh))
            .enumerate()
        {
            let p = start + r % t;
            let (c, s) = (&cos[p * dh..][..dh], &sin[p * dh..][..dh]);
            for head in qr.chunks_exact_mut(dh).chain(kr.chunks_exact_mut(dh)) {
                with_avx2!(rope_row(head, c, s, 1.0, &mut rotated));
                head.copy_from_slice(&rotated);
            }
        }
        let cap = vc.len() / (b * nkv * dh).max(1);
        for r in 0..m {
            let (row, j) = (r / t, start + r % t);
            for g in 0..nkv {
                let at = ((row * nkv + g) * cap + j) * dh;
                kc[at..at + dh].copy_from_slice(&k[(r * nkv + g) * dh..][..dh]);
                vc[at..at + dh].copy_from_slice(&v[(r * nkv + g) * dh..][..dh]);
            }
        }
        let mut out = vec![0f32; m * nh * dh];
        let rep = nh / nkv;
        let (kc, vc) = (&kc[..], &vc[..]);
        // Each task: one row's t queries (all heads).
        rows::for_chunks(&mut out, t * nh * dh, |row, o| {
            let mut scores = vec![0f32; start + t];
            for i in 0..t {
                let end = start + i + 1;
                let from = pad[row].min(end - 1);
                for hq in 0..nh {
                    let g = hq / rep;
                    let qv = &q[((row * t + i) * nh + hq) * dh..][..dh];
                    let keys = &kc[(row * nkv + g) * cap * dh..];
                    let vals = &vc[(row * nkv + g) * cap * dh..];
                    let s = &mut scores[from..end];
                    for (j, s) in (from..end).zip(s.iter_mut()) {
                        *s = scale * with_avx2!(dot(qv, &keys[j * dh..][..dh]));
                    }
                    softmax_in_place(s, 1.0);
                    let dst = &mut o[(i * nh + hq) * dh..][..dh];
                    for (j, &p) in (from..end).zip(s.iter()) {
                        with_avx2!(axpy(p, &vals[j * dh..][..dh], dst));
                    }
                }
            }
        });
        out
    }
}

impl HostCache {
    /// A cache whose row r is row `of_row[r]` of this one: a prompt run
    /// once and copied to each of its samples' rows.
    pub fn select_rows(&self, of_row: &[usize]) -> Self {
        let per_row = self
            .layers
            .first()
            .map_or(0, |(k, _)| k.len() / self.rows.max(1));
        let pick = |src: &Vec<f32>| {
            of_row
                .iter()
                .flat_map(|&r| &src[r * per_row..(r + 1) * per_row])
                .copied()
                .collect::<Vec<f32>>()
        };
        Self {
            layers: self
                .layers
                .iter()
                .map(|(k, v)| (pick(k), pick(v)))
                .collect(),
            rows: of_row.len(),
            capacity: self.capacity,
        }
    }
}

#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    rows::sum_pairs(a, b, |a, b| a * b)
}

#[inline(always)]
fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// y = RMSNorm(x) row by row.
fn rms_rows(x: &[f32], gamma: &[f32], eps: f32, y: &mut [f32]) {
    let d = gamma.len();
    for (xr, yr) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
        with_avx2!(rms_norm_row(xr, gamma, eps, yr));
    }
}

/// x += a, then y = RMSNorm(x), row by row.
fn add_rms_rows(x: &mut [f32], a: &[f32], gamma: &[f32], eps: f32, y: &mut [f32]) {
    let d = gamma.len();
    for ((xr, ar), yr) in x
        .chunks_exact_mut(d)
        .zip(a.chunks_exact(d))
        .zip(y.chunks_exact_mut(d))
    {
        for (x, a) in xr.iter_mut().zip(ar) {
            *x += a;
        }
        with_avx2!(rms_norm_row(xr, gamma, eps, yr));
    }
}
