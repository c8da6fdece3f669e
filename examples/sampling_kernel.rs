//! The sampling kernel (`shaders/sampler.rs`, on wgpu) beside its plain-Rust
//! reference (`restlm::sample::reference`), and both beside a third,
//! independent computation in f64.
//!
//! One step of generation: B rows of logits over a V-token vocabulary, each
//! row with its own temperature, top-k, top-p and uniform draw u, becomes
//! one token per row. On a GPU the kernel does it on the device and only
//! B × 2 numbers come back; on the CPU backend the reference is what runs.
//! The f64 column finds the candidates by sorting (top-k, then the
//! smallest set holding top-p of the mass; the kernel bisects for a logit
//! threshold instead) and walks their renormalised probabilities in token
//! order until the sum passes u, as the kernel does.
//!
//! `cargo run --release --example sampling_kernel [-- --device wgpu]`

use rand::{Rng, SeedableRng};
use restlm::burn::prelude::*;
use restlm::sample::kernels;
use restlm::sample::reference::{self, RowParams};
use restlm::sample::{PickOptions, candidates};

fn main() -> restlm::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let name = match args.iter().position(|a| a == "--device") {
        Some(i) => args.get(i + 1).map_or("auto", String::as_str),
        None => "auto",
    };
    let selected = restlm::device::select(name)?;
    println!("device {}", selected.description);
    let (b, v) = (6, 1000);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let logits: Vec<f32> = (0..b * v).map(|_| rng.random_range(-4.0..4.0)).collect();
    let settings = [
        (0.0, 0, 1.0),
        (1.0, 0, 1.0),
        (0.7, 40, 1.0),
        (1.0, 0, 0.9),
        (1.3, 5, 0.8),
        (0.5, 0, 0.5),
    ];
    let rows: Vec<RowParams> = settings
        .iter()
        .map(|&(temperature, top_k, top_p)| RowParams {
            temperature,
            top_k,
            top_p,
            u: rng.random(),
        })
        .collect();

    let on_device =
        Tensor::<2>::from_data(TensorData::new(logits.clone(), [b, v]), &selected.device);
    let kernel = kernels::sample_rows(on_device, &rows)?;
    let host = reference::sample_rows(&logits, &rows);
    println!(
        "{:>4} {:>6} {:>5} {:>5} {:>6} | {:>13} | {:>13} | {:>6}",
        "row", "T", "top-k", "top-p", "u", "kernel", "reference", "f64"
    );
    for (i, p) in rows.iter().enumerate() {
        let row = &logits[i * v..(i + 1) * v];
        let opts = PickOptions {
            temperature: p.temperature,
            top_k: p.top_k as usize,
            top_p: p.top_p,
        };
        let walked = match p.is_greedy() {
            true => reference::argmax(row),
            false => inverse_cdf(candidates(row, &opts), p.u as f64),
        };
        println!(
            "{i:>4} {:>6.1} {:>5} {:>5.1} {:>6.3} | {:>5} {:>7.3} | {:>5} {:>7.3} | {walked:>6}",
            p.temperature, p.top_k, p.top_p, p.u, kernel[i].0, kernel[i].1, host[i].0, host[i].1
        );
    }
    // Log-probs: 1e-4 covers f32 sums over 1000 logits on a GPU.
    let same = kernel
        .iter()
        .zip(&host)
        .all(|(k, h)| k.0 == h.0 && (k.1 - h.1).abs() < 1e-4);
    println!("kernel and reference agree (tokens, log-probs within 1e-4): {same}");
    if !same {
        std::process::exit(1);
    }
    Ok(())
}

/// In token order, the first candidate whose cumulative probability
/// (weights renormalised over the candidates) passes `u`, in f64.
fn inverse_cdf(mut candidates: Vec<(usize, f64)>, u: f64) -> usize {
    candidates.sort_by_key(|c| c.0);
    let total: f64 = candidates.iter().map(|c| c.1).sum();
    let mut sum = 0.0;
    for &(token, w) in &candidates {
        sum += w / total;
        if u < sum {
            return token;
        }
    }
    candidates.last().map_or(0, |c| c.0)
}
