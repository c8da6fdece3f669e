//! Generation: batched over prompts × samples, left-padded, decoded through
//! a fixed-capacity KV cache so every step has the same shapes. The next
//! token is chosen on the device by our sampling kernel (`kernels.rs`), so
//! only B × 2 numbers per step come back to the host.

pub mod head;
pub mod kernels;
mod pick;
pub mod reference;

pub use kernels::{sample_rows, sample_rows_async, target_logprobs};
pub use pick::{PickOptions, candidates, pick, row_params};
pub use reference::{RowParams, argmax, logsumexp};

use crate::data::bucket_len;
use crate::error::Result;
use crate::model::decoder::{HostCache, HostDecoder};
use crate::model::{KvCache, ModelConfig, Transformer, decode_bias, position_ids};
use burn::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, PartialEq)]
pub struct SampleOptions {
    pub pick: PickOptions,
    pub max_new_tokens: usize,
    /// Rows decoded together; a short last batch is filled with dummy rows.
    pub batch_size: usize,
    pub seed: u64,
    /// false: re-run the whole sequence every step (the benchmark baseline).
    pub use_cache: bool,
    /// Choose tokens on the device (our kernel) where the backend supports
    /// it; false copies each step's logits to the host (a baseline).
    pub on_device: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// Generated ids, without the closing `<eos>`.
    pub tokens: Vec<u32>,
    /// Σ log π(token) over the generated tokens, `<eos>` included.
    pub logprob: f64,
    /// Ended with `<eos>` (rather than at the length limit).
    pub finished: bool,
}

pub struct Special {
    pub eos: u32,
    pub pad: u32,
}

/// `n` samples for each prompt (`<bos> … <sep>` ids), in prompt order.
/// Prompt p's samples draw from streams keyed by (seed, p): see
/// [`generate_keyed_async`].
pub fn generate(
    model: &Transformer,
    cfg: &ModelConfig,
    special: &Special,
    prompts: &[Vec<u32>],
    n: usize,
    opts: &SampleOptions,
) -> Result<Vec<Vec<Generation>>> {
    pollster::block_on(generate_async(model, cfg, special, prompts, n, opts))
}

/// [`generate`] for callers that must not block: in a browser, WebGPU
/// hands data back only through the event loop.
pub async fn generate_async(
    model: &Transformer,
    cfg: &ModelConfig,
    special: &Special,
    prompts: &[Vec<u32>],
    n: usize,
    opts: &SampleOptions,
) -> Result<Vec<Vec<Generation>>> {
    let keyed: Vec<Keyed<'_>> = prompts
        .iter()
        .enumerate()
        .map(|(p, ids)| Keyed {
            ids,
            key: stream_key(opts.seed, &[p as u64]),
        })
        .collect();
    generate_keyed_async(model, cfg, special, &keyed, n, 0, opts).await
}

/// A prompt and the key of its random streams.
pub struct Keyed<'a> {
    pub ids: &'a [u32],
    pub key: u64,
}

/// A generator key from a seed and identifying numbers (SplitMix64 steps).
pub fn stream_key(seed: u64, parts: &[u64]) -> u64 {
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    parts.iter().fold(mix(seed), |k, &p| mix(k ^ mix(p)))
}

/// `n` samples for each prompt. Sample s of a prompt draws from stream s
/// of a generator seeded by the prompt's key, and every batch pads its
/// prompts to at least `prompt_len` positions (bucketed): with `prompt_len`
/// the longest prompt of the whole set, a prompt's samples do not depend
/// on which prompts share its batch, so sharded and whole runs agree.
pub async fn generate_keyed_async(
    model: &Transformer,
    cfg: &ModelConfig,
    special: &Special,
    prompts: &[Keyed<'_>],
    n: usize,
    prompt_len: usize,
    opts: &SampleOptions,
) -> Result<Vec<Vec<Generation>>> {
    let rows: Vec<Row<'_>> = prompts
        .iter()
        .flat_map(|p| {
            (0..n).map(move |s| Row {
                ids: p.ids,
                key: p.key,
                stream: s as u64,
            })
        })
        .collect();
    let host = opts.use_cache.then(|| HostDecoder::of(model)).flatten();
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(opts.batch_size) {
        let host = host.as_ref();
        out.extend(generate_rows(model, host, cfg, special, chunk, n, prompt_len, opts).await?);
    }
    let mut grouped = Vec::with_capacity(prompts.len());
    let mut it = out.into_iter();
    for _ in prompts {
        grouped.push(it.by_ref().take(n).collect());
    }
    Ok(grouped)
}

/// How a batch's steps run: through burn's ops with a KV cache, through
/// the host decoder with its own ([`HostDecoder`]: a Llama or Qwen2
/// model on the CPU), or re-running the whole sequence (the baseline).
enum Decode<'m> {
    Cached(KvCache),
    Host(&'m HostDecoder, HostCache),
    Reforward,
}

/// A step's logits [B, V]: on the model's device, or already on the host.
/// One lives per step, moved once: its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Last {
    Device(Tensor<2>),
    Host(Vec<f32>),
}

