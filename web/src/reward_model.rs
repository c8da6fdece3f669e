//! A reward model trained by `restlm rm train`, picked in the page as its
//! directory's files. It scores the prompts without a reference, and the
//! task's own reward (gold) those with one, as `[reward] gold` routes them
//! natively; each grown row says which scored it. The model runs on the
//! CPU backend whatever device the policy has: the library scores a batch
//! synchronously, and WebGPU reads results back only asynchronously.

use crate::page_reward::Awaiting;
use crate::{Demo, js};
use restlm::burn::prelude::Device;
use restlm::rest::setup::reward_for;
use restlm::reward::learned::{Learned, Member, Mixed, RmFiles};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl Demo {
    /// Scores Grow and the held-out evaluation with the reward model whose
    /// files these are (`name`: its directory, for errors) on the prompts
    /// without a reference, and with the task's reward on the rest.
    /// Returns the reward's name.
    #[allow(clippy::too_many_arguments)]
    pub fn use_reward_model(
        &self,
        name: String,
        config_json: String,
        model_bpk: Vec<u8>,
        head_bpk: Vec<u8>,
        tokenizer_json: String,
        tokens_json: String,
        rm_json: String,
    ) -> Result<String, JsValue> {
        let files = RmFiles {
            config_json,
            model_bpk,
            head_bpk,
            tokenizer_json,
            tokens_json,
            rm_json,
        };
        let member = Member::from_bytes(&name, files, &Device::flex()).map_err(js)?;
        let mut guard = self.state.borrow_mut();
        let st = &mut *guard;
        let gold = reward_for(&st.cfg, &st.train, &st.eval, &self.selected.device).map_err(js)?;
        let learned = Learned::new(vec![member], 0.0, st.cfg.reward.batch_size);
        st.reward = Box::new(Mixed::new(gold, Box::new(learned)));
        st.deferred = None;
        st.awaiting = Awaiting::Nothing;
        Ok(st.reward.name().to_string())
    }
}
