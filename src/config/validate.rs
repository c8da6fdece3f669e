//! The relations serde cannot check, one section at a time: a rising
//! schedule, positive rates, sane sizes. Each message names the field.

use super::{
    DataConfig, EvalConfig, MAX_BATCH, MAX_TASK_RECORDS, RestConfig, RewardConfig, RewardKind,
    RmConfig, RunConfig, SampleConfig, TrainConfig,
};
use crate::error::{Error, Result};

fn bad(message: String) -> Result<()> {
    Err(Error::Config(message))
}

/// `name = v` is at most [`MAX_BATCH`].
fn not_absurd(name: &str, v: usize) -> Result<()> {
    if v > MAX_BATCH {
        return bad(format!("{name} = {v} is absurd (at most {MAX_BATCH})"));
    }
    Ok(())
}

impl RunConfig {
    /// Checks every section, then what sections say of each other.
    pub fn validate(&self) -> Result<()> {
        self.device.parse::<crate::device::DeviceSpec>()?;
        self.rest.validate()?;
        self.data.validate(self.model.max_seq_len)?;
        self.sft.validate("sft")?;
        self.improve.validate("improve")?;
        self.sample.validate()?;
        self.reward.validate()?;
        self.rm.validate()?;
        if let Some(l) = &self.lora {
            l.validate()?;
        }
        self.eval.validate()?;
        self.model.validate()
    }
}

impl RestConfig {
    fn validate(&self) -> Result<()> {
        if self.quantiles.is_empty() {
            if self.thresholds.is_empty() {
                return bad("rest.thresholds is empty: give at least one τ".into());
            }
            if self.thresholds.windows(2).any(|w| w[0] >= w[1]) {
                return bad(format!(
                    "rest.thresholds must rise strictly (τ1 < τ2 < …), got {:?}",
                    self.thresholds
                ));
            }
        } else if self.quantiles.windows(2).any(|w| w[0] >= w[1])
            || self.quantiles.iter().any(|q| !(0.0..1.0).contains(q))
        {
            return bad(format!(
                "rest.quantiles must rise strictly inside [0, 1), got {:?}",
                self.quantiles
            ));
        }
        if self.samples_per_prompt == 0 && !self.include_dataset {
            return bad(
                "rest.samples_per_prompt = 0 grows D alone, so it needs rest.include_dataset = true"
                    .into(),
            );
        }
        not_absurd("rest.samples_per_prompt", self.samples_per_prompt)
    }
}

impl DataConfig {
    /// `max_seq_len`: the model's, which prompts must leave room in.
    fn validate(&self, max_seq_len: usize) -> Result<()> {
        if let Some(f) = self.labeled_fraction
            && !(0.0..=1.0).contains(&f)
        {
            return bad(format!("data.labeled_fraction must be in [0, 1], got {f}"));
        }
        for (name, v) in [
            ("data.task_train", self.task_train),
            ("data.task_eval", self.task_eval),
        ] {
            if v.is_some_and(|v| v > MAX_TASK_RECORDS) {
                return bad(format!(
                    "{name} is absurd (at most {MAX_TASK_RECORDS} generated records)"
                ));
            }
        }
        for (name, span, most) in [
            ("data.terms", self.terms, 12),
            ("data.digits", self.digits, 6),
        ] {
            if let Some(s) = span
                && !(1 <= s.0 && s.0 <= s.1 && s.1 <= most)
            {
                return bad(format!(
                    "{name} = [{}, {}]: give 1 ≤ least ≤ most ≤ {most}",
                    s.0, s.1
                ));
            }
        }
        if self.task == crate::data::task::TaskKind::Arith && self.train.is_none() {
            let sizes = self.task_sizes();
            let distinct = self.arith_shape().distinct();
            if distinct < (sizes.train + sizes.eval) as u64 {
                return bad(format!(
                    "data.terms and data.digits write only {distinct} distinct sums, fewer than the \
                     {} training and held-out prompts asked for (data.task_train, data.task_eval)",
                    sizes.train + sizes.eval
                ));
            }
        }
        if self.max_prompt_tokens.saturating_add(2) >= max_seq_len {
            return bad(format!(
                "data.max_prompt_tokens ({}) leaves no room for a target in model.max_seq_len ({max_seq_len})",
                self.max_prompt_tokens
            ));
        }
        Ok(())
    }
}

