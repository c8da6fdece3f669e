//! The page's downloads: ReST's policy as a GGUF file (adapters merged),
//! or its LoRA adapters alone as a checkpoint directory in a tar.

use crate::{Demo, js};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl Demo {
    /// ReST's policy as a GGUF file llama.cpp and `restlm` run (adapters
    /// merged), `encoding` f32, f16 or q8_0.
    ///
    /// Resolves to the file's bytes. The weights are read back to the CPU
    /// first without blocking (WebGPU's memory cannot be read blocking).
    pub fn export_gguf(&self, encoding: String) -> js_sys::Promise {
        let state = self.state.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let enc: restlm::model::gguf::Encoding = encoding.parse().map_err(js)?;
            let policy = state.borrow().policy.clone();
            let host = policy.to_host_async().await.map_err(js)?;
            let bytes = host.gguf_bytes(enc).map_err(js)?;
            Ok(js_sys::Uint8Array::from(&bytes[..]).into())
        })
    }

    /// The LoRA adapters alone, as a tar of a checkpoint directory
    /// (`dir_name/`: config.json, adapter.bpk, the tokenizer) that names
    /// the GGUF file it was trained on beside the directory: `restlm sample
    /// --policy DIR` loads it there.
    /// Resolves to the tar's bytes (the weights read back as for
    /// [`Demo::export_gguf`]).
    pub fn export_adapter(&self, dir_name: String) -> js_sys::Promise {
        let state = self.state.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let (policy, base) = {
                let st = state.borrow();
                (st.policy.clone(), st.base.clone())
            };
            let base = base.ok_or_else(|| {
                js("only a model loaded from a GGUF file has adapters to download")
            })?;
            let host = policy.to_host_async().await.map_err(js)?;
            let files = host.adapter_files(base).map_err(js)?;
            let named: Vec<(String, Vec<u8>)> = files
                .into_iter()
                .map(|(n, b)| (format!("{dir_name}/{n}"), b))
                .collect();
            let tar = restlm::io::tar(&named).map_err(js)?;
            Ok(js_sys::Uint8Array::from(&tar[..]).into())
        })
    }
}