/// The prompts `seqs` [B × P, left-padded by `pad`] run through a fresh
/// cache of `capacity` positions: the last position's logits [B, V] and
/// the cache. When each prompt fills `n` consecutive rows (N samples, the
/// batch a multiple of N), each is run once and its keys and values copied
/// to its rows: a Grow's prompt pass costs 1/N of running every row.
#[allow(clippy::too_many_arguments)]
fn prefill<'m>(
    model: &Transformer,
    host: Option<&'m HostDecoder>,
    cfg: &ModelConfig,
    seqs: &[i64],
    pad: &[usize],
    n: usize,
    capacity: usize,
    device: &Device,
) -> (Last, Decode<'m>) {
    let (b, p) = (pad.len(), seqs.len() / pad.len());
    let learned = model.embed_positions.is_some();
    let run = |seqs: Vec<i64>, pad: &[usize]| {
        let rows = pad.len();
        if let Some(dec) = host {
            let ids: Vec<u32> = seqs.iter().map(|&t| t as u32).collect();
            let mut cache = dec.cache(rows, capacity);
            let logits = dec.forward_last(&ids, 0, pad, &mut cache);
            return (Last::Host(logits), Decode::Host(dec, cache));
        }
        let mut cache = KvCache::new(cfg, rows, capacity, device);
        let input = Tensor::<2, Int>::from_data(TensorData::new(seqs, [rows, p]), device);
        let bias = decode_bias(pad, 0, p, capacity, device);
        let ids = learned.then(|| position_ids(pad, 0, p, device));
        let logits = model.forward_last(input, 0, ids, bias, Some(&mut cache));
        (Last::Device(logits), Decode::Cached(cache))
    };
    if n < 2 || b % n != 0 {
        return run(seqs.to_vec(), pad);
    }
    // Rows come prompt by prompt, and a batch that is a multiple of N
    // starts at a prompt: row r is sample r mod N of prompt r / N (the
    // filler rows of a short last batch are all padding alike).
    let once: Vec<i64> = seqs.chunks(p * n).flat_map(|g| &g[..p]).copied().collect();
    let once_pad: Vec<usize> = pad.iter().step_by(n).copied().collect();
    let (logits, decode) = run(once, &once_pad);
    match (logits, decode) {
        (Last::Host(logits), Decode::Host(dec, cache)) => {
            let of_row: Vec<usize> = (0..b).map(|r| r / n).collect();
            let v = logits.len() / once_pad.len().max(1);
            let logits = of_row
                .iter()
                .flat_map(|&r| &logits[r * v..(r + 1) * v])
                .copied()
                .collect();
            (
                Last::Host(logits),
                Decode::Host(dec, cache.select_rows(&of_row)),
            )
        }
        (Last::Device(logits), Decode::Cached(cache)) => {
            let of_row: Vec<i64> = (0..b as i64).map(|r| r / n as i64).collect();
            let of_row = Tensor::<1, Int>::from_data(TensorData::new(of_row, [b]), device);
            (
                Last::Device(logits.select(0, of_row.clone())),
                Decode::Cached(cache.select_rows(of_row)),
            )
        }
        _ => unreachable!("a prefill's logits come from where its cache lives"),
    }
}

/// One row of a batch: prompt ids and where its random draws come from.
struct Row<'a> {
    ids: &'a [u32],
    key: u64,
    stream: u64,
}

