//! What the page shows of a loaded GGUF model: its file's metadata and
//! encodings, then its shape and memory once loaded.

use restlm::Policy;
use restlm::model::gguf::GgufFile;
use serde::Serialize;

/// What the page shows of a loaded GGUF model.
#[derive(Serialize, Default)]
pub(crate) struct ModelInfo {
    /// `general.name`, else the file's name.
    name: String,
    arch: String,
    /// The file's tensor encodings, most bytes first (`Q4_1 (84 %), F32`).
    encoding: String,
    /// The file's tensor data (its header aside).
    file_mb: f64,
    params: usize,
    /// Trainable parameters (the LoRA adapters, or every one).
    trainable: usize,
    layers: usize,
    d_model: usize,
    vocab: usize,
    context: usize,
    /// How the frozen base is held in memory (f32, or the quantised blocks).
    base: String,
    /// The weights in memory: parameters at 4 bytes, a quantised base's
    /// projections at their blocks' size.
    weights_mb: f64,
    /// "chat" (the model's chat template lays out every prompt) or "plain".
    prompt_format: String,
}

impl ModelInfo {
    pub(crate) fn of(file: &GgufFile, name: &str) -> Self {
        let mut bytes: std::collections::BTreeMap<&str, u64> = Default::default();
        for t in file.tensors.values() {
            *bytes.entry(t.ty.name()).or_default() += t.ty.bytes_for(t.elements()).unwrap_or(0);
        }
        let total: u64 = bytes.values().sum();
        let mut by: Vec<_> = bytes.into_iter().collect();
        by.sort_by_key(|b| std::cmp::Reverse(b.1));
        let encoding = by
            .iter()
            .map(|(ty, b)| format!("{ty} ({:.0} %)", 100.0 * *b as f64 / total.max(1) as f64))
            .collect::<Vec<_>>()
            .join(", ");
        Self {
            name: file
                .get("general.name")
                .and_then(|v| v.as_str())
                .unwrap_or(name)
                .to_string(),
            arch: file
                .get("general.architecture")
                .and_then(|v| v.as_str())
                .unwrap_or("?")
                .to_string(),
            encoding,
            file_mb: total as f64 / 1e6,
            ..Self::default()
        }
    }

    pub(crate) fn describe(&mut self, p: &Policy, quant: Option<restlm::cpu::quant::QuantKind>) {
        let f = p.model.footprint();
        self.params = f.params;
        self.trainable = if f.adapters > 0 { f.adapters } else { f.params };
        self.layers = p.cfg.n_layers;
        self.d_model = p.cfg.d_model;
        self.vocab = p.cfg.vocab_size;
        self.context = p.cfg.max_seq_len;
        self.base = quant.map_or("f32".into(), |q| format!("{q:?}").to_lowercase());
        self.weights_mb = f.bytes as f64 / 1e6;
        self.prompt_format = format!("{:?}", p.tok.format()).to_lowercase();
    }
}
