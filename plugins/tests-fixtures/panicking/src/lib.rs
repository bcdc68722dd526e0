//! A plugin source (`panicking`) that yields one frame, then panics.

use savant_sdk_plugin::model::VideoFrame;
use savant_sdk_plugin::source::{Source, SourceFrame, SourceItem};
use savant_sdk_plugin::{async_trait, export_source, BoxError, SourcePlugin};

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

impl SourcePlugin for Panicking {
    const NAME: &'static str = "panicking";
    type Config = std::collections::BTreeMap<String, String>;
    fn from_config(_: Self::Config) -> Result<Self, BoxError> {
        Ok(Panicking(0))
    }
}

export_source!(Panicking);