impl TrainConfig {
    /// `name`: the section, `sft` or `improve`.
    fn validate(&self, name: &str) -> Result<()> {
        if self.batch_size == 0 {
            return bad(format!("{name}.batch_size must be at least 1"));
        }
        not_absurd(&format!("{name}.batch_size"), self.batch_size)?;
        if self.eval_every == 0 {
            return bad(format!(
                "{name}.eval_every must be at least 1 (steps between held-out evaluations and checkpoints)"
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!(
                "{name}.lr must be a positive number, got {}",
                self.lr
            ));
        }
        if !(0.0..=1.0).contains(&self.min_lr_ratio) {
            return bad(format!(
                "{name}.min_lr_ratio must be in [0, 1], got {}",
                self.min_lr_ratio
            ));
        }
        if !(self.grad_clip.is_finite() && self.grad_clip > 0.0) {
            return bad(format!(
                "{name}.grad_clip must be a positive gradient norm, got {}",
                self.grad_clip
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(format!(
                "{name}.weight_decay must be ≥ 0, got {}",
                self.weight_decay
            ));
        }
        Ok(())
    }
}

impl SampleConfig {
    fn validate(&self) -> Result<()> {
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return bad(format!(
                "sample.temperature must be ≥ 0 (0: greedy), got {}",
                self.temperature
            ));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad(format!(
                "sample.top_p must be in (0, 1], got {}",
                self.top_p
            ));
        }
        if self.max_new_tokens == 0 {
            return bad("sample.max_new_tokens must be at least 1".into());
        }
        if self.batch_size == 0 {
            return bad("sample.batch_size must be at least 1".into());
        }
        not_absurd("sample.batch_size", self.batch_size)
    }
}

impl RewardConfig {
    fn validate(&self) -> Result<()> {
        if let Some(c) = &self.command {
            c.argv()?;
        }
        if self.batch_size == 0 {
            return bad("reward.batch_size must be at least 1".into());
        }
        not_absurd("reward.batch_size", self.batch_size)?;
        if !(self.timeout_secs.is_finite() && self.timeout_secs > 0.0) {
            return bad(format!(
                "reward.timeout_secs must be a positive number, got {}",
                self.timeout_secs
            ));
        }
        let model = self.kind == RewardKind::Model;
        match &self.path {
            None if model => {
                return bad("reward.kind = \"model\" needs reward.path: a reward model's directory (restlm rm train), or a list of them".into());
            }
            Some(_) if !model => {
                return bad("reward.path is for reward.kind = \"model\"".into());
            }
            Some(p) if p.paths().is_empty() => {
                return bad("reward.path is an empty list".into());
            }
            _ => {}
        }
        if !(self.uncertainty_penalty.is_finite() && self.uncertainty_penalty >= 0.0) {
            return bad(format!(
                "reward.uncertainty_penalty must be a number ≥ 0, got {}",
                self.uncertainty_penalty
            ));
        }
        match self.gold {
            Some(_) if !model => bad("reward.gold is for reward.kind = \"model\"".into()),
            Some(RewardKind::Model) => {
                bad("reward.gold must be a metric or a verifier, not another model".into())
            }
            _ => Ok(()),
        }
    }
}

impl RmConfig {
    fn validate(&self) -> Result<()> {
        self.train.validate("rm.train")?;
        if !(0.0..1.0).contains(&self.eval_fraction) {
            return bad(format!(
                "rm.eval_fraction must be in [0, 1), got {}",
                self.eval_fraction
            ));
        }
        if !(self.center.is_finite() && self.center >= 0.0) {
            return bad(format!(
                "rm.center must be a number ≥ 0, got {}",
                self.center
            ));
        }
        if !(1..=64).contains(&self.members) {
            return bad(format!("rm.members must be 1 to 64, got {}", self.members));
        }
        if self.fresh_trunk && self.members < 2 {
            return bad(
                "rm.fresh_trunk makes the last of several members fresh: set rm.members ≥ 2".into(),
            );
        }
        if self.train.steps == 0 {
            return bad("rm.train.steps must be at least 1".into());
        }
        if !(self.grow_temperature.is_finite() && self.grow_temperature > 0.0) {
            return bad(format!(
                "rm.grow_temperature must be a positive number, got {}",
                self.grow_temperature
            ));
        }
        not_absurd("rm.grow_samples", self.grow_samples)?;
        not_absurd("rm.perturbations", self.perturbations)?;
        not_absurd("rm.negatives", self.negatives)
    }
}

impl EvalConfig {
    fn validate(&self) -> Result<()> {
        not_absurd("eval.samples", self.samples)
    }
}
