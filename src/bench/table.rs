//! `restlm bench`'s tables: each device's training and sampling figures
//! for a workload, then the sampling step three ways.

use super::{Figures, Workload};
use crate::error::Result;
use crate::ops::{Backend, OpPath, burn_ops};
use std::path::Path;

/// Runs `work` on each device `device_name` names (`auto`: the CPU backend
/// and wgpu) and prints a row each; writes the figures as JSON to `json`;
/// then, with `sampling_step`, times one sampling step on each.
pub fn print(
    device_name: &str,
    work: &Workload,
    json: Option<&Path>,
    sampling_step: bool,
) -> Result<()> {
    let names: Vec<&str> = match device_name {
        "auto" => vec!["cpu", "wgpu"],
        other => vec![other],
    };
    print_workload(work);
    println!(
        "{:<60} {:>11} {:>9} {:>8} {:>12} {:>9} {:>10} {:>11} {:>9} {:>8} {:>7} {:>7}",
        "device",
        "train tok/s",
        "ms/step",
        "RSS MB",
        "sample tok/s",
        "ms/token",
        "decode t/s",
        "re-forward",
        "RSS MB",
        "sgemm",
        "MFU tr",
        "MFU smp"
    );
    let mut devices = Vec::new();
    let mut figures = Vec::new();
    for name in names {
        let selected = match crate::device::select(name) {
            Ok(s) => s,
            Err(e) => {
                println!("{name:<60} unavailable: {e}");
                continue;
            }
        };
        let description = described(&selected);
        let f = super::run(&selected.device, &description, work);
        print_row(&description, &f);
        devices.push(selected);
        figures.push(f);
    }
    if let Some(path) = json {
        let out = serde_json::json!({
            "tool": "restlm",
            "workload": work,
            "train_seq": work.train_seq(),
            "train_flops_per_step": work.train_flops_per_step(),
            "sample_flops": work.sample_flops(),
            "results": figures,
        });
        crate::io::write_json_atomic(path, &out)?;
    }
    if sampling_step {
        sampling_step_table(&devices);
    }
    Ok(())
}

/// The workload's shapes, the line above the table.
fn print_workload(work: &Workload) {
    let m = &work.model;
    println!(
        "workload `{}`: d_model {} × {} layers, {} heads ({} kv), d_ff {}, vocab {}; \
         train batch {} × {} positions ({} loss-bearing per row; tok/s counts those), {} timed steps; \
         sample {} rows, {}-token prompts, {} new tokens, T = 1",
        work.name,
        m.d_model,
        m.n_layers,
        m.n_heads,
        m.n_kv_heads,
        m.d_ff,
        m.vocab_size,
        work.train_batch,
        work.train_seq(),
        work.train_target,
        work.train_steps,
        work.sample_rows,
        work.sample_prompt,
        work.sample_new
    );
}

/// The device as the table names it, with the ops that gave way to burn's.
fn described(selected: &crate::device::Selected) -> String {
    let mut description = selected.description.clone();
    let path = OpPath::of(&selected.device);
    if !path.fused_logprob() {
        description += " [unfused log-softmax]";
    }
    // Our layer ops exist on the CPU and wgpu backends; say when they gave way.
    if path.backend != Backend::Other && burn_ops().layers {
        description += " [burn's RMSNorm, SiLU, RoPE, attention]";
    }
    description
}

/// One device's figures.
fn print_row(description: &str, f: &Figures) {
    let mb = |x: Option<f64>| x.map_or("-".into(), |v| format!("{v:.0}"));
    println!(
        "{:<60} {:>11.0} {:>9.1} {:>8} {:>12.0} {:>9.2} {:>10.0} {:>11} {:>9} {:>8.0} {:>6.1}% {:>6.1}%",
        description,
        f.train_tokens_per_s,
        f.train_ms_per_step,
        mb(f.train_peak_rss_mb),
        f.sample_tokens_per_s,
        f.sample_ms_per_token_step,
        f.decode_tokens_per_s,
        f.reforward_tokens_per_s
            .map_or("-".into(), |v| format!("{v:.0}")),
        mb(f.sample_peak_rss_mb),
        f.sgemm_gflops,
        100.0 * f.train_gflops / f.sgemm_gflops,
        100.0 * f.sample_gflops / f.sgemm_gflops,
    );
}

/// One sampling step on each device, three ways (our kernel, burn's ops,
/// the host), plain and with top-k/top-p cuts.
fn sampling_step_table(devices: &[crate::device::Selected]) {
    let steps = 20;
    let (b, v) = (64, 32_000);
    println!(
        "\nsampling step, {b} × {v} logits on the device → tokens on the host (ms per step; T = 1)"
    );
    println!(
        "{:<72} {:>9} {:>10} {:>9} {:>12} {:>9} | {:>15} {:>13} {:>9}",
        "device",
        "kernel",
        "burn ops",
        "host",
        "vs burn ops",
        "vs host",
        "top-k/p kernel",
        "top-k/p host",
        "vs host"
    );
    for selected in devices {
        let t = super::sampling_step(&selected.device, b, v, steps);
        println!(
            "{:<72} {:>9.2} {:>10.2} {:>9.2} {:>11.1}× {:>8.1}× | {:>15.2} {:>13.2} {:>8.1}×",
            selected.description,
            t.kernel_ms,
            t.burn_ops_ms,
            t.host_ms,
            t.burn_ops_ms / t.kernel_ms,
            t.host_ms / t.kernel_ms,
            t.kernel_cuts_ms,
            t.host_cuts_ms,
            t.host_cuts_ms / t.kernel_cuts_ms
        );
    }
}