/// One batch of rows, `n` consecutive rows per prompt.
#[allow(clippy::too_many_arguments)]
async fn generate_rows(
    model: &Transformer,
    host: Option<&HostDecoder>,
    cfg: &ModelConfig,
    special: &Special,
    rows: &[Row<'_>],
    n: usize,
    prompt_len: usize,
    opts: &SampleOptions,
) -> Result<Vec<Generation>> {
    let device = model.embed_tokens.weight.device();
    let b = opts.batch_size;
    let limit = cfg.max_seq_len;
    let longest = rows
        .iter()
        .map(|r| r.ids.len())
        .max()
        .unwrap_or(1)
        .max(prompt_len)
        .min(limit - 1);
    let p = bucket_len(longest, limit - 1);
    // The cache holds what this batch can reach, not the model's whole
    // context (thousands of positions for an imported model).
    let cap = bucket_len(p + opts.max_new_tokens, limit);
    let steps = opts.max_new_tokens.min(cap - p);
    let mut pad = vec![p - 1; b];
    let mut seqs = vec![special.pad as i64; b * p];
    for (i, r) in rows.iter().enumerate() {
        let r = &r.ids[r.ids.len().saturating_sub(p)..];
        pad[i] = p - r.len();
        for (j, &t) in r.iter().enumerate() {
            seqs[i * p + pad[i] + j] = t as i64;
        }
    }
    let mut rngs: Vec<ChaCha8Rng> = rows
        .iter()
        .map(|r| {
            let mut rng = ChaCha8Rng::seed_from_u64(r.key);
            rng.set_stream(r.stream);
            rng
        })
        .collect();
    let mut gens: Vec<Generation> = (0..rows.len())
        .map(|_| Generation {
            tokens: Vec::new(),
            logprob: 0.0,
            finished: false,
        })
        .collect();
    let learned = model.embed_positions.is_some();
    // The first step's logits and the cache, when decoding through one.
    let (mut first, mut decode) = match opts.use_cache {
        true => {
            let (logits, decode) = prefill(model, host, cfg, &seqs, &pad, n, cap, &device);
            (Some(logits), decode)
        }
        false => (None, Decode::Reforward),
    };
    let mut history = seqs.clone();
    let mut next: Vec<i64> = Vec::new();
    let mut pos = 0;
    let mut t = p;
    let on_device = opts.on_device && crate::ops::OpPath::of(&device).sampler();
    for _ in 0..steps {
        let input = || Tensor::<2, Int>::from_data(TensorData::new(next.clone(), [b, 1]), &device);
        let last = match (first.take(), &mut decode) {
            (Some(logits), _) => logits,
            (None, Decode::Host(dec, cache)) => {
                let ids: Vec<u32> = next.iter().map(|&t| t as u32).collect();
                Last::Host(dec.forward_last(&ids, pos, &pad, cache))
            }
            (None, Decode::Cached(cache)) => {
                let bias = decode_bias(&pad, pos, t, cap, &device);
                let ids = learned.then(|| position_ids(&pad, pos, t, &device));
                Last::Device(model.forward_last(input(), pos, ids, bias, Some(cache)))
            }
            (None, Decode::Reforward) => {
                let bias = decode_bias(&pad, 0, pos + t, pos + t, &device);
                let ids = learned.then(|| position_ids(&pad, 0, pos + t, &device));
                let all =
                    Tensor::from_data(TensorData::new(history.clone(), [b, pos + t]), &device);
                Last::Device(model.forward_last(all, 0, ids, bias, None))
            }
        };
        // Finished and filler rows decode greedily and draw nothing.
        let mut params = vec![reference::GREEDY; b];
        for (i, g) in gens.iter().enumerate() {
            if !g.finished {
                params[i] = row_params(&opts.pick, &mut rngs[i]);
            }
        }
        let picks = match last {
            Last::Host(logits) => kernels::sample_host(&logits, &params),
            Last::Device(last) if on_device => sample_rows_async(last, &params).await?,
            Last::Device(last) => {
                let host = kernels::read_back(last).await?;
                reference::sample_rows(&host, &params)
            }
        };
        pos += t;
        t = 1;
        next = vec![special.pad as i64; b];
        for (i, g) in gens.iter_mut().enumerate() {
            if g.finished {
                continue;
            }
            let (tok, lp) = picks[i];
            g.logprob += lp as f64;
            if tok == special.eos {
                g.finished = true;
            } else {
                g.tokens.push(tok);
            }
            next[i] = tok as i64;
        }
        if gens.iter().all(|g| g.finished) {
            break;
        }
        if let Decode::Reforward = decode {
            let mut grown = Vec::with_capacity(b * (pos + 1));
            for i in 0..b {
                grown.extend_from_slice(&history[i * pos..(i + 1) * pos]);
                grown.push(next[i]);
            }
            history = grown;
        }
    }
    Ok(gens)
}
