//! `restlm export`: a Hugging Face directory or a GGUF file.

use super::open_device;
use anyhow::Result;
use restlm::Policy;
use restlm::burn::module::Module;
use restlm::config::RunConfig;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    policy: PathBuf,
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t = ExportFormat::Hf)]
    format: ExportFormat,
    /// GGUF tensor encoding: f32, f16 or q8_0 (norms stay f32).
    #[arg(long, default_value = "f16")]
    encoding: restlm::model::gguf::Encoding,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ExportFormat {
    Hf,
    Gguf,
}

/// `restlm export`: a Hugging Face directory or a GGUF file.
pub fn run(cfg: RunConfig, args: Args) -> Result<()> {
    let Args {
        policy,
        out,
        format,
        encoding,
    } = args;
    let dev = open_device(&cfg, None)?;
    match format {
        ExportFormat::Gguf => {
            let p = Policy::load_as(&policy, cfg.tokenizer.prompt_format, &dev)?;
            p.export_gguf(&out, encoding)?;
            println!(
                "{:?} model ({} parameters, {encoding:?}) written to {}; run it with \
             llama-cli -m {}",
                p.cfg.arch,
                p.model.num_params(),
                out.display(),
                out.display()
            );
        }
        ExportFormat::Hf => {
            let p = Policy::load_as(&policy, cfg.tokenizer.prompt_format, &dev)?;
            p.export_hf(&out)?;
            println!(
                "{:?} model ({} parameters) written to {}; load it with \
             AutoModelForCausalLM.from_pretrained({:?})",
                p.cfg.arch,
                p.model.num_params(),
                out.display(),
                out.display().to_string()
            );
        }
    }
    Ok(())
}
