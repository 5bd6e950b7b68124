// SPDX-License-Identifier: GPL-2.0

//! Placeholder.
use kernel::prelude::*;

module! {
    type: Placeholder,
    name: "cgl_core_kunit",
    author: "cgl developers",
    description: "placeholder",
    license: "GPL",
}

struct Placeholder;

impl kernel::Module for Placeholder {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("cgl_core version {}\n", cgl_core::version());
        Ok(Placeholder)
    }
}
