#![allow(dead_code)]

pub mod checks;
pub mod hf;
pub mod kernels;

use restlm::burn::prelude::*;
use restlm::config::RunConfig;
use restlm::data::task::toy;
use restlm::data::{Encoded, encode_all};
use restlm::model::{ModelConfig, Transformer};
use restlm::tokenizer::Tokenizer;

/// A run config for command-line tests: the embedded toy task, a tiny
/// model, the CPU backend (tests adjust it with `replace`).
pub const TINY_RUN: &str = r#"
seed = 11
device = "cpu"
[data]
task = "toy"
task_train = 50
task_eval = 8
max_prompt_tokens = 24
[model]
d_model = 64
d_ff = 160
max_seq_len = 64
[tokenizer]
vocab_size = 320
[sft]
steps = 10
[sample]
temperature = 1.0
max_new_tokens = 24
batch_size = 12
[rest]
samples_per_prompt = 3
"#;

/// A fresh, empty directory `restlm-{name}-{pid}` under the system's temp
/// directory, removed when dropped, except while the test is panicking:
/// a failed test's files stay for inspection.
pub struct Scratch(std::path::PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("restlm-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl std::ops::Deref for Scratch {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl AsRef<std::path::Path> for Scratch {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// `restlm ARGS` run in `dir`.
pub fn restlm_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_restlm"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

/// `restlm ARGS` run in `dir`, which must succeed: its stdout.
pub fn restlm_ok(dir: &std::path::Path, args: &[&str]) -> String {
    let out = restlm_in(dir, args);
    assert!(
        out.status.success(),
        "restlm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn tiny_model(vocab: usize) -> ModelConfig {
    ModelConfig {
        vocab_size: vocab,
        d_model: 32,
        n_layers: 2,
        n_heads: 4,
        n_kv_heads: 2,
        d_ff: 64,
        max_seq_len: 48,
        ..ModelConfig::default()
    }
}

pub fn task_tokenizer() -> Tokenizer {
    let (train, _) = toy::generate(200, 0, 7);
    let texts: Vec<&str> = train
        .iter()
        .flat_map(|r| [r.prompt.as_str(), r.reference().unwrap()])
        .collect();
    Tokenizer::train(&texts, 300).expect("tokenizer trains")
}

/// Held for the whole body of a test that builds autodiff graphs. burn
/// 0.22's autodiff can free graph steps that one thread is still building
/// while another thread's `backward()` sweeps orphaned graphs, and a
/// gradient is then silently lost (tracel-ai/burn#5573; the sweep is
/// `GraphCleaner::cleanup_orphaned_entries`). restlm trains on one thread,
/// but a test binary runs its tests on several: without this lock,
/// `gradient_checkpointing_trains_to_the_same_weights` failed about once
/// in 20 runs of tests/finetune.rs (its logits off by 0.23 in a clean-clone
/// CI run), never when run alone.
pub fn autodiff_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A model with weights from `seed`. The device's generator is shared by
/// the test threads of one binary: without the lock, two tests seeding and
/// drawing at once interleave their draws, and "the same seed" gives
/// different weights (one cause of the rare failures of
/// tests/finetune.rs; [`autodiff_lock`] covers the other).
pub fn seeded_model(cfg: &ModelConfig, device: &Device, seed: u64) -> Transformer {
    static SEEDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = SEEDING.lock().unwrap_or_else(|e| e.into_inner());
    device.seed(seed);
    Transformer::new(cfg, device)
}

pub fn encoded_task(tok: &Tokenizer, n: usize, max_seq: usize) -> Vec<Encoded> {
    let (train, _) = toy::generate(n, 0, 11);
    let pairs = train
        .iter()
        .map(|r| (r.prompt.as_str(), r.reference().unwrap(), 1.0));
    encode_all(tok, pairs, 20, max_seq).expect("encodes").0
}

pub fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32")
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// A small, fast run config for loop tests (the `toy` task, chrF).
pub fn small_run(dir: &std::path::Path, device: &str) -> RunConfig {
    let mut cfg = RunConfig {
        run_dir: dir.to_path_buf(),
        device: device.into(),
        ..RunConfig::default()
    };
    cfg.data.task = restlm::data::task::TaskKind::Toy;
    cfg.data.task_train = Some(160);
    cfg.data.task_eval = Some(24);
    cfg.model.d_model = 64;
    cfg.model.d_ff = 160;
    cfg.model.max_seq_len = 64;
    cfg.data.max_prompt_tokens = 24;
    cfg.tokenizer.vocab_size = 320;
    cfg.sft.steps = 30;
    cfg.improve.steps = 30;
    cfg.improve.lr = 3e-3;
    cfg.sample.temperature = 1.0;
    cfg.rest.grow_steps = 1;
    cfg.rest.samples_per_prompt = 2;
    cfg.rest.thresholds = vec![40.0, 70.0];
    cfg.sample.max_new_tokens = 32;
    cfg.eval.samples = 1;
    cfg
}

/// `model` trained `steps` steps at lr 1e-2 on `data` in batches of
/// `batch_size` (no held-out set, no checkpoints).
pub fn train_for(
    model: Transformer,
    cfg: &ModelConfig,
    data: &[Encoded],
    pad: u32,
    steps: usize,
    batch_size: usize,
) -> Transformer {
    let tc = restlm::config::TrainConfig {
        steps,
        batch_size,
        lr: 1e-2,
        eval_every: steps,
        ..Default::default()
    };
    train_with(model, cfg, data, pad, &tc, None)
}

/// `model` trained as `tc` says on `data` (no held-out set), checkpointing
/// into `ckpt_dir` when given (and resuming from it).
pub fn train_with(
    model: Transformer,
    cfg: &ModelConfig,
    data: &[Encoded],
    pad: u32,
    tc: &restlm::config::TrainConfig,
    ckpt_dir: Option<&std::path::Path>,
) -> Transformer {
    let stage = restlm::train::Stage {
        name: "test",
        cfg: tc,
        seed: 0,
        ckpt_dir,
        total_steps_before: 0,
        tokenizer: None,
    };
    restlm::train::train(
        model,
        cfg,
        data,
        &[],
        pad,
        stage,
        &mut restlm::report::Metrics::none(),
    )
    .expect("trains")
    .0
}

/// A seeded 64-bit generator for test choices (SplitMix64).
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The float parameters of the policy saved in `dir`, in module order.
pub fn weights(dir: &std::path::Path) -> Vec<Vec<f32>> {
    struct Values(Vec<Vec<f32>>);
    impl restlm::burn::module::ModuleVisitor for Values {
        fn visit_float<const D: usize>(&mut self, p: &restlm::burn::module::Param<Tensor<D>>) {
            self.0.push(to_vec(p.val()));
        }
    }
    let policy = restlm::policy::Policy::load(dir, &Device::flex()).unwrap();
    let mut v = Values(Vec::new());
    restlm::burn::module::Module::visit(&policy.model, &mut v);
    v.0
}
