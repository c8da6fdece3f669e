use crate::error::Result;
use crate::tokenizer::Tokenizer;
use burn::prelude::*;

/// Lengths are rounded up to a multiple of this, so GPU backends compile a
/// handful of shapes rather than one per batch.
pub const BUCKET: usize = 16;

pub fn bucket_len(n: usize, max: usize) -> usize {
    n.div_ceil(BUCKET).max(1).saturating_mul(BUCKET).min(max)
}

/// A record as token ids: `<bos> prompt <sep>` and `target <eos>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub prompt: Vec<u32>,
    pub target: Vec<u32>,
    /// Per-record loss weight (1 for behaviour cloning).
    pub weight: f32,
}

/// How many records the length limits cut.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Truncation {
    pub prompts: usize,
    pub targets: usize,
}

impl Truncation {
    pub fn warn(&self, what: &str, total: usize) {
        if self.prompts + self.targets > 0 {
            eprintln!(
                "warning: {what}: {} of {total} prompts kept only their last tokens, \
                 {} targets were cut at the sequence limit (and lost their <eos>)",
                self.prompts, self.targets
            );
        }
    }
}

/// Encodes (prompt, target) pairs under the truncation policy: a prompt
/// longer than `max_prompt` tokens keeps its *last* `max_prompt` tokens (the
/// end of a prompt is usually what the answer depends on); a target that
/// does not fit in `max_seq` with its prompt is cut at the end.
pub fn encode_all<'a>(
    tok: &Tokenizer,
    pairs: impl IntoIterator<Item = (&'a str, &'a str, f32)>,
    max_prompt: usize,
    max_seq: usize,
) -> Result<(Vec<Encoded>, Truncation)> {
    let mut out = Vec::new();
    let mut cut = Truncation::default();
    for (prompt, target, weight) in pairs {
        let mut p = tok.encode_prompt(prompt)?;
        if p.len() > max_prompt {
            p.drain(..p.len() - max_prompt);
            cut.prompts += 1;
        }
        let prompt = tok.prompt_ids(&p);
        let mut target = tok.encode_target(target)?;
        target.push(tok.eos);
        // inputs are sequence[..-1], so a sequence may be max_seq + 1 long.
        let room = max_seq + 1 - prompt.len();
        if target.len() > room {
            target.truncate(room);
            cut.targets += 1;
        }
        out.push(Encoded {
            prompt,
            target,
            weight,
        });
    }
    Ok((out, cut))
}

/// `encode_all` over the records that carry a target (prompt-only records
/// have nothing to imitate and are skipped), each with weight 1.
pub fn encode_records(
    tok: &Tokenizer,
    records: &[super::Record],
    max_prompt: usize,
    max_seq: usize,
) -> Result<(Vec<Encoded>, Truncation)> {
    let pairs = records
        .iter()
        .filter_map(|r| Some((r.prompt.as_str(), r.target.as_deref()?, 1.0)));
    encode_all(tok, pairs, max_prompt, max_seq)
}

/// A right-padded batch for teacher forcing. Position t predicts
/// `targets[t]` from `inputs[..=t]`; `weights` is zero on prompt and pad
/// positions, so only target tokens carry loss.
pub struct TrainBatch {
    pub inputs: Tensor<2, Int>,
    pub targets: Tensor<2, Int>,
    pub weights: Tensor<2>,
    /// Target tokens in the batch (the loss normaliser).
    pub tokens: usize,
}

impl TrainBatch {
    /// `rows` fills a batch of exactly `batch_size` rows (missing rows are
    /// zero-weight padding) and of length `bucket_len(longest)`.
    pub fn new(
        rows: &[&Encoded],
        batch_size: usize,
        max_seq: usize,
        pad: u32,
        device: &Device,
    ) -> Self {
        let longest = rows
            .iter()
            .map(|r| r.prompt.len() + r.target.len() - 1)
            .max()
            .unwrap_or(1);
        let t = bucket_len(longest, max_seq);
        let mut inputs = vec![pad as i64; batch_size * t];
        let mut targets = vec![pad as i64; batch_size * t];
        let mut weights = vec![0f32; batch_size * t];
        let mut tokens = 0;
        for (b, r) in rows.iter().enumerate() {
            let seq: Vec<u32> = r.prompt.iter().chain(&r.target).copied().collect();
            let n = (seq.len() - 1).min(t);
            for i in 0..n {
                inputs[b * t + i] = seq[i] as i64;
                targets[b * t + i] = seq[i + 1] as i64;
                if i + 1 >= r.prompt.len() {
                    weights[b * t + i] = r.weight;
                    tokens += 1;
                }
            }
        }
        let shape = [batch_size, t];
        Self {
            inputs: Tensor::from_data(TensorData::new(inputs, shape), device),
            targets: Tensor::from_data(TensorData::new(targets, shape), device),
            weights: Tensor::from_data(TensorData::new(weights, shape), device),
            tokens,
        }
    }
}
