//! A plugin source (`panicking`) that yields one frame, then panics.

use savant_sdk_plugin::component::{BuildContext, SourceConfig};
use savant_sdk_plugin::model::VideoFrame;
use savant_sdk_plugin::source::{Source, SourceFrame, SourceItem};
use savant_sdk_plugin::{async_trait, export_source, schemars};

/// Panics on its second `next`.
pub struct Panicking(u32);

#[async_trait]
impl Source for Panicking {
    async fn next(&mut self) -> savant_sdk_plugin::Result<Option<SourceItem>> {
        self.0 += 1;
        if self.0 > 1 {
            panic!("boom in next #{}", self.0);
        }
        Ok(Some(
            SourceFrame::new(VideoFrame::builder("p").pts(1).build(), "x").into(),
        ))
    }
}

/// Takes any keys (they are ignored).
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[schemars(crate = "savant_sdk_plugin::schemars")]
pub struct PanickingConfig(
    /// Ignored.
    pub std::collections::BTreeMap<String, String>,
);

impl SourceConfig for PanickingConfig {
    const TYPE: &'static str = "panicking";
    const DESCRIPTION: &'static str = "test fixture: one frame, then a panic";
    fn build(self, _: &BuildContext) -> savant_sdk_plugin::Result<Box<dyn Source>> {
        Ok(Box::new(Panicking(0)))
    }
}

export_source!(PanickingConfig);
